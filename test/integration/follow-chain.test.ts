// Follow-ups under stress, against moto (ECS, SSM, DynamoDB, SQS, EventBridge): a batch cut at
// its time limit and redelivered leaves exactly one chain of follow-ups per record; follow-ups
// past the run's time limit come back untouched; a record of 5,000 consumers is stored, followed
// up and closed, and its signal fits in an EventBridge event.

import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AwsClients } from '../../lib/aws/index.js';
import { buildDeps } from '../../lib/compose.js';
import { readSettings } from '../../lib/config.js';
import type { Change } from '../../lib/domain/index.js';
import { parsePayload } from '../../lib/events/index.js';
import { type PipelineDeps, runPipeline } from '../../lib/pipeline.js';
import {
  type FollowDeps,
  followUp,
  newRecord,
  type Observation,
  type RotationStore,
} from '../../lib/rotations/index.js';
import { parameterChange, sqsBatch } from '../helpers/events.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const PARAM = '/chain/db/password';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface World {
  cluster: string;
  queue: string;
  signals: string;
  store: RotationStore;
  /** The pipeline's, as the composition root builds them. */
  pipeline: PipelineDeps;
  deps: FollowDeps;
  clients: AwsClients;
}
let world: World;

beforeAll(async () => {
  const { seed } = env;
  await seed.parameter(REGION, PARAM, 'v0');
  const cluster = await seed.cluster(REGION, 'chain');
  const td = await seed.taskDefinition(REGION, 'chain', [{ name: 'app', secrets: { DB: PARAM } }]);
  await seed.standaloneTask(REGION, cluster, td);
  const table = await seed.stateTable(REGION, 'chain-state');
  const queue = (await seed.queue(REGION, 'chain-follow-ups')).url;
  const { bus, queueUrl: signals } = await seed.busWithQueue(
    REGION,
    'chain-bus',
    'rotation-watcher',
  );
  const settings = readSettings({
    WATCHER_EVENT_BUS: bus,
    WATCHER_COMPLETE_DEADLINE: '2h',
    WATCHER_STATE_TABLE: table,
  });
  const pipeline = buildDeps(settings, { home: REGION, queueUrl: queue });
  const { clients } = pipeline;
  const store = pipeline.rotations?.store as RotationStore;
  world = {
    cluster,
    queue,
    signals,
    store,
    clients,
    pipeline,
    deps: { clients, store, settings, home: REGION, queueUrl: queue },
  };
}, 60_000);

describe('one chain of follow-ups per record', () => {
  it('survives a batch cut at its time limit and redelivered', async () => {
    await pause(1_100);
    await env.seed.parameter(REGION, PARAM, 'v1');
    await runPipeline(
      { records: parsePayload(parameterChange(PARAM, { id: 'chain-1' })) },
      world.pipeline,
      { apply: true },
    );
    const [record] = await world.store.list(
      `rot#ssm|${REGION}|${ACCOUNT}|chain/db/password|AWSCURRENT`,
    );
    expect(record?.status).toBe('open');
    const first = record?.nextLook as string;
    expect(first).toBeTruthy();
    expect(await env.seed.delayed(REGION, world.queue)).toBe(1);
    const { pk, sk } = record as { pk: string; sk: string };

    // The first link looks and schedules its successor; then its batch times out, and SQS
    // delivers the same link again, twice at once.
    await followUp(pk, sk, world.deps, { schedule: true, chain: first });
    const second = (await world.store.get(pk, sk))?.nextLook ?? undefined;
    expect(second).toBeTruthy();
    expect(second).not.toBe(first);
    expect(await env.seed.delayed(REGION, world.queue)).toBe(2);
    await Promise.all([
      followUp(pk, sk, world.deps, { schedule: true, chain: first }),
      followUp(pk, sk, world.deps, { schedule: true, chain: first }),
    ]);
    expect(await env.seed.delayed(REGION, world.queue)).toBe(2);
    expect((await world.store.get(pk, sk))?.nextLook).toBe(second);

    // Two copies of the live link at once: each sends a successor before naming it, one names
    // its own; the other's successor finds the record naming another link and stops.
    await Promise.all([
      followUp(pk, sk, world.deps, { schedule: true, chain: second }),
      followUp(pk, sk, world.deps, { schedule: true, chain: second }),
    ]);
    expect(await env.seed.delayed(REGION, world.queue)).toBe(4);
    const named = (await world.store.get(pk, sk))?.nextLook;
    expect(named).not.toBe(second);
    // The one not named: whichever it is, it does nothing.
    await followUp(pk, sk, world.deps, { schedule: true, chain: 'not-the-named-link' });
    expect(await env.seed.delayed(REGION, world.queue)).toBe(4);
    expect((await world.store.get(pk, sk))?.nextLook).toBe(named);

    // A send that fails leaves the chain with the link that tried: its message comes back.
    const failing = { ...world.deps, queueUrl: `${world.queue}-gone` };
    await expect(
      followUp(pk, sk, failing, { schedule: true, chain: named ?? undefined }),
    ).rejects.toThrow();
    expect((await world.store.get(pk, sk))?.nextLook).toBe(named);

    // A follow-up that reaches a run past its time limit comes back, and looks at nothing.
    const third = (await world.store.get(pk, sk))?.nextLook;
    const message = { 'rotation-watcher': 'follow-up', pk, sk, chain: third };
    const late = await runPipeline({ records: parsePayload(sqsBatch(message)) }, world.pipeline, {
      apply: true,
      actBy: Date.now() - 1,
    });
    expect(late.failedRecords).toEqual(['5d1b8a3e-2c4f-4e6a-9b7d-000000000001']);
    expect((await world.store.get(pk, sk))?.nextLook).toBe(third);
    expect(await env.seed.delayed(REGION, world.queue)).toBe(4);
  }, 60_000);
});

