// Following a rotation to its end, against moto (ECS, SSM, DynamoDB, SQS, EventBridge): the
// record a run opens, the delayed follow-up it schedules, the consumers replaced by hand, and
// the one `Rotation Complete` event; a deadline that passes; a newer change that supersedes.
import { StopTaskCommand } from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDeps } from '../../lib/compose.js';
import { readSettings } from '../../lib/config.js';
import { parsePayload } from '../../lib/events/index.js';
import { COMPLETE_DETAIL_TYPE, OVERDUE_DETAIL_TYPE } from '../../lib/notify/index.js';
import { type PipelineDeps, runPipeline } from '../../lib/pipeline.js';
import { followUp, type RotationStore } from '../../lib/rotations/index.js';
import { startSlackStub } from '../../scripts/slack-stub.js';
import { cli } from '../helpers/cli.js';
import { parameterChange } from '../helpers/events.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const REGION = 'us-east-1';
const PARAM = '/follow/db/password';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface World {
  cluster: string;
  service: string[];
  standalone: string;
  followUps: string;
  signals: string;
  deps: PipelineDeps;
  store: RotationStore;
}
let world: World;

async function signalsReceived(): Promise<Array<Record<string, unknown>>> {
  // The bus also carries each run's report (`Rotation Watcher Run`).
  const messages = await env.seed.drain(REGION, world.signals);
  return messages
    .map((message) => JSON.parse(message.body))
    .filter((event) => event['detail-type'] !== 'Rotation Watcher Run');
}

/** What the delayed message the watcher sent for the record says: the current link of its chain. */
async function link(pk: string, sk: string) {
  const chain = (await world.store.get(pk, sk))?.nextLook;
  return { schedule: true, ...(chain ? { chain } : {}) };
}

async function delayedFollowUps(): Promise<number> {
  return env.seed.delayed(REGION, world.followUps);
}

async function rotate(id: string) {
  await pause(1_100);
  await env.seed.parameter(REGION, PARAM, `value-${id}`);
  const records = parsePayload(parameterChange(PARAM, { id }));
  return runPipeline({ records }, world.deps, { apply: true });
}

beforeAll(async () => {
  const { seed } = env;
  await seed.parameter(REGION, PARAM, 'value-0');
  const cluster = await seed.cluster(REGION, 'follow');
  const td = await seed.taskDefinition(REGION, 'api', [{ name: 'app', secrets: { DB: PARAM } }]);
  const service = await seed.service(REGION, cluster, 'api', td, { tasks: 2 });
  const standalone = await seed.standaloneTask(REGION, cluster, td);
  const table = await seed.stateTable(REGION, 'follow-state');
  const followUps = (await seed.queue(REGION, 'follow-ups')).url;
  const { bus, queueUrl: signals } = await seed.busWithQueue(REGION, 'signals', 'rotation-watcher');
  const settings = readSettings({
    WATCHER_EVENT_BUS: bus,
    WATCHER_COMPLETE_DEADLINE: '2h',
    WATCHER_STATE_TABLE: table,
  });
  const deps = buildDeps(settings, { home: REGION, queueUrl: followUps });
  world = {
    cluster,
    service: service.tasks,
    standalone,
    followUps,
    signals,
    store: deps.rotations?.store as RotationStore,
    deps,
  };
}, 60_000);

