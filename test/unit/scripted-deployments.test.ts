// What the scripted account answers as its clock moves a scripted deployment or job on: each
// step at its own time, read through the real SDK clients.
import {
  BatchClient,
  DescribeJobsCommand,
  ListJobsCommand,
  SubmitJobCommand,
  TerminateJobCommand,
} from '@aws-sdk/client-batch';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type DeploymentScript,
  emptyAccount,
  type JobScript,
  type ScriptedAccount,
  type ScriptedServer,
  serveScripted,
} from '../support/account/index.js';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const SECOND = 1000;
const HOUR = 3600 * SECOND;
const PULL_FAILURE = /^ResourceInitializationError: unable to pull secrets or registry auth: /;

/** Service `web` in `prod`, two tasks of `web:1` from a completed deployment an hour old. */
function account(onDeploy?: DeploymentScript | DeploymentScript[]): ScriptedAccount {
  const a = emptyAccount(NOW);
  a.clusters = ['prod'];
  a.taskDefinitions = [1, 2].map((revision) => ({ family: 'web', revision, secrets: [] }));
  a.services = [
    {
      cluster: 'prod',
      name: 'web',
      status: 'ACTIVE',
      desiredCount: 2,
      deployments: [
        {
          id: 'ecs-svc/1',
          status: 'PRIMARY',
          rolloutState: 'COMPLETED',
          createdAt: NOW - HOUR,
          updatedAt: NOW - HOUR,
          taskDefinition: 'web:1',
        },
      ],
      ...(onDeploy ? { onDeploy } : {}),
    },
  ];
  a.tasks = ['old-1', 'old-2'].map((id) => ({
    cluster: 'prod',
    id,
    taskDefinition: 'web:1',
    group: 'service:web',
    startedBy: 'ecs-svc/1',
    createdAt: NOW - HOUR,
    startedAt: NOW - HOUR,
    lastStatus: 'RUNNING' as const,
    desiredStatus: 'RUNNING' as const,
  }));
  a.jobQueues = [{ name: 'jobs' }];
  a.jobDefinitions = [{ name: 'nightly', revision: 1, secrets: [] }];
  return a;
}

let model: ScriptedAccount;
let server: ScriptedServer;
let ecs: ECSClient;
let batch: BatchClient;

async function serve(a: ScriptedAccount) {
  model = a;
  server = await serveScripted(model);
  const config = {
    region: 'us-east-1',
    endpoint: server.endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  };
  ecs = new ECSClient(config);
  batch = new BatchClient(config);
}
afterEach(async () => {
  ecs.destroy();
  batch.destroy();
  await server.stop();
});

const at = (seconds: number) => new Date(NOW + seconds * SECOND);

/** Moves the account's clock to `seconds` after NOW. */
const clock = (seconds: number) => {
  model.now = NOW + seconds * SECOND;
};

const redeploy = (taskDefinition?: string) =>
  ecs.send(
    new UpdateServiceCommand({
      cluster: 'prod',
      service: 'web',
      forceNewDeployment: true,
      ...(taskDefinition ? { taskDefinition } : {}),
    }),
  );

async function deployments() {
  const reply = await ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['web'] }));
  const service = reply.services?.[0];
  return { service, list: service?.deployments ?? [] };
}

/** Every task of the service, whether meant to run or stopped, by the deployment that started it. */
async function tasks() {
  const arns: string[] = [];
  for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
    const listed = await ecs.send(
      new ListTasksCommand({ cluster: 'prod', serviceName: 'web', desiredStatus }),
    );
    arns.push(...(listed.taskArns ?? []));
  }
  const reply = await ecs.send(new DescribeTasksCommand({ cluster: 'prod', tasks: arns }));
  const all = reply.tasks ?? [];
  return {
    of: (deploymentId: string | undefined) => all.filter((t) => t.startedBy === deploymentId),
    all,
  };
}

const statuses = (list: Array<{ lastStatus?: string; desiredStatus?: string }>) =>
  list.map((t) => `${t.lastStatus}/${t.desiredStatus}`);

