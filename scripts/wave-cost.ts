// What staged restarts cost in AWS calls against restarting everything at once: one healthy
// rotation of a parameter read by N services (each tagged redeploy, each rollout completing a
// minute after it starts), followed to Rotation Complete on the scripted account, once with
// WATCHER_WAVES=all and once with the default waves. The follow-ups come when the record's chain
// would bring them, and each completed deployment's `ECS Deployment State Change` is handed over
// as it happens (the queue would batch them; here each is its own run, the worst case).
//
//   npm run wave-cost                 (4 and 20 services)
//   WAVE_COST_SERVICES=50 npm run wave-cost
import { buildDeps } from '../lib/compose.js';
import { readSettings } from '../lib/config.js';
import { parsePayload, type RecordResult } from '../lib/events/index.js';
import { runPipeline } from '../lib/pipeline.js';
import { recordPk } from '../lib/rotations/record.js';
import { RotationStore } from '../lib/rotations/store.js';
import {
  emptyAccount,
  parameterReaders,
  type ScriptedAccount,
} from '../test/support/account/index.js';
import { serveScripted } from '../test/support/account/server.js';
import { startMoto } from './moto.js';
import { Seeder } from './seed.js';

const REGION = 'us-east-1';
const NAME = '/app/db/password';
const CHANGE = Date.parse('2026-11-20T12:00:00Z');
const MINUTE = 60_000;

function account(a: ScriptedAccount, count: number): void {
  const readers = Array.from({ length: count }, (_, i) => ({
    name: `s${i}`,
    tasks: 1 + (i % 3),
    onDeploy: { kind: 'complete' as const, after: 60 },
  }));
  Object.assign(a, parameterReaders(NAME, CHANGE, readers));
}

interface Cost {
  runs: number;
  aws: number;
  dynamodb: number;
  minutes: number;
  status: string;
  byApi: Record<string, number>;
}

async function measure(
  a: ScriptedAccount,
  seeder: Seeder,
  count: number,
  waves: string,
  run: number,
): Promise<Cost> {
  account(a, count);
  const table = await seeder.stateTable(REGION, `wave-cost-${run}`);
  // The changes queue carries the record's chain of follow-ups (its messages are not read here:
  // each link is handed over when the record says it is due).
  const queue = await seeder.queue(REGION, `wave-cost-${run}`);
  const deps = buildDeps(
    readSettings({
      WATCHER_STATE_TABLE: table,
      WATCHER_WAVES: waves,
      WATCHER_BAKE: '5m',
      WATCHER_API_SHARE: '1',
      WATCHER_MAX_ACTIONS: '10000',
    }),
    { home: REGION, now: () => new Date(a.now), queueUrl: queue.url },
  );
  const store = new RotationStore({ table, region: REGION, clients: deps.clients });
  const pk = recordPk({
    service: 'ssm',
    region: REGION,
    account: a.account,
    name: NAME,
    versionStage: null,
  });
  const byApi: Record<string, number> = {};
  let runs = 0;
  const go = async (records: RecordResult[]) => {
    runs += 1;
    const done = await runPipeline({ records }, deps, { apply: true });
    for (const [api, counted] of Object.entries(done.report.calls ?? {}))
      byApi[api] = (byApi[api] ?? 0) + counted.calls;
  };
  await go(parsePayload({ ...eventOf(a.now) }));
  const told = new Set<string>();
  for (let tick = 0; tick < 2_000; tick++) {
    a.now += 10_000;
    const [record] = await store.list(pk);
    if (record?.status !== 'open') break;
    // Each service's first deployment (ecs-svc/NAME-0) is from before the change.
    for (const service of a.services)
      for (const d of service.deployments)
        if (d.rolloutState === 'COMPLETED' && !d.id.endsWith('-0') && !told.has(d.id)) {
          told.add(d.id);
          await go([nudge(a, service.name, d.id)]);
        }
    const due = record.nextLookAt ? Date.parse(record.nextLookAt) : Number.POSITIVE_INFINITY;
    if (a.now >= due)
      await go([
        {
          recordId: null,
          changes: [],
          ignored: null,
          error: null,
          followUp: {
            pk: record.pk,
            sk: record.sk,
            ...(record.nextLook ? { chain: record.nextLook } : {}),
          },
        },
      ]);
  }
  const [last] = await store.list(pk);
  const sum = (keep: (api: string) => boolean) =>
    Object.entries(byApi)
      .filter(([api]) => keep(api))
      .reduce((total, [, n]) => total + n, 0);
  deps.clients.destroy();
  return {
    runs,
    aws: sum((api) => !api.startsWith('dynamodb:') && !api.startsWith('sqs:')),
    dynamodb: sum((api) => api.startsWith('dynamodb:')),
    minutes: (a.now - CHANGE) / MINUTE,
    status: last?.status ?? 'none',
    byApi,
  };
}

function eventOf(now: number) {
  return {
    version: '0',
    id: 'wave-cost',
    'detail-type': 'Parameter Store Change',
    source: 'aws.ssm',
    account: '123456789012',
    time: new Date(now).toISOString(),
    region: REGION,
    resources: [`arn:aws:ssm:${REGION}:123456789012:parameter${NAME}`],
    detail: { operation: 'Update', name: NAME, type: 'SecureString', description: '' },
  };
}

function nudge(a: ScriptedAccount, service: string, deploymentId: string): RecordResult {
  return {
    recordId: null,
    changes: [],
    ignored: null,
    error: null,
    nudge: {
      kind: 'ecs-deployment',
      service: `arn:aws:ecs:${REGION}:${a.account}:service/prod/${service}`,
      deploymentId,
      eventName: 'SERVICE_DEPLOYMENT_COMPLETED',
      reason: `ECS deployment ${deploymentId} completed.`,
      at: new Date(a.now).toISOString(),
    },
  };
}

async function main(): Promise<void> {
  const counts = (process.env.WAVE_COST_SERVICES ?? '4,20').split(',').map(Number);
  const moto = await startMoto();
  const a = emptyAccount();
  const server = await serveScripted(a);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: server.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint,
    AWS_ENDPOINT_URL_SQS: moto.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: REGION,
  });
  const seeder = new Seeder();
  try {
    let run = 0;
    process.stdout.write(
      'services  waves        runs  ECS+SSM calls  DynamoDB calls  minutes to complete  record\n',
    );
    for (const count of counts)
      for (const waves of ['all', '1,25%,100%']) {
        const cost = await measure(a, seeder, count, waves, ++run);
        process.stdout.write(
          `${String(count).padEnd(10)}${waves.padEnd(13)}${String(cost.runs).padEnd(6)}${String(cost.aws).padEnd(15)}${String(cost.dynamodb).padEnd(16)}${cost.minutes.toFixed(1).padEnd(21)}${cost.status}\n`,
        );
        if (process.env.WAVE_COST_BY_API) process.stdout.write(`  ${JSON.stringify(cost.byApi)}\n`);
      }
  } finally {
    await server.stop();
    await moto.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`wave-cost: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