describe('a record of 5,000 consumers', () => {
  it('is stored, followed up and closed, and its signal fits in an event', async () => {
    const change: Change = {
      service: 'ssm',
      name: '/chain/many',
      arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/chain/many`,
      partition: 'aws',
      region: REGION,
      account: ACCOUNT,
      operation: 'Update',
      effect: 'value',
      changedAt: new Date(Date.now() - 60_000).toISOString(),
      timeSource: 'aws',
      eventTime: null,
      version: '2',
      versionStage: null,
      versionId: null,
      eventId: 'many',
      detailType: 'Parameter Store Change',
    };
    // Tasks of a real cluster that ECS no longer knows: each has stopped.
    const seen: Observation[] = Array.from({ length: 5_000 }, (_, i) => ({
      // Task ids as random as ECS's (they decide how well the record compresses).
      arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/chain/${createHash('md5').update(String(i)).digest('hex')}`,
      kind: 'ecs-task',
      name: `family:batch-worker ${i}`,
      region: REGION,
      parent: world.cluster,
      staleRuns: 1,
      running: true,
      replacing: false,
      action: 'notify',
    }));
    const opened = { ...newRecord(change, seen, new Date(), 7_200_000), nextLook: 'link-1' };
    const written = await world.store.update(opened.pk, opened.sk, () => ({
      record: opened,
      result: null,
    }));
    expect(written?.record.consumers).toHaveLength(5_000);
    expect((await world.store.get(opened.pk, opened.sk))?.consumers).toHaveLength(5_000);

    world.clients.counter.reset();
    const outcomes = await followUp(opened.pk, opened.sk, world.deps, {
      schedule: true,
      chain: 'link-1',
    });
    expect(outcomes).toContainEqual(
      expect.objectContaining({
        kind: 'eventbridge',
        status: 'done',
        detail: expect.stringMatching(/^Rotation Complete: event /),
      }),
    );
    // 100 tasks a DescribeTasks call.
    expect(world.clients.counter.byApi()['ecs:DescribeTasks']?.calls).toBe(50);
    const closed = await world.store.get(opened.pk, opened.sk);
    expect(closed?.status).toBe('complete');
    expect(closed?.consumers.every((consumer) => consumer.state === 'stopped')).toBe(true);

    const [event] = (await env.seed.drain(REGION, world.signals))
      .map((message) => JSON.parse(message.body))
      .filter((body) => body['detail-type'] === 'Rotation Complete');
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThan(256_000);
    expect(event.detail).toMatchObject({ consumerCount: 5_000, consumersNotListed: 4_600 });
    expect(event.detail.consumers).toHaveLength(400);
  }, 120_000);
});
