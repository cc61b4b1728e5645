// `npm run bench [-- --json] [-- --quick]`: API calls, time and memory to find the consumers of
// one rotated parameter, on synthetic accounts of three sizes, for this watcher (cold and warm)
// and for a naive one, against a local server with AWS's response shapes, page limits, a
// latency per call and a token-bucket throttle per API. Each run is a fresh node process, so
// its peak memory is its own.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);

import {
  type AccountSize,
  lowerBound,
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
    worker: { type: 'string' },
    size: { type: 'string' },
    endpoint: { type: 'string' },
    save: { type: 'string' },
  },
});

interface Measure {
  calls: number;
  throttled: number;
  ms: number;
  rssMb: number;
  consumers: number;
  byApi: Record<string, number>;
}

async function main(): Promise<void> {
  const { startFakeAws } = await import('./fake-aws.js');
  const names = values.quick
    ? ['small']
    : (values.sizes?.split(',') ?? SIZES.map((size) => size.name));
  const options = {
    latencyMs: Number(values.latency),
    burst: Number(values.burst),
    rate: Number(values.rate),
  };
  const results = [];
  for (const name of names) {
    const size = SIZES.find((candidate) => candidate.name === name);
    if (!size)
      throw new Error(`unknown size ${name}; the sizes are ${SIZES.map((s) => s.name).join(', ')}`);
    const account = syntheticAccount(size);
    const measureRun = async (approach: string) => {
      // A fresh server per run: empty token buckets, so no run pays for the one before.
      const server = await startFakeAws(account.route, options);
      try {
        if (!values.json) process.stderr.write(`bench: ${name} ${approach}...\n`);
        // Asynchronously: the server answering the worker runs in this process's event loop.
        const { stdout } = await run(
          process.execPath,
          [
            ...process.execArgv,
            fileURLToPath(import.meta.url),
            '--worker',
            approach,
            '--size',
            name,
            '--endpoint',
            server.endpoint,
          ],
          {
            encoding: 'utf8',
            env: {
              ...process.env,
              AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
              POWERTOOLS_LOG_LEVEL: 'ERROR',
              POWERTOOLS_METRICS_DISABLED: 'true',
            },
            maxBuffer: 16 * 1024 * 1024,
          },
        );
        return JSON.parse(stdout);
      } finally {
        await server.stop();
      }
    };
    const ours = (await measureRun('ours')) as { cold: Measure; warm: Measure };
    const naive = (await measureRun('naive')) as Measure;
    const expected = account.facts.servicesReferencing + account.facts.jobsReferencing;
    results.push({
      name,
      services: size.services,
      tasks: size.tasks,
      jobs: size.jobs,
      revisions: size.revisions,
      consumersExpected: expected,
      ours,
      naive,
      lowerBound: {
        calls: lowerBound(size, account.facts, false),
        warmCalls: lowerBound(size, account.facts, true),
      },
      ratios: {
        coldCallsVsNaive: round(ours.cold.calls / naive.calls),
        coldTimeVsNaive: round(ours.cold.ms / naive.ms),
        coldVsLowerBound: round(ours.cold.calls / lowerBound(size, account.facts, false)),
        warmVsLowerBound: round(ours.warm.calls / lowerBound(size, account.facts, true)),
      },
    });
  }
  const report = {
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round(totalmem() / 2 ** 30),
    },
    settings: options,
    sizes: results,
  };
  if (values.save) writeFileSync(values.save, `${JSON.stringify(report, null, 2)}\n`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const out = (text: string) => process.stdout.write(`${text}\n`);
  out(
    `machine: ${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGb} GB, node ${report.machine.node}`,
  );
  out(
    `server: ${options.latencyMs} ms a call, throttle ${options.burst} burst + ${options.rate}/s per API\n`,
  );
  out(
    'size    services  tasks  jobs  run         calls  throttled        ms  rss MB  found  lower bound     ×LB',
  );
  for (const r of results) {
    const row = (label: string, m: Measure, bound?: number) =>
      out(
        `${r.name.padEnd(8)}${String(r.services).padStart(8)}${String(r.tasks).padStart(7)}${String(r.jobs).padStart(6)}  ${label.padEnd(10)}${String(m.calls).padStart(7)}${String(m.throttled).padStart(11)}${String(Math.round(m.ms)).padStart(10)}${String(m.rssMb).padStart(8)}${String(m.consumers).padStart(7)}${bound === undefined ? '' : `${String(bound).padStart(13)}${String(round(m.calls / bound)).padStart(8)}`}`,
      );
    row('ours cold', r.ours.cold, r.lowerBound.calls);
    row('ours warm', r.ours.warm, r.lowerBound.warmCalls);
    row('naive', r.naive, r.lowerBound.calls);
    out(
      `${''.padEnd(31)}ours cold / naive: ${r.ratios.coldCallsVsNaive} of the calls, ${r.ratios.coldTimeVsNaive} of the time; expected consumers: ${r.consumersExpected}`,
    );
  }
}

