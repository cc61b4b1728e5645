// `npm run bench [-- --json] [-- --quick] [-- --sizes large,extra-large]`: AWS calls, throttled
// answers, time, peak memory and the share of each throttle bucket left to the account, to find
// the consumers of one rotated parameter in synthetic accounts of four sizes, for this watcher and
// two baselines. The account is the tests' scripted account (test/support/account), built large
// and served with AWS's response shapes, page limits, a latency per call and ECS's documented
// throttle buckets; the state table by moto_server's DynamoDB. Each run is a fresh node process
// (a cold Lambda container), so its memory is its own.
//
// One measurement alone, each size (README, Budget): BENCH_ONLY=cold (a fresh process, empty
// index), warm (a fresh process, warm index), overlap (BENCH_OVERLAP cold runs at once, each with
// a budget of its own) or handover (invocations with a read limit of BENCH_READ_MS until one
// reads the whole account); BENCH_SHARE is the share of each bucket the watcher's runs take.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { budgetedBuckets, DEFAULT_API_SHARE, STACK_BUDGETS } from '../lib/aws/budget.js';
import type { ApiCount } from '../lib/aws/index.js';
import type { PipelineDeps } from '../lib/pipeline.js';
import { BUCKETS_PATH, serveScripted } from '../test/support/account/server.js';
import {
  type AccountSize,
  type IndexState,
  lowerBound,
  lowerBoundSeconds,
  REGION,
  ROTATED,
  SIZES,
  syntheticAccount,
} from '../test/support/account/synthetic.js';
import { renderChart } from './bench-chart.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    latency: { type: 'string', default: '25' },
    burst: { type: 'string', default: '50' },
    rate: { type: 'string', default: '20' },
    sizes: { type: 'string' },
    /** The naive watcher takes minutes on the large account; it never runs on extra-large. */
    'no-naive': { type: 'boolean', default: false },
    save: { type: 'string' },
    chart: { type: 'string' },
    // The worker's: what main passes to each process it spawns.
    worker: { type: 'string' },
    size: { type: 'string' },
    endpoint: { type: 'string' },
    share: { type: 'string' },
    overlap: { type: 'string' },
    'read-ms': { type: 'string' },
  },
});

/** The measurements BENCH_ONLY can pick. */
const ONLY = ['cold', 'overlap', 'handover', 'warm'] as const;
type Only = (typeof ONLY)[number];

/** The bench's `BENCH_*` settings, read once in main and passed to each worker. */
interface BenchSettings {
  /** The share of each ECS and Batch bucket the watcher's runs take (BENCH_SHARE). */
  share: number;
  /** One measurement alone (BENCH_ONLY); null: every run. */
  only: Only | null;
  /** Cold runs at once for `overlap` (BENCH_OVERLAP; default: the stack's budgets at its worst). */
  overlap: number;
  /** Each `handover` invocation's read limit, ms (BENCH_READ_MS; default: on-change's). */
  readMs: number;
}

/** On-change's read limit: its 360 s timeout less the reserve of `readByOf` (lib/runtime.ts). */
const ON_CHANGE_READ_MS = 270_000;

/** A read limit too short to get past the scan would hand over forever: this many, then stop. */
const MAX_INVOCATIONS = 10;

/** One measured run. */
interface Measure {
  calls: number;
  throttled: number;
  ms: number;
  rssMb: number;
  consumers: number;
  byApi: Record<string, number>;
  /** Each AWS throttle bucket the run drew on: the lowest tokens left, as a share of its burst. */
  buckets: Record<string, { burst: number; minTokens: number; left: number; taken: number }>;
  /** The run reached its read limit, found nothing and handed its work over (only if so). */
  handedOver?: true;
}

/** The runs of one size, by name. */
const RUNS = {
  naive: 'naive: one call at a time, no cache',
  competent: 'competent: concurrent, cached per process, no index, no budget',
  emptyIndex: 'ours, fresh process, empty index',
  warmIndex: 'ours, fresh process, warm index',
  warmProcess: 'ours, warm in-process',
  overlap: 'ours, BENCH_OVERLAP fresh containers at once (one process), empty index: calls summed',
} as const;
type RunName = keyof typeof RUNS;

/** The worker's approaches: one process each. */
type Approach = 'naive' | 'competent' | 'ours' | 'cold' | 'warm' | 'overlap' | 'handover';