describe('a rotation followed to completion', () => {
  let pk = '';
  let sk = '';

  it('opens a record of the consumers on the old value and schedules a follow-up', async () => {
    const run = await rotate('evt-1');
    expect(run.failedRecords).toEqual([]);
    const change = run.result.changes[0];
    expect(change?.timeSource).toBe('aws');
    const [record] = await world.store.list(
      `rot#ssm|${REGION}|123456789012|follow/db/password|AWSCURRENT`,
    );
    expect(record?.status).toBe('open');
    expect(record?.value).toMatchObject({ name: PARAM, version: change?.version });
    expect(record?.consumers.map((consumer) => [consumer.kind, consumer.state]).sort()).toEqual([
      ['ecs-service', 'stale'],
      ['ecs-task', 'stale'],
    ]);
    pk = record?.pk as string;
    sk = record?.sk as string;
    expect(await delayedFollowUps()).toBe(1);
    expect(await signalsReceived()).toEqual([]);
    // A redelivery and a sweep update the record; neither starts a second chain of follow-ups.
    await runPipeline(
      { records: parsePayload(parameterChange(PARAM, { id: 'evt-1' })) },
      world.deps,
      {
        apply: true,
      },
    );
    await runPipeline({ sweep: true }, world.deps, { apply: true });
    expect(await delayedFollowUps()).toBe(1);
    expect((await world.store.list(pk)).map((other) => other.sk)).toEqual([sk]);
  }, 60_000);

  it('stays open while any consumer holds the old value, counting only their calls', async () => {
    const ecs = env.seed.ecs(REGION);
    await ecs.send(new StopTaskCommand({ cluster: world.cluster, task: world.standalone }));
    world.deps.clients.counter.reset();
    await followUp(pk, sk, followDepsOf(), await link(pk, sk));
    const record = await world.store.get(pk, sk);
    expect(record?.status).toBe('open');
    expect(
      Object.fromEntries(
        record?.consumers.map((consumer) => [consumer.kind, consumer.state]) ?? [],
      ),
    ).toEqual({ 'ecs-service': 'stale', 'ecs-task': 'stopped' });
    // One service (DescribeServices, ListTasks, DescribeTasks) and one task (DescribeTasks).
    const calls = world.deps.clients.counter.byApi();
    expect(
      Object.keys(calls)
        .filter((api) => api.startsWith('ecs:'))
        .sort(),
    ).toEqual(['ecs:DescribeServices', 'ecs:DescribeTasks', 'ecs:ListTasks']);
    expect(await delayedFollowUps()).toBe(2);
  }, 60_000);

  it('is complete once the last one is replaced, and says so once', async () => {
    const ecs = env.seed.ecs(REGION);
    for (const task of world.service)
      await ecs.send(new StopTaskCommand({ cluster: world.cluster, task, reason: 'by hand' }));
    const both = await link(pk, sk);
    await Promise.all([
      followUp(pk, sk, followDepsOf(), both),
      followUp(pk, sk, followDepsOf(), both),
    ]);
    await followUp(pk, sk, followDepsOf(), await link(pk, sk));
    const record = await world.store.get(pk, sk);
    expect(record?.status).toBe('complete');
    const signals = await signalsReceived();
    expect(signals.map((event) => event['detail-type'])).toEqual([COMPLETE_DETAIL_TYPE]);
    expect(signals[0]).toMatchObject({
      source: 'rotation-watcher',
      detail: {
        value: { name: PARAM },
        status: 'complete',
        consumers: expect.arrayContaining([
          expect.objectContaining({ kind: 'ecs-task', state: 'stopped' }),
          expect.objectContaining({ kind: 'ecs-service', state: 'stopped' }),
        ]),
      },
    });
    expect(await delayedFollowUps()).toBe(2);
  }, 60_000);
});