async function worker(approach: string, sizeName: string, endpoint: string): Promise<void> {
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'bench';
  process.env.AWS_SECRET_ACCESS_KEY = 'bench';
  process.env.AWS_REGION = REGION;
  const size = SIZES.find((candidate) => candidate.name === sizeName) as AccountSize;
  if (approach === 'ours') {
    const cold = await measure(() => oursOnce(new Date('2026-11-20T00:00:00Z')));
    const warm = await measure(() => oursOnce(new Date('2026-11-20T01:00:00Z')));
    process.stdout.write(JSON.stringify({ cold, warm }));
  } else {
    process.stdout.write(JSON.stringify(await measure(() => naiveOnce(size))));
  }
}

// What both approaches share across runs in one process: the clients (and, for ours, the cache).
let shared: Awaited<ReturnType<typeof sharedState>> | undefined;
async function sharedState() {
  const { AwsClients } = await import('../lib/aws/index.js');
  const { DefinitionCache } = await import('../lib/discovery/index.js');
  const { readSettings } = await import('../lib/config.js');
  return {
    clients: new AwsClients(),
    cache: new DefinitionCache(),
    settings: readSettings({ WATCHER_DRY_RUN: 'true' }),
  };
}

/** One change event through the real pipeline: discovery and plan, changing nothing. */
async function oursOnce(
  changedAt: Date,
): Promise<{ consumers: number; counter: import('../lib/aws/index.js').CallCounter }> {
  shared ??= await sharedState();
  const { runPipeline } = await import('../lib/pipeline.js');
  const { parsePayload } = await import('../lib/events/index.js');
  shared.clients.counter.reset();
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
async function naiveOnce(
  _size: AccountSize,
): Promise<{ consumers: number; counter: import('../lib/aws/index.js').CallCounter }> {
  const { AwsClients } = await import('../lib/aws/index.js');
  const ecsSdk = await import('@aws-sdk/client-ecs');
  const batchSdk = await import('@aws-sdk/client-batch');
  const clients = new AwsClients();
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

async function measure(
  run: () => Promise<{ consumers: number; counter: import('../lib/aws/index.js').CallCounter }>,
): Promise<Measure> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const start = performance.now();
  const { consumers, counter } = await run();
  const ms = performance.now() - start;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const byApi = Object.fromEntries(
    Object.entries(counter.byApi()).map(([api, count]) => [api, count.calls]),
  );
  return {
    calls: counter.total('calls'),
    throttled: counter.total('throttled'),
    ms: Math.round(ms),
    rssMb: Math.round(peak / 2 ** 20),
    consumers,
    byApi,
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

try {
  if (values.worker) await worker(values.worker, values.size as string, values.endpoint as string);
  else await main();
} catch (error) {
  process.stderr.write(
    `bench: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`,
  );
  process.exitCode = 1;
}