async function main(): Promise<void> {
  const bench = readBenchSettings(process.env);
  const { startMoto } = await import('./moto.js');
  const { Seeder } = await import('./seed.js');
  const names = values.quick
    ? ['small']
    : (values.sizes?.split(',') ?? SIZES.map((size) => size.name));
  const options = {
    latencyMs: Number(values.latency),
    burst: Number(values.burst),
    rate: Number(values.rate),
  };
  const moto = await startMoto();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_REGION: REGION,
  });
  const seeder = new Seeder();
  const results = [];
  try {
    for (const name of names) {
      const size = SIZES.find((candidate) => candidate.name === name);
      if (!size)
        throw new Error(
          `unknown size ${name}; the sizes are ${SIZES.map((s) => s.name).join(', ')}`,
        );
      const account = syntheticAccount(size);
      const table = await seeder.stateTable(REGION, `bench-${name}-${Date.now()}`);
      const measureRun = async <T = Measure>(approach: Approach): Promise<T> => {
        // A fresh server per process: full token buckets, so no process pays for the one before.
        const server = await serveScripted(account.account, options);
        try {
          if (!values.json) process.stderr.write(`bench: ${name} ${approach}...\n`);
          return (await worker(approach, name, server.endpoint, bench, {
            AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint,
            WATCHER_STATE_TABLE: table,
          })) as T;
        } finally {
          await server.stop();
        }
      };
      const runs: Partial<Record<RunName, Measure>> = {};
      let handover: Measure[] | undefined;
      if (bench.only === 'cold') runs.emptyIndex = await measureRun('cold');
      else if (bench.only === 'warm') {
        // A warm index is one an earlier run filled: a cold run fills it, unreported.
        await measureRun('cold');
        runs.warmIndex = await measureRun('warm');
      } else if (bench.only === 'overlap') runs.overlap = await measureRun('overlap');
      else if (bench.only === 'handover') handover = await measureRun<Measure[]>('handover');
      else {
        runs.competent = await measureRun('competent');
        const cold = await measureRun<{ first: Measure; again: Measure }>('ours');
        runs.emptyIndex = cold.first;
        runs.warmProcess = cold.again;
        runs.warmIndex = await measureRun('warm');
        if (!values['no-naive'] && name !== 'extra-large') runs.naive = await measureRun('naive');
      }
      // Seconds at the share this watcher takes; `fullSeconds` for a watcher that takes every
      // token of the account's buckets (and leaves the account's own callers none).
      const bound = (index: IndexState) => {
        const { calls, byBucket } = lowerBound(size, account.facts, index);
        const full = lowerBoundSeconds(byBucket, 1, budgetedBuckets());
        return {
          calls,
          byBucket,
          ...lowerBoundSeconds(byBucket, bench.share, budgetedBuckets()),
          fullSeconds: full.seconds,
        };
      };
      results.push({
        ...size,
        consumersExpected: account.facts.servicesReferencing + account.facts.jobsReferencing,
        runs,
        ...(handover ? { handover } : {}),
        lowerBound: {
          cold: bound('cold'),
          indexed: bound('indexed'),
          inMemory: bound('in-memory'),
        },
      });
    }
  } finally {
    seeder.destroy();
    await moto.stop();
  }
  const report = {
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round(totalmem() / 2 ** 30),
    },
    settings: {
      ...options,
      apiShare: bench.share,
      ...(bench.only ? { only: bench.only } : {}),
      ...(bench.only === 'overlap' ? { overlap: bench.overlap } : {}),
      ...(bench.only === 'handover' ? { readMs: bench.readMs } : {}),
    },
    buckets: budgetedBuckets(),
    sizes: results,
  };
  if (values.save) writeFileSync(values.save, `${JSON.stringify(report, null, 2)}\n`);
  if (values.chart) writeFileSync(values.chart, renderChart(report));
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  printTable(report);
}

