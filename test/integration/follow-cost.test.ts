// What a follow-up costs, against moto: a record of 10 consumers (7 services in 2 clusters, 3
// standalone tasks) is re-read with one DescribeServices per cluster (10 services a call), one
// ListTasks and one DescribeTasks per service with running tasks, and one DescribeTasks per
// cluster for the tasks (100 a call), never a scan of the account.
import { StopTaskCommand } from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDeps } from '../../lib/compose.js';
import { readSettings } from '../../lib/config.js';
import { parsePayload } from '../../lib/events/index.js';
import { runPipeline } from '../../lib/pipeline.js';
import {
  type FollowDeps,
  followUp,
  type RotationRecord,
  type RotationStore,
} from '../../lib/rotations/index.js';
import { parameterChange } from '../helpers/events.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const REGION = 'us-east-1';
const PARAM = '/cost/db';

let deps: FollowDeps;
let record: RotationRecord;
const tasks: Array<[string, string]> = [];

beforeAll(async () => {
  const { seed } = env;
  await seed.parameter(REGION, PARAM, 'v0');
  const a = await seed.cluster(REGION, 'a');
  const b = await seed.cluster(REGION, 'b');
  const td = await seed.taskDefinition(REGION, 'svc', [{ name: 'app', secrets: { DB: PARAM } }]);
  for (const [cluster, name, count] of [
    [a, 's0', 2],
    [a, 's1', 2],
    [a, 's2', 2],
    [a, 's3', 2],
    [b, 't0', 1],
    [b, 't1', 1],
    [b, 't2', 1],
  ] as const)
    for (const task of (await seed.service(REGION, cluster, name, td, { tasks: count })).tasks)
      tasks.push([cluster, task]);
  for (const cluster of [a, a, b])
    tasks.push([cluster, await seed.standaloneTask(REGION, cluster, td)]);
  const table = await seed.stateTable(REGION, 'cost-state');
  const queue = await seed.queue(REGION, 'cost-follow-ups');
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  await seed.parameter(REGION, PARAM, 'v1');
  const settings = readSettings({ WATCHER_STATE_TABLE: table });
  const pipeline = buildDeps(settings, { home: REGION, queueUrl: queue.url });
  const { clients } = pipeline;
  const store = pipeline.rotations?.store as RotationStore;
  await runPipeline(
    { records: parsePayload(parameterChange(PARAM, { id: 'evt-cost' })) },
    pipeline,
    { apply: true },
  );
  const [opened] = await store.list(`rot#ssm|${REGION}|123456789012|cost/db|AWSCURRENT`);
  record = opened as RotationRecord;
  deps = { clients, store, settings, home: REGION, queueUrl: queue.url };
}, 60_000);

const callsOf = () =>
  Object.fromEntries(
    Object.entries(deps.clients.counter.byApi()).map(([api, count]) => [api, count.calls]),
  );

describe('a follow-up of a record of 10 consumers', () => {
  // Each service's tasks are listed twice: meant to run, and being stopped (those still run).
  it('re-reads only them: 25 ECS calls, 2 reads of the record, the next link named and sent', async () => {
    expect(record.consumers).toHaveLength(10);
    // The link of the record's chain that the delayed message carries.
    const chain = (await deps.store.get(record.pk, record.sk))?.nextLook ?? undefined;
    deps.clients.counter.reset();
    await followUp(record.pk, record.sk, deps, { schedule: true, chain });
    expect(callsOf()).toEqual({
      'ecs:DescribeServices': 2,
      'ecs:ListTasks': 14,
      'ecs:DescribeTasks': 9,
      'dynamodb:GetItem': 2,
      // The record names the chain's next link in the write that records the look.
      'dynamodb:PutItem': 1,
      'sqs:SendMessage': 1,
    });
  }, 60_000);

  it('closes it when they are gone: the stopped tasks described, the record written and taken off the sweep list', async () => {
    const ecs = env.seed.ecs(REGION);
    for (const [cluster, task] of tasks)
      await ecs.send(new StopTaskCommand({ cluster, task, reason: 'by hand' }));
    // The link of the record's chain that the delayed message carries.
    const chain = (await deps.store.get(record.pk, record.sk))?.nextLook ?? undefined;
    deps.clients.counter.reset();
    await followUp(record.pk, record.sk, deps, { schedule: true, chain });
    expect(callsOf()).toEqual({
      'ecs:DescribeServices': 2,
      'ecs:ListTasks': 14,
      // A task stopped within the hour is listed under STOPPED: described to see it is gone.
      'ecs:DescribeTasks': 9,
      'dynamodb:GetItem': 3,
      // The record closed, then noted as told (no channel configured: nothing to tell).
      'dynamodb:PutItem': 2,
      'dynamodb:DeleteItem': 1,
    });
    expect(await deps.store.get(record.pk, record.sk)).toMatchObject({ status: 'complete' });
  }, 60_000);
});
