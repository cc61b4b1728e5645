// Measures the Lambda bundles two ways, for the README's choice: the SDK v3 clients bundled and
// minified (ESM entry points), or left out (`@aws-sdk/*` external: the nodejs22.x runtime's own).
// For each function: zip size, and the cold module-load time of the handler in a fresh node process.
//
//   npx tsx scripts/bundle-size.ts [--runs 7] [--json]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, '.bundles');
const FUNCTIONS = ['on-change', 'sweep'];
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 7;

interface Row {
  fn: string;
  variant: string;
  zipKb: number;
  loadMs: number;
}

async function bundle(fn: string, variant: 'bundled' | 'sdk-external'): Promise<string> {
  const dir = join(OUT, variant, fn);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The same options serverless.yml gives serverless-esbuild.
  await build({
    entryPoints: [join(ROOT, 'functions', `${fn}.ts`)],
    outfile: join(dir, `${fn}.mjs`),
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
    },
    external: variant === 'sdk-external' ? ['@aws-sdk/*'] : [],
    logLevel: 'error',
  });
  return dir;
}

/** What a zip of the directory takes: each file deflated, plus zip's per-file overhead. */
function zipSize(dir: string): number {
  let total = 22;
  for (const name of readdirSync(dir)) {
    const content = readFileSync(join(dir, name));
    total += deflateRawSync(content, { level: 9 }).length + 30 + 46 + 2 * name.length;
  }
  return total;
}

/** Median time to import the handler in a fresh node process (cold start's module load). */
function loadTime(file: string): number {
  const probe = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t))`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: ROOT,
      env: {
        ...process.env,
        AWS_REGION: 'us-east-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      encoding: 'utf8',
    });
    times.push(Number(out));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const rows: Row[] = [];
for (const fn of FUNCTIONS) {
  for (const variant of ['bundled', 'sdk-external'] as const) {
    const dir = await bundle(fn, variant);
    // An external SDK resolves from node_modules here, as it would from the runtime's on Lambda.
    const file = join(ROOT, `.bundle-probe-${variant}-${fn}.mjs`);
    writeFileSync(file, readFileSync(join(dir, `${fn}.mjs`)));
    try {
      rows.push({
        fn,
        variant,
        zipKb: Math.round(zipSize(dir) / 102.4) / 10,
        loadMs: Math.round(loadTime(file) * 10) / 10,
      });
    } finally {
      rmSync(file);
    }
  }
}
rmSync(OUT, { recursive: true, force: true });
if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
} else {
  process.stdout.write(`node ${process.version}, ${runs} runs each (median)\n`);
  process.stdout.write('function    variant       zip KB   load ms\n');
  for (const row of rows)
    process.stdout.write(
      `${row.fn.padEnd(12)}${row.variant.padEnd(14)}${String(row.zipKb).padStart(6)}   ${String(row.loadMs).padStart(7)}\n`,
    );
}