function printTable(report: {
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string };
  settings: { latencyMs: number; apiShare: number };
  sizes: Array<{
    name: string;
    runs: Partial<Record<RunName, Measure>>;
    handover?: Measure[];
    lowerBound: Record<
      'cold' | 'indexed' | 'inMemory',
      { calls: number; seconds: number; fullSeconds: number }
    >;
  }>;
}): void {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  out(
    `machine: ${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGb} GB, node ${report.machine.node}`,
  );
  out(
    `server: ${report.settings.latencyMs} ms a call, ECS's documented throttle buckets, Batch 50/s; budget ${report.settings.apiShare} of each\n`,
  );
  out(
    'size         run                     calls  throttled        ms  rss MB  found  lowest bucket left  lower bound (calls, s)',
  );
  const bounds: Record<RunName, 'cold' | 'indexed' | 'inMemory' | null> = {
    naive: null,
    competent: 'cold',
    emptyIndex: 'cold',
    warmIndex: 'indexed',
    warmProcess: 'inMemory',
    overlap: null,
  };
  const row = (size: string, run: string, m: Measure, bound?: string) => {
    const lowest = Object.entries(m.buckets)
      .filter(([bucket]) => bucket.startsWith('ecs:') || bucket.startsWith('batch:'))
      .sort(([, a], [, b]) => a.left - b.left)[0];
    out(
      [
        size.padEnd(13),
        run.padEnd(22),
        String(m.calls).padStart(7),
        String(m.throttled).padStart(11),
        String(m.ms).padStart(10),
        String(m.rssMb).padStart(8),
        String(m.consumers).padStart(7),
        (lowest ? `${Math.round(lowest[1].left * 100)}% ${lowest[0]}` : '').padStart(34),
        bound ?? '',
      ].join(''),
    );
  };
  for (const size of report.sizes) {
    for (const run of Object.keys(RUNS) as RunName[]) {
      const m = size.runs[run];
      if (!m) continue;
      const which = bounds[run];
      const bound = which ? size.lowerBound[which] : undefined;
      row(
        size.name,
        run,
        m,
        bound
          ? `  ${bound.calls}, ${(run === 'competent' ? bound.fullSeconds : bound.seconds).toFixed(1)}`
          : undefined,
      );
    }
    // A handed-over invocation finds nothing: the one that reads the whole account finds all.
    size.handover?.forEach((m, i) => {
      row(size.name, `handover ${i + 1}${m.handedOver ? ', over' : ''}`, m);
    });
  }
}

/** Runs one approach in a fresh node process and returns what it printed (JSON). */
function worker(
  approach: Approach,
  size: string,
  endpoint: string,
  bench: BenchSettings,
  env: Record<string, string>,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv,
        fileURLToPath(import.meta.url),
        '--worker',
        approach,
        '--size',
        size,
        '--endpoint',
        endpoint,
        '--share',
        String(bench.share),
        '--overlap',
        String(bench.overlap),
        '--read-ms',
        String(bench.readMs),
      ],
      {
        env: {
          ...process.env,
          ...env,
          AWS_ENDPOINT_URL: endpoint,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          POWERTOOLS_LOG_LEVEL: 'ERROR',
          POWERTOOLS_METRICS_DISABLED: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(stdout));
      else reject(new Error(`the ${approach} run failed: ${stderr.trim().split('\n').pop()}`));
    });
  });
}

// ---- the worker: one approach in this process --------------------------------------------

async function runWorker(approach: Approach, sizeName: string, endpoint: string): Promise<void> {
  const size = SIZES.find((candidate) => candidate.name === sizeName) as AccountSize;
  const share = Number(values.share);
  const at = (hour: number) => new Date(Date.UTC(2026, 10, 20, hour));
  let result: unknown;
  if (approach === 'competent') {
    const competent = container(false, 0);
    result = await measure(endpoint, () => ours(competent, at(0)));
  } else if (approach === 'ours') {
    const watcher = container(true, share);
    const first = await measure(endpoint, () => ours(watcher, at(0)));
    const again = await measure(endpoint, () => ours(watcher, at(1)));
    result = { first, again };
  } else if (approach === 'cold') {
    result = await measure(endpoint, () => ours(container(true, share), at(0)));
  } else if (approach === 'warm') {
    result = await measure(endpoint, () => ours(container(true, share), at(2)));
  } else if (approach === 'overlap') {
    // The stack at its worst: cold runs at once, each in a container of its own (its own budget),
    // on one account and one index. One process, so `rssMb` is all of theirs.
    const containers = Array.from({ length: Number(values.overlap) }, () => container(true, share));
    result = await measure(endpoint, async () => {
      const each = await Promise.all(containers.map((watcher) => ours(watcher, at(0))));
      return {
        consumers: Math.min(...each.map((run) => run.consumers)),
        calls: sumCalls(each.map((run) => run.calls)),
      };
    });
  } else if (approach === 'handover') {
    // On-change invocations, one after another in fresh containers (in this one process), each
    // with the read limit, until one reads the whole account; each continues with the index the
    // ones before it filled.
    const readMs = Number(values['read-ms']);
    const invocations: Measure[] = [];
    do {
      const fresh = container(true, share);
      invocations.push(await measure(endpoint, () => ours(fresh, at(0), Date.now() + readMs)));
    } while (invocations.at(-1)?.handedOver && invocations.length < MAX_INVOCATIONS);
    result = invocations;
  } else {
    result = await measure(endpoint, () => naiveOnce(size));
  }
  process.stdout.write(JSON.stringify(result));
}