describe('a scripted deployment that completes', () => {
  beforeEach(() => serve(account({ kind: 'complete', after: 60, drain: 30 })));

  it('launches new tasks, runs them after `after`, drains the old ones, then completes', async () => {
    const started = await redeploy();
    const id = started.service?.deployments?.[0]?.id;
    // At once: the new tasks are PENDING beside the old ones.
    let { list, service } = await deployments();
    expect(list.map((d) => [d.id, d.status, d.rolloutState])).toEqual([
      [id, 'PRIMARY', 'IN_PROGRESS'],
      ['ecs-svc/1', 'ACTIVE', 'COMPLETED'],
    ]);
    expect([list[0]?.pendingCount, list[0]?.runningCount, list[1]?.runningCount]).toEqual([
      2, 0, 2,
    ]);
    let seen = await tasks();
    expect(statuses(seen.of(id))).toEqual(['PENDING/RUNNING', 'PENDING/RUNNING']);
    expect(seen.of(id).map((t) => [t.createdAt, t.startedAt])).toEqual([
      [at(0), undefined],
      [at(0), undefined],
    ]);

    clock(59);
    expect(statuses((await tasks()).of(id))).toEqual(['PENDING/RUNNING', 'PENDING/RUNNING']);

    // At `after`: the new tasks run, the old ones stop (their containers' stop timeout).
    clock(60);
    ({ list, service } = await deployments());
    expect(list[0]).toMatchObject({
      rolloutState: 'IN_PROGRESS',
      runningCount: 2,
      updatedAt: at(60),
    });
    expect(list[1]).toMatchObject({ status: 'ACTIVE', runningCount: 0, desiredCount: 0 });
    seen = await tasks();
    expect(seen.of(id).map((t) => [t.lastStatus, t.createdAt, t.startedAt])).toEqual([
      ['RUNNING', at(0), at(60)],
      ['RUNNING', at(0), at(60)],
    ]);
    expect(statuses(seen.of('ecs-svc/1'))).toEqual(['STOPPING/STOPPED', 'STOPPING/STOPPED']);
    expect(seen.of('ecs-svc/1')[0]?.stoppingAt).toEqual(at(60));

    // `drain` later: the old tasks have stopped, the old deployment is INACTIVE, the rollout done.
    clock(90);
    ({ list, service } = await deployments());
    expect(list.map((d) => [d.status, d.rolloutState, d.updatedAt])).toEqual([
      ['PRIMARY', 'COMPLETED', at(90)],
      ['INACTIVE', 'COMPLETED', at(90)],
    ]);
    expect(list[0]?.rolloutStateReason).toBe(`ECS deployment ${id} completed.`);
    expect(service?.runningCount).toBe(2);
    const old = (await tasks()).of('ecs-svc/1');
    expect(old.map((t) => [t.lastStatus, t.stoppedAt, t.stopCode])).toEqual([
      ['STOPPED', at(90), 'ServiceSchedulerInitiated'],
      ['STOPPED', at(90), 'ServiceSchedulerInitiated'],
    ]);
    expect(old[0]?.stoppedReason).toBe(`Scaling activity initiated by (deployment ${id})`);
  });

  it('stamps each step with its own time when the clock jumps past several', async () => {
    await redeploy();
    clock(3600);
    const { list } = await deployments();
    expect(list[0]).toMatchObject({ rolloutState: 'COMPLETED', updatedAt: at(90) });
    expect((await tasks()).of(list[0]?.id).map((t) => t.startedAt)).toEqual([at(60), at(60)]);
  });

  it('abandons a deployment a newer one replaced, whose rollout drains its tasks', async () => {
    const first = (await redeploy()).service?.deployments?.[0]?.id;
    clock(30);
    const second = (await redeploy()).service?.deployments?.[0]?.id;
    clock(120);
    const { list } = await deployments();
    expect(list.map((d) => [d.id, d.status, d.rolloutState])).toEqual([
      [second, 'PRIMARY', 'COMPLETED'],
      [first, 'INACTIVE', 'IN_PROGRESS'],
      ['ecs-svc/1', 'INACTIVE', 'COMPLETED'],
    ]);
    const seen = await tasks();
    // The first one's tasks never ran: told to stop at the second's `after`, stopped a drain later.
    expect(seen.of(first).map((t) => [t.lastStatus, t.startedAt, t.stoppedAt])).toEqual([
      ['STOPPED', undefined, at(120)],
      ['STOPPED', undefined, at(120)],
    ]);
    expect(statuses(seen.of(second))).toEqual(['RUNNING/RUNNING', 'RUNNING/RUNNING']);
  });
});