describe('a rotation that is not complete by its deadline', () => {
  it('is overdue, names who still holds the old value, and a newer change supersedes the open one', async () => {
    const { seed } = env;
    const td = await seed.taskDefinition(REGION, 'worker', [
      { name: 'app', secrets: { DB: PARAM } },
    ]);
    await seed.standaloneTask(REGION, world.cluster, td);
    const first = await rotate('evt-2');
    const change = first.result.changes[0];
    const records = await world.store.list(
      `rot#ssm|${REGION}|123456789012|follow/db/password|AWSCURRENT`,
    );
    const open = records.find((record) => record.value.version === change?.version);
    expect(open?.status).toBe('open');

    // Three hours later (the deadline is 2 h): overdue.
    const later = new Date(Date.now() + 3 * 3_600_000);
    await followUp(
      open?.pk as string,
      open?.sk as string,
      { ...followDepsOf(), now: () => later },
      await link(open?.pk as string, open?.sk as string),
    );
    const overdue = await world.store.get(open?.pk as string, open?.sk as string);
    expect(overdue?.status).toBe('overdue');
    expect(overdue?.consumers.map((consumer) => consumer.state)).toEqual(['stale-at-deadline']);
    const signals = await signalsReceived();
    expect(signals.map((event) => event['detail-type'])).toEqual([OVERDUE_DETAIL_TYPE]);

    // A newer change while another record is open supersedes it.
    await seed.standaloneTask(REGION, world.cluster, td);
    const second = await rotate('evt-3');
    const third = await rotate('evt-4');
    const byVersion = new Map(
      (await world.store.list(`rot#ssm|${REGION}|123456789012|follow/db/password|AWSCURRENT`)).map(
        (record) => [record.value.version, record],
      ),
    );
    const older = byVersion.get(second.result.changes[0]?.version as string);
    const newer = byVersion.get(third.result.changes[0]?.version as string);
    expect(older).toMatchObject({ status: 'superseded', supersededBy: newer?.sk });
    expect(newer).toMatchObject({ status: 'open', supersedes: older?.sk });
  }, 60_000);
});

describe('the sweep', () => {
  it('opens no record for a value no event told of, however old its last change', async () => {
    const { seed } = env;
    await seed.parameter(REGION, '/follow/quiet', 'never-rotated');
    const td = await seed.taskDefinition(REGION, 'quiet', [
      { name: 'app', secrets: { DB: '/follow/quiet' } },
    ]);
    await seed.standaloneTask(REGION, world.cluster, td);
    await runPipeline({ sweep: true }, world.deps, { apply: true });
    expect(
      await world.store.list(`rot#ssm|${REGION}|123456789012|follow/quiet|AWSCURRENT`),
    ).toEqual([]);
    expect(await signalsReceived()).toEqual([]);
  }, 60_000);
});

