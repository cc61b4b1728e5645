// `npm run docs`: renders the figures of the docs pages from the files the measuring commands
// write, so no figure is typed by hand. Each block sits between marker comments
// (`<!-- bench:start -->` … `<!-- bench:end -->`) and is replaced whole:
//
//   docs/bench.json        (npm run bench -- --save docs/bench.json --chart docs/performance.svg)
//     → docs/performance.md: bench, bench-summary
//   docs/bundle-size.json  (npm run bundle-size -- --save docs/bundle-size.json)
//     → docs/deploy.md: bundle-size
//
// `npm run docs -- --check` changes nothing and exits 1 when a page differs from its JSON
// (test/unit/docs.test.ts does the same on every `npm test`).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** One rendered block: the page it lives in, its marker name, and its text. */
export interface Block {
  page: string;
  name: string;
  text: string;
}

/** Every block of every page, rendered from the JSON files under `root`. */
export function renderBlocks(root = ROOT): Block[] {
  const bench = JSON.parse(readFileSync(join(root, 'docs/bench.json'), 'utf8')) as BenchReport;
  const sizes = JSON.parse(
    readFileSync(join(root, 'docs/bundle-size.json'), 'utf8'),
  ) as BundleReport;
  return [
    { page: 'docs/performance.md', name: 'bench', text: benchTable(bench) },
    { page: 'docs/performance.md', name: 'bench-summary', text: benchSummary(bench) },
    { page: 'docs/deploy.md', name: 'bundle-size', text: bundleTable(sizes) },
  ];
}

/** The text between a block's markers in `page`, or `null` when the page has no such markers. */
export function blockIn(page: string, name: string): string | null {
  const start = `<!-- ${name}:start -->\n`;
  const end = `<!-- ${name}:end -->`;
  const from = page.indexOf(start);
  const to = page.indexOf(end, from);
  if (from < 0 || to < 0) return null;
  return page.slice(from + start.length, to);
}

/** `page` with the block's markers enclosing `text`; throws when the markers are missing. */
export function withBlock(page: string, name: string, text: string): string {
  const current = blockIn(page, name);
  if (current === null) throw new Error(`no <!-- ${name}:start --> … <!-- ${name}:end --> markers`);
  const start = `<!-- ${name}:start -->\n`;
  const from = page.indexOf(start) + start.length;
  return page.slice(0, from) + text + page.slice(from + current.length);
}

interface BucketLeft {
  burst: number;
  minTokens: number;
  left: number;
  taken: number;
}

interface BenchRun {
  calls: number;
  throttled: number;
  ms: number;
  rssMb: number;
  buckets: Record<string, BucketLeft>;
}

interface Bound {
  calls: number;
  seconds: number;
  fullSeconds: number;
  bucket: string | null;
  byBucket: Record<string, number>;
}

interface BenchSize {
  name: string;
  clusters: number;
  services: number;
  tasks: number;
  revisions: number;
  jobs: number;
  runs: Partial<Record<RunName, BenchRun>>;
  lowerBound: Record<'cold' | 'indexed' | 'inMemory', Bound>;
}

interface BenchReport {
  machine: { node: string; cpus: number; cpuModel: string; memoryGb: number };
  settings: { latencyMs: number; apiShare: number; only?: string };
  sizes: BenchSize[];
}

interface BundleReport {
  machine: { node: string; cpus: number; cpuModel: string };
  runs: number;
  bundles: Array<{
    fn: string;
    variant: 'bundled' | 'sdk-external';
    zipKb: number;
    loadMs: number;
  }>;
  packaged: Array<{ fn: string; zipKb: number }>;
}

type RunName = 'naive' | 'competent' | 'emptyIndex' | 'warmIndex' | 'warmProcess';

/** The table's runs in order, their label and the lower bound each is held to. */
const RUNS: Array<{ run: RunName; label: string; bound: 'cold' | 'indexed' | 'inMemory' | null }> =
  [
    { run: 'naive', label: 'naive', bound: null },
    { run: 'competent', label: 'competent', bound: 'cold' },
    { run: 'emptyIndex', label: 'ours, empty index', bound: 'cold' },
    { run: 'warmIndex', label: 'ours, warm index, fresh process', bound: 'indexed' },
    { run: 'warmProcess', label: 'ours, warm in-process', bound: 'inMemory' },
  ];