/** What one run found and the calls it made, by API. */
type Counted = { consumers: number; calls: Record<string, ApiCount>; handedOver?: boolean };

/**
 * A Lambda container: what the composition root builds (clients with their budget, the
 * definition cache), built by its first run and kept for the runs after it. A share of 0 (no
 * budget) is the competent baseline's, not a setting the watcher accepts.
 */
function container(indexed: boolean, apiShare: number): () => Promise<PipelineDeps> {
  let deps: Promise<PipelineDeps> | undefined;
  return () => {
    deps ??= (async () => {
      const { buildDeps } = await import('../lib/compose.js');
      const { readSettings } = await import('../lib/config.js');
      const table = indexed ? process.env.WATCHER_STATE_TABLE : undefined;
      const settings = readSettings({
        WATCHER_DRY_RUN: 'true',
        ...(table ? { WATCHER_STATE_TABLE: table } : {}),
        ...(apiShare > 0 ? { WATCHER_API_SHARE: String(apiShare) } : {}),
      });
      const clientOptions = apiShare > 0 ? {} : { apiShare: 0 };
      return buildDeps(settings, { home: REGION, regions: [REGION], clientOptions });
    })();
    return deps;
  };
}

/**
 * One change event through the real pipeline: discovery and plan, changing nothing. `readBy`:
 * the time the account must have been read by (epoch ms), as a Lambda run's.
 */
async function ours(
  deps: () => Promise<PipelineDeps>,
  changedAt: Date,
  readBy?: number,
): Promise<Counted> {
  const built = await deps();
  const { runPipeline } = await import('../lib/pipeline.js');
  const { parsePayload } = await import('../lib/events/index.js');
  const records = parsePayload({
    version: '0',
    id: `bench-${changedAt.getTime()}`,
    'detail-type': 'Parameter Store Change',
    source: 'aws.ssm',
    account: '123456789012',
    time: changedAt.toISOString(),
    region: REGION,
    resources: [],
    detail: { operation: 'Update', name: ROTATED },
  });
  const run = await runPipeline({ records }, built, { apply: false, readBy });
  // The run's own calls (runPipeline counts each run apart), not the container's.
  return {
    consumers: run.report.consumers.length,
    calls: run.report.calls ?? {},
    handedOver: run.handedOver,
  };
}

/**
 * The obvious watcher: walk every cluster and queue, describe each running task's and job's
 * definition one call at a time, with no cache and no concurrency.
 */
async function naiveOnce(_size: AccountSize): Promise<Counted> {
  const { AwsClients } = await import('../lib/aws/index.js');
  const ecsSdk = await import('@aws-sdk/client-ecs');
  const batchSdk = await import('@aws-sdk/client-batch');
  const clients = new AwsClients({ apiShare: 0 });
  const ecs = clients.get('ecs', REGION);
  const batch = clients.get('batch', REGION);
  const mentions = (value: unknown) => JSON.stringify(value ?? {}).includes(ROTATED);
  let consumers = 0;
  const services = new Set<string>();
  let clusterToken: string | undefined;
  do {
    const clusters = await ecs.send(new ecsSdk.ListClustersCommand({ nextToken: clusterToken }));
    for (const cluster of clusters.clusterArns ?? []) {
      let token: string | undefined;
      do {
        const page = await ecs.send(
          new ecsSdk.ListTasksCommand({ cluster, nextToken: token, desiredStatus: 'RUNNING' }),
        );
        const described = page.taskArns?.length
          ? await ecs.send(new ecsSdk.DescribeTasksCommand({ cluster, tasks: page.taskArns }))
          : { tasks: [] };
        for (const task of described.tasks ?? []) {
          const definition = await ecs.send(
            new ecsSdk.DescribeTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn }),
          );
          if (!mentions(definition.taskDefinition?.containerDefinitions)) continue;
          const service = task.group?.replace('service:', '') ?? '';
          if (services.has(`${cluster}/${service}`)) continue;
          services.add(`${cluster}/${service}`);
          await ecs.send(new ecsSdk.DescribeServicesCommand({ cluster, services: [service] }));
          consumers += 1;
        }
        token = page.nextToken;
      } while (token);
    }
    clusterToken = clusters.nextToken;
  } while (clusterToken);
  const queues = await batch.send(new batchSdk.DescribeJobQueuesCommand({}));
  for (const queue of queues.jobQueues ?? []) {
    for (const jobStatus of ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'] as const) {
      let token: string | undefined;
      do {
        const page = await batch.send(
          new batchSdk.ListJobsCommand({
            jobQueue: queue.jobQueueArn,
            jobStatus,
            nextToken: token,
          }),
        );
        for (const job of page.jobSummaryList ?? []) {
          const definition = await batch.send(
            new batchSdk.DescribeJobDefinitionsCommand({
              jobDefinitions: [job.jobDefinition as string],
            }),
          );
          if (mentions(definition.jobDefinitions?.[0]?.containerProperties)) consumers += 1;
        }
        token = page.nextToken;
      } while (token);
    }
  }
  return { consumers, calls: clients.sent.byApi() };
}

