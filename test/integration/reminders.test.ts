// The sweep's memory, against moto (ECS, SSM, DynamoDB, SNS, SQS): a stale consumer nobody
// restarts is told of when first seen stale, when something about it changes, and then once per
// WATCHER_REMIND_EVERY, not on every sweep; a telling that fails is not remembered.
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDeps } from '../../lib/compose.js';
import { readSettings } from '../../lib/config.js';
import { type PipelineDeps, runPipeline } from '../../lib/pipeline.js';
import { ReminderStore } from '../../lib/state/reminders.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const REGION = 'us-east-1';
const MINUTE = 60_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let deps: PipelineDeps;
let reports = '';
let table = '';
let api = '';
let clock = Date.now();

/** One sweep at `at` minutes after the start; what reached the topic's subscriber. */
async function sweepAt(at: number, settings = deps.settings) {
  clock = start + at * MINUTE;
  const run = await runPipeline({ sweep: true }, { ...deps, settings }, { apply: true });
  const published = (await env.seed.drain(REGION, reports)).map(
    (message) => JSON.parse(JSON.parse(message.body).Message) as Record<string, unknown>,
  );
  return { run, published };
}
/** The stale consumers a notification lists (its JSON lists fresh ones too). */
const listed = (report: Record<string, unknown> | undefined) =>
  ((report?.consumers ?? []) as Array<{ name: string; stale: boolean }>)
    .filter((consumer) => consumer.stale)
    .map((consumer) => consumer.name)
    .sort();
let start = Date.now();

beforeAll(async () => {
  const { seed } = env;
  await seed.parameter(REGION, '/remind/db', 'v0');
  await seed.parameter(REGION, '/remind/key', 'k0');
  const cluster = await seed.cluster(REGION, 'remind');
  const tdApi = await seed.taskDefinition(REGION, 'api', [
    { name: 'app', secrets: { DB: '/remind/db' } },
  ]);
  const tdWorker = await seed.taskDefinition(REGION, 'worker', [
    { name: 'app', secrets: { KEY: '/remind/key' } },
  ]);
  api = (await seed.service(REGION, cluster, 'api', tdApi)).arn;
  await seed.service(REGION, cluster, 'worker', tdWorker);
  await pause(1_100);
  // Only /remind/db has changed since the services' deployments began: api is stale, worker not.
  await seed.parameter(REGION, '/remind/db', 'v1');
  table = await seed.stateTable(REGION, 'remind-state');
  const topic = await seed.topicWithSubscriber(REGION, 'remind-reports');
  reports = topic.queueUrl;
  start = Date.now();
  const settings = readSettings({
    WATCHER_SNS_TOPIC_ARN: topic.topicArn,
    WATCHER_REMIND_EVERY: '1h',
    WATCHER_STATE_TABLE: table,
  });
  const built = buildDeps(settings, { home: REGION });
  // The composition root's reminder store, on the test's clock instead of the wall's.
  const reminders = new ReminderStore(
    { table, region: REGION, clients: built.clients },
    () => new Date(clock),
  );
  deps = { ...built, reminders };
}, 60_000);

describe('reminders across sweeps (WATCHER_REMIND_EVERY=1h)', () => {
  it('tells of a consumer the first time it is seen stale, and remembers it', async () => {
    const { run, published } = await sweepAt(0);
    expect(published).toHaveLength(1);
    expect(listed(published[0])).toEqual(['api']);
    expect(run.report.quiet).toBeUndefined();
    const db = new DynamoDBClient({ region: REGION });
    const item = await db.send(
      new GetItemCommand({
        TableName: table,
        Key: { pk: { S: `remind#${api}` }, sk: { S: 'told' } },
      }),
    );
    db.destroy();
    const body = JSON.parse(item.Item?.body?.S ?? '{}');
    expect(body).toMatchObject({ arn: api, lastTold: new Date(start).toISOString() });
    // It expires a week after the next reminder would be due.
    expect(Number(item.Item?.expiresAt?.N)).toBe(
      Math.ceil((start + 60 * MINUTE + 7 * 1440 * MINUTE) / 1000),
    );
  }, 60_000);

  it('stays quiet on the next sweeps while nothing about it changed', async () => {
    for (const at of [10, 59]) {
      const { run, published } = await sweepAt(at);
      expect(published).toEqual([]);
      expect(run.report.quiet).toBe(1);
      // The run's own report (logs, metrics, the CLI) still has it.
      expect(run.report.consumers.find((c) => c.arn === api)?.stale).toBe(true);
    }
  }, 60_000);

  it('tells of a newly stale consumer alone, counting the quiet one', async () => {
    await pause(1_100);
    await env.seed.parameter(REGION, '/remind/key', 'k1');
    const { published } = await sweepAt(59.5);
    expect(published).toHaveLength(1);
    expect(listed(published[0])).toEqual(['worker']);
    expect(published[0]?.quiet).toBe(1);
  }, 60_000);

  it('tells again when something about it changes (a newer rotation of the value it holds old)', async () => {
    await pause(1_100);
    await env.seed.parameter(REGION, '/remind/db', 'v2');
    const { published } = await sweepAt(59.7);
    expect(listed(published[0])).toEqual(['api']);
    expect(published[0]?.quiet).toBe(1);
  }, 60_000);

  it('reminds once the interval has passed', async () => {
    // api was last told at 59.7 minutes, worker at 59.5: at 119.5 only worker is due.
    const first = await sweepAt(59.5 + 60);
    expect(listed(first.published[0])).toEqual(['worker']);
    expect(first.published[0]?.quiet).toBe(1);
    const { published } = await sweepAt(59.7 + 60);
    expect(listed(published[0])).toEqual(['api']);
    expect((await sweepAt(59.7 + 61)).published).toEqual([]);
  }, 60_000);

  it('does not remember a telling that failed, so the next sweep tells again', async () => {
    const missing = `arn:aws:sns:${REGION}:123456789012:no-such-topic`;
    const failed = await sweepAt(59.7 + 125, { ...deps.settings, snsTopicArn: missing });
    expect(failed.run.notifications.map((n) => n.status)).toEqual(['failed']);
    const { published } = await sweepAt(59.7 + 126);
    expect(listed(published[0])).toEqual(['api', 'worker']);
  }, 60_000);
});