describe('the sweep and the records no follow-up brings back', () => {
  it('closes a record whose consumers stopped while no event or follow-up came, and tells once every channel takes it', async () => {
    const { seed } = env;
    const name = '/follow/orphan';
    await seed.parameter(REGION, name, 'o0');
    const td = await seed.taskDefinition(REGION, 'orphan', [{ name: 'app', secrets: { K: name } }]);
    const task = await seed.standaloneTask(REGION, world.cluster, td);
    await pause(1_100);
    await seed.parameter(REGION, name, 'o1');
    // No queue: nothing follows this record up but the sweep.
    const deps = { ...world.deps, rotations: { store: world.store, queueUrl: null } };
    await runPipeline({ records: parsePayload(parameterChange(name, { id: 'evt-o' })) }, deps, {
      apply: true,
    });
    const pk = `rot#ssm|${REGION}|123456789012|follow/orphan|AWSCURRENT`;
    const [opened] = await world.store.list(pk);
    expect(opened?.status).toBe('open');
    expect(await world.store.tracked()).toContainEqual({ pk, sk: opened?.sk });
    // A run that stopped between writing the record and listing it: the redelivery lists it.
    await world.store.untrack(pk, opened?.sk as string);
    await runPipeline({ records: parsePayload(parameterChange(name, { id: 'evt-o' })) }, deps, {
      apply: true,
    });
    expect(await world.store.tracked()).toContainEqual({ pk, sk: opened?.sk });

    // Stopped by hand: no running consumer references the value any more, so no sweep sees it
    // as a change; the sweep finds the record on its list. Slack is down for this sweep.
    await seed.ecs(REGION).send(new StopTaskCommand({ cluster: world.cluster, task }));
    const stub = await startSlackStub();
    try {
      stub.replies.push({ status: 500 }, { status: 500 }, { status: 500 });
      const slack = { ...deps, settings: { ...deps.settings, slackWebhookUrl: stub.url } };
      const noWait = { ...slack, slack: { sleep: async () => {} } };
      const swept = await runPipeline({ sweep: true }, noWait, { apply: true });
      const closed = await world.store.get(pk, opened?.sk as string);
      expect(closed).toMatchObject({ status: 'complete', signalled: null, told: ['eventbridge'] });
      expect(swept.report.actions).toContainEqual(
        expect.objectContaining({ kind: 'slack', status: 'failed' }),
      );
      expect((await signalsReceived()).map((e) => e['detail-type'])).toEqual([
        COMPLETE_DETAIL_TYPE,
      ]);
      // Still listed: the next sweep tells again, though not within 10 minutes of the closing.
      expect(await world.store.tracked()).toContainEqual({ pk, sk: opened?.sk });
      await runPipeline({ sweep: true }, noWait, { apply: true });
      // The sweeps' own reports go to Slack too; the signal is a message of its own.
      const signalled = () =>
        stub.received.filter((message) =>
          (message as { text?: string }).text?.startsWith('Rotation complete'),
        );
      expect(signalled()).toEqual([]);
      const later = new Date(Date.now() + 11 * 60_000);
      await runPipeline({ sweep: true }, { ...noWait, now: () => later }, { apply: true });
      expect(signalled()).toHaveLength(1);
      expect(JSON.stringify(signalled()[0])).toContain('follow/orphan');
      // Only the channel that refused is told again: the bus took it the first time.
      expect(await signalsReceived()).toEqual([]);
      expect(await world.store.get(pk, opened?.sk as string)).toMatchObject({
        signalled: later.toISOString(),
        told: ['eventbridge', 'slack'],
      });
      expect(await world.store.tracked()).not.toContainEqual({ pk, sk: opened?.sk });
      await runPipeline({ sweep: true }, { ...noWait, now: () => later }, { apply: true });
      expect(signalled()).toHaveLength(1);
    } finally {
      await stub.stop();
    }
  }, 60_000);
});

describe('rotation-watcher status', () => {
  it('lists the value’s records from the state table, newest first', async () => {
    const json = await cli(['status', PARAM, '--region', REGION, '--json'], undefined, undefined, {
      WATCHER_STATE_TABLE: 'follow-state',
    });
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.source).toBe('table');
    const statuses = out.records.map((record: { status: string }) => record.status);
    expect(statuses).toEqual(['open', 'superseded', 'overdue', 'complete']);
    const text = await cli(['status', PARAM, '--region', REGION], undefined, undefined, {
      WATCHER_STATE_TABLE: 'follow-state',
    });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/CHANGED\s+VERSION\s+STATUS\s+HOLDING OLD/);
    expect(text.stdout).toContain('complete');
  }, 60_000);

  it("reads the stack's table in its own region when WATCHER_STATE_TABLE is its ARN", async () => {
    // Asked about the value by ARN while scanning another region: the table is in us-east-1.
    const arn = `arn:aws:ssm:${REGION}:123456789012:parameter${PARAM}`;
    const json = await cli(
      ['status', arn, '--region', 'us-west-2', '--json'],
      undefined,
      undefined,
      {
        WATCHER_STATE_TABLE: `arn:aws:dynamodb:${REGION}:123456789012:table/follow-state`,
      },
    );
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).records).toHaveLength(4);
  }, 60_000);

  it('answers live without a state table', async () => {
    const live = await cli(['status', PARAM, '--region', REGION]);
    expect(live.code).toBe(0);
    expect(live.stdout).toMatch(
      /no state table \(WATCHER_STATE_TABLE\), so no records; live: changed /,
    );
  }, 60_000);
});

function followDepsOf() {
  const { clients, settings, home, rotations } = world.deps;
  return {
    clients,
    settings,
    home,
    store: rotations?.store as RotationStore,
    queueUrl: rotations?.queueUrl ?? null,
  };
}
