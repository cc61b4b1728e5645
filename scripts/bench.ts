// `npm run bench [-- --json] [-- --quick] [-- --sizes large,extra-large]`: AWS calls, throttled
// answers, time, peak memory and the share of each throttle bucket left to the account, to find
// the consumers of one rotated parameter in synthetic accounts of four sizes, for this watcher and
// two baselines. The account is served by a local server with AWS's response shapes, page limits,
// a latency per call and ECS's documented throttle buckets; the state table by moto_server's
// DynamoDB. Each run is a fresh node process (a cold Lambda container), so its memory is its own.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { budgetedBuckets, DEFAULT_API_SHARE } from '../lib/aws/budget.js';
import { renderChart } from './bench-chart.js';
import {
  type AccountSize,
  type IndexState,
  lowerBound,
  lowerBoundSeconds,
  REGION,
  ROTATED,
  SIZES,
  syntheticAccount,
} from './synthetic-account.js';

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
    worker: { type: 'string' },
    size: { type: 'string' },
    endpoint: { type: 'string' },
  },
});

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
}

/** The runs of one size, by name. */
const RUNS = {
  naive: 'naive: one call at a time, no cache',
  competent: 'competent: concurrent, cached per process, no index, no budget',
  emptyIndex: 'ours, fresh process, empty index',
  warmIndex: 'ours, fresh process, warm index',
  warmProcess: 'ours, warm in-process',
} as const;
type RunName = keyof typeof RUNS;