describe('a scripted deployment that fails', () => {
  const stoppedReason =
    'ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve ' +
    'secret from asm: AccessDeniedException';
  beforeEach(() =>
    serve(account({ kind: 'fail', after: 120, stoppedReason, reason: 'tasks failed to start.' })),
  );

  it('stops the new tasks with the reason and fails the rollout; the old tasks keep running', async () => {
    const id = (await redeploy('web:2')).service?.deployments?.[0]?.id;
    clock(119);
    expect((await deployments()).list[0]?.rolloutState).toBe('IN_PROGRESS');

    clock(120);
    const { list, service } = await deployments();
    expect(list[0]).toMatchObject({
      id,
      status: 'PRIMARY',
      rolloutState: 'FAILED',
      rolloutStateReason: 'tasks failed to start.',
      failedTasks: 2,
      runningCount: 0,
      updatedAt: at(120),
    });
    expect(list[1]).toMatchObject({ status: 'ACTIVE', runningCount: 2 });
    expect(service?.runningCount).toBe(2);
    const seen = await tasks();
    expect(
      seen.of(id).map((t) => [t.lastStatus, t.desiredStatus, t.stopCode, t.stoppedAt]),
    ).toEqual([
      ['STOPPED', 'STOPPED', 'TaskFailedToStart', at(120)],
      ['STOPPED', 'STOPPED', 'TaskFailedToStart', at(120)],
    ]);
    expect(seen.of(id)[0]?.stoppedReason).toBe(stoppedReason);
    expect(seen.of(id)[0]?.taskDefinitionArn).toMatch(/task-definition\/web:2$/);
    expect(statuses(seen.of('ecs-svc/1'))).toEqual(['RUNNING/RUNNING', 'RUNNING/RUNNING']);

    // A FAILED deployment launches nothing more.
    clock(3600);
    expect((await tasks()).all).toHaveLength(4);
    expect((await deployments()).list[0]?.updatedAt).toEqual(at(120));
  });
});

describe('a scripted deployment the circuit breaker rolls back', () => {
  beforeEach(() => serve(account({ kind: 'rollback', after: 60, completeAfter: 45, drain: 30 })));

  it('fails, then a new PRIMARY deployment of the previous definition completes', async () => {
    const failed = (await redeploy('web:2')).service?.deployments?.[0]?.id;
    clock(60);
    let { list } = await deployments();
    const rollback = list[0]?.id;
    expect(list.map((d) => [d.id, d.status, d.rolloutState])).toEqual([
      [rollback, 'PRIMARY', 'IN_PROGRESS'],
      [failed, 'ACTIVE', 'FAILED'],
      ['ecs-svc/1', 'ACTIVE', 'COMPLETED'],
    ]);
    expect(list[0]?.taskDefinition).toMatch(/task-definition\/web:1$/);
    expect(list[0]?.createdAt).toEqual(at(60));
    expect(list[0]?.rolloutStateReason).toBe(
      'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.',
    );
    expect(list[1]?.failedTasks).toBe(2);
    let seen = await tasks();
    expect(seen.of(failed)[0]?.stoppedReason).toMatch(PULL_FAILURE);
    expect(statuses(seen.of(rollback))).toEqual(['PENDING/RUNNING', 'PENDING/RUNNING']);

    // The rollback replaces the tasks as any deployment does: new tasks of web:1, created after
    // the change that was rolled back.
    clock(60 + 45 + 30);
    ({ list } = await deployments());
    expect(list.map((d) => [d.status, d.rolloutState])).toEqual([
      ['PRIMARY', 'COMPLETED'],
      ['INACTIVE', 'FAILED'],
      ['INACTIVE', 'COMPLETED'],
    ]);
    expect(list[0]?.updatedAt).toEqual(at(135));
    seen = await tasks();
    expect(seen.of(rollback).map((t) => [t.lastStatus, t.createdAt, t.startedAt])).toEqual([
      ['RUNNING', at(60), at(105)],
      ['RUNNING', at(60), at(105)],
    ]);
    expect(seen.of(rollback)[0]?.taskDefinitionArn).toMatch(/task-definition\/web:1$/);
    expect(statuses(seen.of('ecs-svc/1'))).toEqual(['STOPPED/STOPPED', 'STOPPED/STOPPED']);
  });
});

describe.each([
  ['a stalling script', { kind: 'stall' } as const],
  ['no script', undefined],
])('a deployment with %s', (_, script) => {
  beforeEach(() => serve(account(script)));

  it('stays IN_PROGRESS with its updatedAt frozen and launches nothing', async () => {
    await redeploy();
    clock(6 * 3600);
    const { list } = await deployments();
    expect(list[0]).toMatchObject({
      status: 'PRIMARY',
      rolloutState: 'IN_PROGRESS',
      updatedAt: at(0),
      runningCount: 0,
    });
    expect(list[1]).toMatchObject({ status: 'ACTIVE', runningCount: 2 });
    expect(statuses((await tasks()).all)).toEqual(['RUNNING/RUNNING', 'RUNNING/RUNNING']);
  });
});