function benchTable(report: BenchReport): string {
  const { machine, settings } = report;
  const lines = [
    `Measured on ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node.replace(/^v/, '')}; the server answers in ${settings.latencyMs} ms a call; ours takes a share of ${settings.apiShare} of each bucket (\`apiShare\` in \`docs/bench.json\`).`,
    '',
    '| account | run | calls | throttled | time | peak RSS | lowest bucket left to the account | lower bound (calls, time) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const size of report.sizes) {
    let first = true;
    for (const { run, label, bound } of RUNS) {
      const m = size.runs[run];
      if (!m) continue;
      const account = first
        ? `${size.name}: ${num(size.clusters)} clusters, ${num(size.services)} services, ${num(size.tasks)} tasks, ${num(size.revisions)} revisions, ${num(size.jobs)} jobs`
        : '';
      first = false;
      const lower = bound ? size.lowerBound[bound] : null;
      const lowerText = lower
        ? `${num(lower.calls)}, ${(run === 'competent' ? lower.fullSeconds : lower.seconds).toFixed(1)} s`
        : '';
      const lowest = lowestBucket(m);
      lines.push(
        `| ${account} | ${label} | ${num(m.calls)} | ${num(m.throttled)} | ${seconds(m.ms)} | ${m.rssMb} MB | ${lowest ? `${percent(lowest.left)} (${bucketName(lowest.name)})` : ''} | ${lowerText} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The large account's comparison, and what bounds the warm and empty-index runs. */
function benchSummary(report: BenchReport): string {
  const large = report.sizes.find((size) => size.name === 'large');
  const largest = report.sizes.at(-1);
  if (!large || !largest) return '';
  const warm = large.runs.warmIndex;
  const again = large.runs.warmProcess;
  const competent = large.runs.competent;
  const lines: string[] = [];
  if (warm && again && competent) {
    const competentLowest = lowestBucket(competent);
    lines.push(
      `On the large account a fresh process with a warm index makes ${num(warm.calls)} calls (${ratio(warm.calls, again.calls)} times the ${num(again.calls)} of a warm in-process run, and ${ratio(warm.calls, competent.calls)} times the competent watcher's ${num(competent.calls)}), ${callsTo(warm, 'DescribeTaskDefinition') + callsTo(warm, 'DescribeJobDefinitions')} DescribeTaskDefinition or DescribeJobDefinitions calls, and takes ${seconds(warm.ms)} (${ratio(warm.ms, competent.ms)} times the competent watcher's ${seconds(competent.ms)}), leaving the account at least ${percent(lowestBucket(warm)?.left ?? 1)} of every bucket, where the competent watcher leaves ${percent(competentLowest?.left ?? 1)} of the ${bucketName(competentLowest?.name ?? '')} bucket and is throttled ${num(competent.throttled)} times. Peak memory stays at or under ${Math.max(...report.sizes.flatMap((size) => Object.values(size.runs).map((run) => run.rssMb)))} MB at every size.`,
    );
  }
  const bounds = [large, largest].map((size) => {
    const warmBound = size.lowerBound.indexed;
    const cold = size.lowerBound.cold;
    return { size, warmBound, cold };
  });
  lines.push(
    '',
    `Lower bounds, from the account (\`lowerBound\`): a warm run needs ${bounds.map(({ size, warmBound }) => `${num(warmBound.byBucket['ecs:cluster resource read'] ?? 0)} cluster resource reads on the ${size.name} account (${warmBound.seconds.toFixed(1)} s at the share above; ${warmBound.fullSeconds.toFixed(1)} s at the whole bucket)`).join(' and ')}; an empty index needs ${bounds.map(({ size, cold }) => `${num(cold.byBucket['ecs:task definition read'] ?? 0)} DescribeTaskDefinition calls on the ${size.name} account (${cold.seconds.toFixed(1)} s)`).join(' and ')}, which ours, not yet overlapping them with the task scan, does in ${bounds.map(({ size }) => seconds(size.runs.emptyIndex?.ms ?? 0)).join(' and ')}.`,
  );
  return `${lines.join('\n')}\n`;
}

function bundleTable(report: BundleReport): string {
  const cell = (fn: string, variant: 'bundled' | 'sdk-external') => {
    const row = report.bundles.find((b) => b.fn === fn && b.variant === variant);
    return row ? `${Math.round(row.zipKb)} KB zip, ${Math.round(row.loadMs)} ms module load` : '';
  };
  const fns = [...new Set(report.bundles.map((b) => b.fn))];
  const lines = [
    `Measured with node ${report.machine.node.replace(/^v/, '')} on ${report.machine.cpus} × ${report.machine.cpuModel}, median of ${report.runs} fresh processes importing the handler (\`docs/bundle-size.json\`):`,
    '',
    '| function | SDK bundled, minified, ESM entry points | SDK left to the runtime (`@aws-sdk/*` external) |',
    '| --- | --- | --- |',
    ...fns.map((fn) => `| ${fn} | ${cell(fn, 'bundled')} | ${cell(fn, 'sdk-external')} |`),
  ];
  const loads = fns.map((fn) => {
    const bundled = report.bundles.find((b) => b.fn === fn && b.variant === 'bundled');
    const external = report.bundles.find((b) => b.fn === fn && b.variant === 'sdk-external');
    return bundled && external ? external.loadMs / bundled.loadMs : 1;
  });
  lines.push(
    '',
    `Bundling the SDK makes cold module loading ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)} times faster here.`,
  );
  if (report.packaged.length)
    lines.push(
      `\`npx serverless package\` writes ${report.packaged.map((zip) => `\`${zip.fn}.zip\` at ${Math.round(zip.zipKb)} KB`).join(' and ')} (one zip per function).`,
    );
  return `${lines.join('\n')}\n`;
}

function lowestBucket(m: BenchRun): ({ name: string } & BucketLeft) | undefined {
  return Object.entries(m.buckets)
    .filter(([name]) => name.startsWith('ecs:') || name.startsWith('batch:'))
    .sort(([, a], [, b]) => a.left - b.left)
    .map(([name, bucket]) => ({ name, ...bucket }))[0];
}

/** `ecs:task definition read` → `ECS task definition read`; `batch:all` → `Batch`. */
function bucketName(name: string): string {
  if (name === 'batch:all') return 'Batch';
  return name.replace(/^ecs:/, 'ECS ');
}

function callsTo(m: BenchRun, api: string): number {
  const byApi = (m as BenchRun & { byApi?: Record<string, number> }).byApi ?? {};
  return Object.entries(byApi)
    .filter(([name]) => name.endsWith(`:${api}`))
    .reduce((sum, [, count]) => sum + count, 0);
}

const num = (n: number) => n.toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const percent = (share: number) => `${Math.round(share * 100)}%`;
const ratio = (a: number, b: number) => (a / b).toFixed(2);

/** Writes every block into its page; with `check`, only reports the pages that differ. */
function main(check: boolean): number {
  const stale: string[] = [];
  const pages = new Map<string, string>();
  for (const block of renderBlocks()) {
    const page = pages.get(block.page) ?? readFileSync(join(ROOT, block.page), 'utf8');
    const next = withBlock(page, block.name, block.text);
    if (next !== page) stale.push(`${block.page} (${block.name})`);
    pages.set(block.page, next);
  }
  if (check) {
    for (const item of stale) process.stderr.write(`docs: ${item} differs from its JSON\n`);
    return stale.length ? 1 : 0;
  }
  for (const [page, text] of pages) writeFileSync(join(ROOT, page), text);
  process.stdout.write(
    stale.length ? `docs: rendered ${stale.join(', ')}\n` : 'docs: every block is current\n',
  );
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  process.exitCode = main(process.argv.includes('--check'));