async function main(): Promise<void> {
  const { startFakeAws } = await import('./fake-aws.js');
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
      const measureRun = async (approach: string) => {
        // A fresh server per process: full token buckets, so no process pays for the one before.
        const server = await startFakeAws(account.route, options);
        try {
          if (!values.json) process.stderr.write(`bench: ${name} ${approach}...\n`);
          return await worker(approach, name, server.endpoint, {
            AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint,
            WATCHER_STATE_TABLE: table,
          });
        } finally {
          await server.stop();
        }
      };
      const runs: Partial<Record<RunName, Measure>> = {};
      runs.competent = (await measureRun('competent')) as Measure;
      const cold = (await measureRun('ours')) as { first: Measure; again: Measure };
      runs.emptyIndex = cold.first;
      runs.warmProcess = cold.again;
      runs.warmIndex = (await measureRun('ours-once')) as Measure;
      if (!values['no-naive'] && name !== 'extra-large')
        runs.naive = (await measureRun('naive')) as Measure;
      // Seconds at the share this watcher takes; `fullSeconds` for a watcher that takes every
      // token of the account's buckets (and leaves the account's own callers none).
      const bound = (index: IndexState) => {
        const { calls, byBucket } = lowerBound(size, account.facts, index);
        const full = lowerBoundSeconds(byBucket, 1, budgetedBuckets());
        return {
          calls,
          byBucket,
          ...lowerBoundSeconds(byBucket, DEFAULT_API_SHARE, budgetedBuckets()),
          fullSeconds: full.seconds,
        };
      };
      results.push({
        ...size,
        consumersExpected: account.facts.servicesReferencing + account.facts.jobsReferencing,
        runs,
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
    settings: { ...options, apiShare: DEFAULT_API_SHARE },
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
  settings: { latencyMs: number };
  sizes: Array<{
    name: string;
    runs: Partial<Record<RunName, Measure>>;
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
    `server: ${report.settings.latencyMs} ms a call, ECS's documented throttle buckets, Batch 50/s; budget ${DEFAULT_API_SHARE} of each\n`,
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
  };
  for (const size of report.sizes) {
    for (const run of Object.keys(RUNS) as RunName[]) {
      const m = size.runs[run];
      if (!m) continue;
      const lowest = Object.entries(m.buckets)
        .filter(([bucket]) => bucket.startsWith('ecs:') || bucket.startsWith('batch:'))
        .sort(([, a], [, b]) => a.left - b.left)[0];
      const which = bounds[run];
      const bound = which ? size.lowerBound[which] : undefined;
      out(
        [
          size.name.padEnd(13),
          run.padEnd(22),
          String(m.calls).padStart(7),
          String(m.throttled).padStart(11),
          String(m.ms).padStart(10),
          String(m.rssMb).padStart(8),
          String(m.consumers).padStart(7),
          (lowest ? `${Math.round(lowest[1].left * 100)}% ${lowest[0]}` : '').padStart(34),
          bound
            ? `  ${bound.calls}, ${(run === 'competent' ? bound.fullSeconds : bound.seconds).toFixed(1)}`
            : '',
        ].join(''),
      );
    }
  }
}

/** Runs one approach in a fresh node process and returns what it printed (JSON). */
function worker(
  approach: string,
  size: string,
  endpoint: string,
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

async function runWorker(approach: string, sizeName: string, endpoint: string): Promise<void> {
  const size = SIZES.find((candidate) => candidate.name === sizeName) as AccountSize;
  const at = (hour: number) => new Date(Date.UTC(2026, 10, 20, hour));
  let result: unknown;
  if (approach === 'competent') {
    result = await measure(endpoint, () => ours(at(0), { indexed: false, apiShare: 0 }));
  } else if (approach === 'ours') {
    const first = await measure(endpoint, () => ours(at(0), { indexed: true }));
    const again = await measure(endpoint, () => ours(at(1), { indexed: true }));
    result = { first, again };
  } else if (approach === 'ours-once') {
    result = await measure(endpoint, () => ours(at(2), { indexed: true }));
  } else {
    result = await measure(endpoint, () => naiveOnce(size));
  }
  process.stdout.write(JSON.stringify(result));
}

type Counted = { consumers: number; counter: import('../lib/aws/index.js').CallCounter };

// What the runs of one process share: clients and the definition cache, as a Lambda container.
let shared: Awaited<ReturnType<typeof sharedState>> | undefined;
async function sharedState(indexed: boolean, apiShare: number | undefined) {
  const { AwsClients } = await import('../lib/aws/index.js');
  const { definitionCache } = await import('../lib/compose.js');
  const { readSettings } = await import('../lib/config.js');
  const clients = new AwsClients(apiShare === undefined ? {} : { apiShare });
  const table = indexed ? (process.env.WATCHER_STATE_TABLE ?? null) : null;
  return {
    clients,
    cache: definitionCache(table, REGION, clients),
    settings: readSettings({ WATCHER_DRY_RUN: 'true' }),
  };
}

/** One change event through the real pipeline: discovery and plan, changing nothing. */
async function ours(
  changedAt: Date,
  options: { indexed: boolean; apiShare?: number },
): Promise<Counted> {
  shared ??= await sharedState(options.indexed, options.apiShare);
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
  const run = await runPipeline(
    { records },
    { ...shared, regions: [REGION], home: REGION },
    { apply: false },
  );
  return { consumers: run.report.consumers.length, counter: shared.clients.counter };
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
  return { consumers, counter: clients.counter };
}

/** Measures one run: calls, time, peak memory, and the server's buckets during it. */
async function measure(endpoint: string, run: () => Promise<Counted>): Promise<Measure> {
  await fetch(`${endpoint}/__fake/buckets?reset`);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const start = performance.now();
  const { consumers, counter } = await run();
  const ms = performance.now() - start;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const used = (await (await fetch(`${endpoint}/__fake/buckets`)).json()) as Record<
    string,
    { burst: number; minTokens: number; taken: number }
  >;
  const byApi = Object.fromEntries(
    Object.entries(counter.byApi()).map(([api, count]) => [api, count.calls]),
  );
  const throttled = counter.total('throttled');
  counter.reset();
  return {
    calls: Object.values(byApi).reduce((sum, n) => sum + n, 0),
    throttled,
    ms: Math.round(ms),
    rssMb: Math.round(peak / 2 ** 20),
    consumers,
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

try {
  if (values.worker)
    await runWorker(values.worker, values.size as string, values.endpoint as string);
  else await main();
} catch (error) {
  process.stderr.write(
    `bench: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`,
  );
  process.exitCode = 1;
}