describe('a queue of deployment scripts', () => {
  beforeEach(() =>
    serve(
      account([
        { kind: 'fail', after: 60 },
        { kind: 'complete', after: 60 },
      ]),
    ),
  );

  it('gives each deployment the next script and the last one to all that follow', async () => {
    await redeploy();
    clock(60);
    expect((await deployments()).list[0]?.rolloutState).toBe('FAILED');
    for (const start of [100, 300]) {
      clock(start);
      await redeploy();
      clock(start + 90);
      expect((await deployments()).list[0]?.rolloutState).toBe('COMPLETED');
    }
  });
});

describe('a scripted Batch job', () => {
  const submit = async (script?: JobScript) => {
    const a = account();
    if (script)
      a.jobDefinitions = [{ name: 'nightly', revision: 1, secrets: [], onSubmit: script }];
    await serve(a);
    const reply = await batch.send(
      new SubmitJobCommand({ jobName: 'nightly', jobQueue: 'jobs', jobDefinition: 'nightly' }),
    );
    return reply.jobId as string;
  };
  const describeJob = async (id: string) =>
    (await batch.send(new DescribeJobsCommand({ jobs: [id] }))).jobs?.[0];

  it('that succeeds waits RUNNABLE, runs at `runningAfter` and succeeds at `endsAfter`', async () => {
    const id = await submit({ kind: 'succeed', runningAfter: 30, endsAfter: 300 });
    expect(await describeJob(id)).toMatchObject({ status: 'RUNNABLE', createdAt: NOW });
    clock(29);
    expect((await describeJob(id))?.startedAt).toBeUndefined();
    clock(30);
    expect(await describeJob(id)).toMatchObject({
      status: 'RUNNING',
      startedAt: NOW + 30 * SECOND,
    });
    const running = await batch.send(new ListJobsCommand({ jobQueue: 'jobs' }));
    expect(running.jobSummaryList?.map((job) => job.jobId)).toEqual([id]);
    clock(300);
    const done = await describeJob(id);
    expect(done).toMatchObject({
      status: 'SUCCEEDED',
      stoppedAt: NOW + 300 * SECOND,
      statusReason: 'Essential container in task exited',
      container: { exitCode: 0 },
    });
    expect(done?.attempts).toHaveLength(1);
    const succeeded = await batch.send(
      new ListJobsCommand({ jobQueue: 'jobs', jobStatus: 'SUCCEEDED' }),
    );
    expect(succeeded.jobSummaryList?.[0]).toMatchObject({ jobId: id, container: { exitCode: 0 } });
  });

  it('that fails after running ends FAILED with its statusReason and exit code 1', async () => {
    const statusReason = 'Essential container in task exited';
    const id = await submit({ kind: 'fail', runningAfter: 10, endsAfter: 40, statusReason });
    clock(39);
    expect((await describeJob(id))?.status).toBe('RUNNING');
    clock(40);
    expect(await describeJob(id)).toMatchObject({
      status: 'FAILED',
      statusReason,
      startedAt: NOW + 10 * SECOND,
      stoppedAt: NOW + 40 * SECOND,
      container: { exitCode: 1 },
    });
  });

  it('that fails before running never starts and says why', async () => {
    const id = await submit({ kind: 'fail', endsAfter: 20 });
    clock(20);
    const job = await describeJob(id);
    expect(job).toMatchObject({ status: 'FAILED', stoppedAt: NOW + 20 * SECOND });
    expect(job?.statusReason).toMatch(PULL_FAILURE);
    expect(job?.startedAt).toBeUndefined();
    expect(job?.container?.exitCode).toBeUndefined();
  });

  it('that is terminated moves on no further', async () => {
    const id = await submit({ kind: 'succeed', runningAfter: 30, endsAfter: 300 });
    clock(10);
    await batch.send(new TerminateJobCommand({ jobId: id, reason: 'replaced' }));
    clock(600);
    const job = await describeJob(id);
    expect(job?.status).toBe('FAILED');
    expect(job?.startedAt).toBeUndefined();
  });

  it('without a script stays SUBMITTED, as before scripts existed', async () => {
    const id = await submit();
    clock(3600);
    expect((await describeJob(id))?.status).toBe('SUBMITTED');
  });
});
