// Measures the Lambda bundles two ways, for the README's choice: the SDK v3 clients bundled and
// minified (ESM entry points), or left out (`@aws-sdk/*` external: the nodejs22.x runtime's own).
// For each function: zip size, and the cold module-load time of the handler in a fresh node process.
// Then the zips `npx serverless package` writes (offline, no credentials), unless --no-package.
// --save FILE writes the JSON that `npm run docs` renders into docs/deploy.md.
//
//   npx tsx scripts/bundle-size.ts [--runs 7] [--json] [--save docs/bundle-size.json] [--no-package]
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';
import { packageOffline } from './package.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, '.bundles');
const FUNCTIONS = ['on-change', 'sweep'];
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 7;
const saveAt = process.argv.indexOf('--save');
const save = saveAt >= 0 ? process.argv[saveAt + 1] : undefined;

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
const packaged = process.argv.includes('--no-package') ? [] : packagedZips();
const report = {
  machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown' },
  runs,
  bundles: rows,
  packaged,
};
if (save) writeFileSync(save, `${JSON.stringify(report, null, 2)}\n`);
if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  process.stdout.write(`node ${process.version}, ${runs} runs each (median)\n`);
  process.stdout.write('function    variant       zip KB   load ms\n');
  for (const row of rows)
    process.stdout.write(
      `${row.fn.padEnd(12)}${row.variant.padEnd(14)}${String(row.zipKb).padStart(6)}   ${String(row.loadMs).padStart(7)}\n`,
    );
  for (const zip of packaged)
    process.stdout.write(`serverless package: ${zip.fn}.zip ${zip.zipKb} KB\n`);
}

/** The zips `npx serverless package` writes, one per function: offline, with no credentials. */
function packagedZips(): Array<{ fn: string; zipKb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'rw-bundle-size-'));
  try {
    const result = packageOffline(dir, {}, 300_000);
    if (result.status !== 0)
      throw new Error(
        `npx serverless package failed (exit ${result.status}): ${(result.stderr || result.stdout).slice(-2000)}`,
      );
    return FUNCTIONS.map((fn) => {
      const zip = readdirSync(dir).find((name) => name === `${fn}.zip`);
      if (!zip) throw new Error(`npx serverless package wrote no ${fn}.zip in ${dir}`);
      return { fn, zipKb: Math.round(statSync(join(dir, zip)).size / 102.4) / 10 };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