/** Measures one run: calls, time, peak memory, and the server's buckets during it. */
async function measure(endpoint: string, run: () => Promise<Counted>): Promise<Measure> {
  await fetch(`${endpoint}${BUCKETS_PATH}?reset`);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const start = performance.now();
  const { consumers, calls, handedOver } = await run();
  const ms = performance.now() - start;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const used = (await (await fetch(`${endpoint}${BUCKETS_PATH}`)).json()) as Record<
    string,
    { burst: number; minTokens: number; taken: number }
  >;
  const byApi = Object.fromEntries(Object.entries(calls).map(([api, count]) => [api, count.calls]));
  return {
    calls: Object.values(byApi).reduce((sum, n) => sum + n, 0),
    throttled: Object.values(calls).reduce((sum, count) => sum + count.throttled, 0),
    ms: Math.round(ms),
    rssMb: Math.round(peak / 2 ** 20),
    consumers,
    ...(handedOver ? { handedOver } : {}),
    byApi,
    buckets: Object.fromEntries(
      Object.entries(used)
        .filter(([, bucket]) => bucket.taken > 0)
        .map(([name, bucket]) => [
          name,
          {
            burst: bucket.burst,
            minTokens: Math.round(bucket.minTokens * 10) / 10,
            left: Math.round((bucket.minTokens / bucket.burst) * 1000) / 1000,
            taken: bucket.taken,
          },
        ]),
    ),
  };
}

/** The calls of several runs, added up by API. */
function sumCalls(runs: Array<Record<string, ApiCount>>): Record<string, ApiCount> {
  const total: Record<string, ApiCount> = {};
  for (const run of runs)
    for (const [api, count] of Object.entries(run)) {
      const sum = total[api] ?? { calls: 0, attempts: 0, throttled: 0, failed: 0 };
      total[api] = sum;
      for (const field of ['calls', 'attempts', 'throttled', 'failed'] as const)
        sum[field] += count[field];
    }
  return Object.fromEntries(Object.entries(total).sort(([a], [b]) => a.localeCompare(b)));
}

/** Reads and checks the `BENCH_*` settings; an error says what each must be. */
function readBenchSettings(env: NodeJS.ProcessEnv): BenchSettings {
  const value = (name: string) => env[name]?.trim() || undefined;
  const share = value('BENCH_SHARE');
  if (
    share !== undefined &&
    !(/^\d*\.?\d+$/.test(share) && Number(share) > 0 && Number(share) <= 1)
  )
    throw new Error(
      `BENCH_SHARE must be a fraction above 0 and at most 1 (the share of each ECS and Batch bucket the watcher's runs take, such as 0.25), got ${JSON.stringify(share)}`,
    );
  const only = value('BENCH_ONLY');
  if (only !== undefined && !(ONLY as readonly string[]).includes(only))
    throw new Error(`BENCH_ONLY must be one of ${ONLY.join(', ')}, got ${JSON.stringify(only)}`);
  const count = (name: string, fallback: number, what: string) => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < 1)
      throw new Error(
        `${name} must be a whole number above 0 (${what}), got ${JSON.stringify(raw)}`,
      );
    return Number(raw);
  };
  return {
    share: share === undefined ? DEFAULT_API_SHARE : Number(share),
    only: (only as Only | undefined) ?? null,
    overlap: count('BENCH_OVERLAP', STACK_BUDGETS, 'cold runs at once, such as 3'),
    readMs: count('BENCH_READ_MS', ON_CHANGE_READ_MS, 'the read limit in ms, such as 270000'),
  };
}

try {
  if (values.worker)
    await runWorker(values.worker as Approach, values.size as string, values.endpoint as string);
  else await main();
} catch (error) {
  process.stderr.write(
    `bench: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`,
  );
  process.exitCode = 1;
}
