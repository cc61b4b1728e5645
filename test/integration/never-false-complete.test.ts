// The headline promise, as a property over generated timelines: the watcher never says
// "complete" while a running container may hold the value from before the change. A pipeline
// revokes the old credential on that word, so a false "complete" is the worst defect it can have.
//
// Each case is an account on the scripted account (ECS, Batch, SSM and Secrets Manager served to
// the real SDK clients over HTTP; the rotation records in moto's DynamoDB, the signals on moto's
// default event bus) that moves through a few phases: the first look, then the account moving on
// (tasks being stopped, stopped or replaced, rollouts beginning, completing, failing or stalling,
// jobs starting and finishing, a rotation finishing or a new one starting), some phases with a
// call that fails. At every phase:
// - `rotation-watcher wait NAME [--secret]` (one check) exits 0 only when the oracle says no
//   container may hold the old value and nothing is in progress, and never when a call failed;
// - the pipeline (first for the event that announced the change, then follow-ups for each open
//   record) closes no record complete, and tells no `Rotation Complete`, unless the oracle says
//   no container may hold a value older than the record's version, and never on a failed call.
// The oracle is written here, from the account and what the test knows of it (when a secret's
// AWSCURRENT really moved, which AWS does not report), and errs on "may hold the old value":
// an ECS task may hold it until its last status is STOPPED (being stopped is still running)
// when it was created before the change or says nothing of when; a Batch job (or array child)
// when it is STARTING or RUNNING and was created before the change, unless it was seen not yet
// started after the change (then it fetched after it).
// Controls: when nothing may hold the old value by what AWS shows (creation times) and every call
// was answered, wait exits 0, and after a last phase that replaced everything the record is
// complete; minimum counts of both are asserted, so the property cannot pass by never saying
// complete. FALSE_COMPLETE_RUNS sets the number of cases (40; the second describe runs half).

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { readSettings } from '../../lib/config.js';
import { DefinitionCache, discover } from '../../lib/discovery/index.js';
import type { Outcome } from '../../lib/domain/index.js';
import { parsePayload } from '../../lib/events/index.js';
import { type PipelineDeps, runPipeline } from '../../lib/pipeline.js';
import {
  changeOf,
  type FollowDeps,
  followUp,
  observationsOf,
  type RotationRecord,
  RotationStore,
  recordPk,
} from '../../lib/rotations/index.js';
import { tableMoves } from '../../lib/state/moves.js';
import { type Moto, startMoto } from '../../scripts/moto.js';
import { Seeder } from '../../scripts/seed.js';
import { cli } from '../helpers/cli.js';
import { parameterChange, sqsBatch } from '../helpers/events.js';
import { useScriptedAccount } from '../helpers/scripted.js';
import {
  emptyAccount,
  type ScriptedAccount,
  type ScriptedDeployment,
  type ScriptedFault,
  type ScriptedJob,
  type ScriptedService,
  type ScriptedTask,
} from '../support/account/index.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** When the value that consumers read really changed (a secret's AWSCURRENT moved). */
const CHANGE = Date.parse('2026-11-20T12:00:00Z');
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const RUNS = Number(process.env.FALSE_COMPLETE_RUNS ?? 40);
/**
 * FALSE_COMPLETE_SEED (and FALSE_COMPLETE_PATH) replay a run: fast-check prints both with a
 * counterexample.
 */
const SEED = process.env.FALSE_COMPLETE_SEED ? Number(process.env.FALSE_COMPLETE_SEED) : undefined;
const PATH = process.env.FALSE_COMPLETE_PATH;
const replay = {
  ...(SEED === undefined ? {} : { seed: SEED }),
  ...(PATH ? { path: PATH, endOnFailure: true } : {}),
};
const at = (minutes: number) => CHANGE + minutes * MINUTE;
const rel = (ms: number | undefined) =>
  ms === undefined
    ? 'unknown'
    : `${(ms - CHANGE) / MINUTE >= 0 ? '+' : ''}${(ms - CHANGE) / MINUTE}m`;

// ---------------------------------------------------------------------------------------------
// What a case is made of.

/** `arbitrary` once in `every` cases, else null (fc.option's `freq` is the odds of null). */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: fc.constant(null), weight: every - 1 }, { arbitrary, weight: 1 });

/** Minutes from the change: long before, just before, at, just after, long after. */
const offset = fc.constantFrom(-120, -20, -3, -1, 0, 1, 20);
const beingStopped = fc.constantFrom<ScriptedTask['lastStatus']>(
  'RUNNING',
  'DEACTIVATING',
  'STOPPING',
  'STOPPED',
);
const taskPlan = fc.record({
  /** null: AWS gave no createdAt. */
  created: fc.option(offset, { freq: 8 }),
  /** Minutes from creation to RUNNING (a task created before the change may start after it). */
  startedAfter: fc.constantFrom(0, 2, 30),
  status: fc.constantFrom<ScriptedTask['lastStatus']>(
    'PROVISIONING',
    'PENDING',
    'ACTIVATING',
    'RUNNING',
    'RUNNING',
  ),
  /** ECS is stopping it: desired STOPPED, with this last status. */
  stopping: sometimes(beingStopped, 4),
  deployment: fc.nat(2),
});
type TaskPlan = typeof taskPlan extends fc.Arbitrary<infer T> ? T : never;
const deploymentPlan = fc.record({
  created: offset,
  /** Minutes since ECS last updated it when the watcher first looks (over 30: stalled). */
  idleFor: fc.constantFrom(0, 5, 40),
  rollout: fc.constantFrom<ScriptedDeployment['rolloutState'] | undefined>(
    'IN_PROGRESS',
    'COMPLETED',
    'FAILED',
    undefined,
  ),
});
const servicePlan = fc.record({
  cluster: fc.constantFrom('prod', 'prod', 'edge'),
  /** Not ACTIVE: deleted, its tasks being stopped (gone: DescribeServices answers MISSING). */
  status: fc.constantFrom<ScriptedService['status']>(
    'ACTIVE',
    'ACTIVE',
    'ACTIVE',
    'DRAINING',
    'INACTIVE',
    'gone',
  ),
  redeploy: fc.boolean(),
  deployments: fc.array(deploymentPlan, { minLength: 1, maxLength: 3 }),
  tasks: fc.array(taskPlan, { minLength: 1, maxLength: 3 }),
});
const jobStatus = fc.constantFrom<ScriptedJob['status']>(
  'SUBMITTED',
  'PENDING',
  'RUNNABLE',
  'STARTING',
  'RUNNING',
);
const jobPlan = fc.record({
  created: offset,
  status: jobStatus,
  resubmit: fc.boolean(),
  /** An array job: its children's statuses and creation offsets (never before the parent's). */
  children: fc.option(
    fc.array(fc.record({ status: jobStatus, created: offset }), { minLength: 1, maxLength: 4 }),
    { freq: 2 },
  ),
});
/** A call that fails for a whole phase: every request of it (for one cluster, for ECS). */
const faultPlan = fc.record({
  call: fc.constantFrom(
    'ecs:ListTasks prod',
    'ecs:ListTasks edge',
    'ecs:DescribeTasks prod',
    'ecs:DescribeTasks edge',
    'ecs:DescribeServices prod',
    'batch:ListJobs',
    'batch:DescribeJobs',
    'value',
  ),
  error: fc.constantFrom<string | undefined>(undefined, 'AccessDeniedException'),
});
type FaultPlan = typeof faultPlan extends fc.Arbitrary<infer T> ? T : never;
const fate = fc.constantFrom('keep', 'stopping', 'stopped', 'replaced');
const movePlan = fc.record({
  /** Minutes until this phase. */
  after: fc.constantFrom(2, 15, 40),
  /** Every container goes: tasks are replaced by new ones, jobs (arrays whole) finish. */
  clean: fc.boolean(),
  /** Otherwise, what becomes of each container, by its position. */
  fates: fc.array(fate, { minLength: 1, maxLength: 5 }),
  rollout: fc.constantFrom('none', 'begins', 'completes', 'fails'),
  /** A secret's next rotation starts (AWSPENDING on a new version) and is still under way. */
  nextRotation: fc.constantFrom(false, false, false, false, false, true),
  fault: sometimes(faultPlan, 5),
});
type MovePlan = typeof movePlan extends fc.Arbitrary<infer T> ? T : never;

interface SecretShape {
  /** The first look comes while the rotation is under way (AWSPENDING not yet AWSCURRENT). */
  inProgress: boolean;
  /** Minutes before the move of AWSCURRENT that createSecret wrote the AWSPENDING version. */
  putLead: number;
  /** AWSPENDING left on the new AWSCURRENT after the rotation (a finished rotation). */
  pendingLeft: boolean;
  /** LastChangedDate stays at the AWSPENDING write: AWS did not update it when the label moved. */
  labelLate: boolean;
  /**
   * What announced the move: `Secret Label Updated` (at the move), or CloudTrail's
   * `RotationSucceeded` service event (half a minute after it, no version id).
   */
  announcedBy: 'label' | 'rotation-succeeded';
}

/** `between`: every case has a task created a minute before the change (its RUNNING since). */
function timeline(secret: fc.Arbitrary<SecretShape | null>, between = false) {
  return fc.record({
    secret,
    services: fc.array(servicePlan, { maxLength: 3 }),
    standalone: fc.array(taskPlan, { maxLength: 3 }),
    jobs: fc.array(jobPlan, { maxLength: 2 }),
    /** Minutes after the change when the watcher first looks (before it, for a rotation under way). */
    firstLook: fc.constantFrom(1, 10, 40),
    firstFault: sometimes(faultPlan, 5),
    /**
     * A deleted service whose last task is still STOPPING (a long stop timeout) for this many
     * phases after the first look: DescribeServices says INACTIVE, or nothing (MISSING).
     */
    lingering: sometimes(
      fc.record({
        status: fc.constantFrom<ScriptedService['status']>('INACTIVE', 'gone'),
        created: fc.option(offset, { freq: 4 }),
        phases: fc.integer({ min: 1, max: 3 }),
      }),
      3,
    ),
    moves: fc.array(movePlan, { minLength: 1, maxLength: 3 }),
    between: fc.constant(between),
  });
}
type Timeline = ReturnType<typeof timeline> extends fc.Arbitrary<infer T> ? T : never;

const secretShape = (labelLate: fc.Arbitrary<boolean>) =>
  fc.record({
    inProgress: fc.boolean(),
    putLead: fc.constantFrom(2, 5, 30),
    pendingLeft: fc.boolean(),
    labelLate,
    announcedBy: fc.constantFrom<SecretShape['announcedBy']>('label', 'rotation-succeeded'),
  });

// ---------------------------------------------------------------------------------------------
// The account a case describes.

/** What the test knows and AWS does not say: when each version really became the one read. */
interface Truth {
  kind: 'ssm' | 'secret';
  name: string;
  /** The reference in the definitions: a parameter name or a secret ARN. */
  valueFrom: string;
  /** Version (a parameter's number as text, a secret's id) → when it became current. */
  movedAt: Map<string, number>;
  /**
   * Job id → the last time it was seen not started (SUBMITTED, PENDING, RUNNABLE): it fetched
   * nothing before then. AWS does not say it; the truth knows it, the watcher only from a look.
   */
  notStarted: Map<string, number>;
  /** Phases left before the deleted service's lingering task is STOPPED. */
  lingering: number;
}

let cases = 0;

function build(plan: Timeline): { account: ScriptedAccount; truth: Truth } {
  cases += 1;
  const n = cases;
  const secret = plan.secret;
  // A rotation under way is first looked at a minute before AWSCURRENT moves (after the write).
  const a = emptyAccount(secret?.inProgress ? at(-1) : at(plan.firstLook));
  const upTo = (minutes: number) => Math.min(at(minutes), a.now);
  a.clusters = ['prod', 'edge'];
  let truth: Truth;
  if (secret) {
    const name = `prod/db-${n}`;
    const valueFrom = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbC123`;
    truth = {
      kind: 'secret',
      name,
      valueFrom,
      movedAt: new Map([['v1', CHANGE - DAY]]),
      notStarted: new Map(),
      lingering: plan.lingering?.phases ?? 0,
    };
    const put = CHANGE - secret.putLead * MINUTE;
    if (secret.inProgress) {
      a.secrets = [
        {
          name,
          suffix: 'AbC123',
          lastChanged: put,
          currentVersion: 'v1',
          pendingVersion: 'v2',
          versionsCreated: { v1: CHANGE - DAY, v2: put },
        },
      ];
    } else {
      truth.movedAt.set('v2', CHANGE);
      a.secrets = [finished(name, secret, put)];
    }
  } else {
    const name = `/app/${n}/password`;
    truth = {
      kind: 'ssm',
      name,
      valueFrom: name,
      movedAt: new Map([
        ['6', CHANGE - DAY],
        ['7', CHANGE],
      ]),
      notStarted: new Map(),
      lingering: plan.lingering?.phases ?? 0,
    };
    a.parameters = [{ name, version: 7, lastModified: CHANGE, type: 'SecureString' }];
  }
  a.parameters.push({ name: '/other/setting', version: 1, lastModified: at(-60) });
  a.taskDefinitions = [
    { family: 'app', revision: 1, secrets: [{ name: 'DB', valueFrom: truth.valueFrom }] },
    { family: 'other', revision: 1, secrets: [{ name: 'X', valueFrom: '/other/setting' }] },
  ];
  a.jobQueues = [{ name: 'q' }];
  a.jobDefinitions = [
    { name: 'etl', revision: 1, secrets: [{ name: 'DB', valueFrom: truth.valueFrom }] },
  ];
  const task = (
    t: TaskPlan,
    cluster: string,
    id: string,
    group: string,
    startedBy?: string,
    service: ScriptedService['status'] = 'ACTIVE',
  ): ScriptedTask => {
    const created = t.created === null ? undefined : upTo(t.created);
    // A deleted service's tasks are being stopped: DRAINING while any is not yet STOPPING,
    // INACTIVE (or, later, unknown to DescribeServices) once all are STOPPING or STOPPED.
    const stopping =
      service === 'ACTIVE'
        ? t.stopping
        : service === 'DRAINING'
          ? (t.stopping ?? 'RUNNING')
          : t.stopping === 'STOPPED'
            ? 'STOPPED'
            : 'STOPPING';
    const running = stopping !== null || t.status === 'RUNNING';
    const started =
      created !== undefined && running
        ? Math.min(created + t.startedAfter * MINUTE, a.now)
        : undefined;
    return {
      cluster,
      id,
      taskDefinition: 'app:1',
      group,
      ...(startedBy ? { startedBy } : {}),
      ...(created !== undefined ? { createdAt: created } : {}),
      ...(started !== undefined ? { startedAt: started } : {}),
      lastStatus: stopping ?? t.status,
      desiredStatus: stopping !== null ? 'STOPPED' : 'RUNNING',
    };
  };
  plan.services.forEach((service, s) => {
    const name = `svc${s}`;
    const deployments = service.deployments
      .map((d, k): ScriptedDeployment => {
        const created = upTo(d.created);
        return {
          id: `ecs-svc/${n}${s}${k}`,
          status: 'ACTIVE',
          ...(d.rollout ? { rolloutState: d.rollout } : {}),
          createdAt: created,
          updatedAt: Math.max(created, a.now - d.idleFor * MINUTE),
          taskDefinition: 'app:1',
        };
      })
      .sort((x, y) => y.createdAt - x.createdAt);
    (deployments[0] as ScriptedDeployment).status = 'PRIMARY';
    const goingAway = service.status !== 'ACTIVE';
    a.services.push({
      cluster: service.cluster,
      name,
      status: service.status,
      desiredCount: goingAway ? 0 : service.tasks.length,
      ...(service.redeploy ? { tags: { 'rotation-watcher:action': 'redeploy' } } : {}),
      deployments,
    });
    service.tasks.forEach((t, k) => {
      const deployment = deployments[t.deployment % deployments.length] as ScriptedDeployment;
      a.tasks.push(
        task(t, service.cluster, `s${s}t${k}`, `service:${name}`, deployment.id, service.status),
      );
    });
  });
  if (plan.lingering) {
    const { status, created } = plan.lingering;
    a.services.push({
      cluster: 'prod',
      name: 'deleted',
      status,
      desiredCount: 0,
      deployments: [
        {
          id: `ecs-svc/${n}-deleted`,
          status: 'PRIMARY',
          rolloutState: 'COMPLETED',
          createdAt: at(-300),
          updatedAt: at(-290),
          taskDefinition: 'app:1',
        },
      ],
    });
    a.tasks.push({
      cluster: 'prod',
      id: 'lingering',
      taskDefinition: 'app:1',
      group: 'service:deleted',
      startedBy: `ecs-svc/${n}-deleted`,
      ...(created === null ? {} : { createdAt: upTo(created), startedAt: upTo(created) }),
      lastStatus: 'STOPPING',
      desiredStatus: 'STOPPED',
    });
  }
  plan.standalone.forEach((t, k) => {
    a.tasks.push(task(t, k % 2 ? 'edge' : 'prod', `solo${k}`, 'family:app'));
  });
  if (plan.between)
    a.tasks.push({
      cluster: 'edge',
      id: 'between',
      taskDefinition: 'app:1',
      group: 'family:app',
      createdAt: upTo(-1),
      startedAt: upTo(-1),
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
    });
  // Another value's consumer from long before: it must not keep anything from being complete.
  a.tasks.push({
    cluster: 'prod',
    id: 'other0',
    taskDefinition: 'other:1',
    group: 'family:other',
    createdAt: at(-300),
    startedAt: at(-299),
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
  });
  plan.jobs.forEach((job, j) => {
    const id = `job${n}-${j}`;
    const parent = job.children !== null;
    const created = upTo(job.created);
    a.jobs.push({
      id,
      name: `etl${j}`,
      queue: 'q',
      definition: 'etl:1',
      // An array parent shows only PENDING while its children run.
      status: parent ? 'PENDING' : job.status,
      createdAt: created,
      ...(job.status === 'RUNNING' && !parent
        ? { startedAt: Math.min(created + MINUTE, a.now) }
        : {}),
      ...(parent ? { arraySize: job.children?.length ?? 0 } : {}),
      ...(job.resubmit ? { tags: { 'rotation-watcher:action': 'resubmit' } } : {}),
    });
    job.children?.forEach((child, k) => {
      const childCreated = Math.max(upTo(child.created), created);
      a.jobs.push({
        id: `${id}:${k}`,
        name: `etl${j}`,
        queue: 'q',
        definition: 'etl:1',
        status: child.status,
        createdAt: childCreated,
        ...(child.status === 'RUNNING'
          ? { startedAt: Math.min(childCreated + MINUTE, a.now) }
          : {}),
        arrayParent: id,
        arrayIndex: k,
      });
    });
  });
  a.faults = faultsOf(plan.firstFault, truth);
  seenNotStarted(a, truth);
  return { account: a, truth };
}

/** The secret once its rotation finished: AWSCURRENT moved to v2 at CHANGE. */
function finished(name: string, secret: SecretShape, put: number) {
  return {
    name,
    suffix: 'AbC123',
    // AWS does not document that a label move updates LastChangedDate: it may stay at the write.
    lastChanged: secret.labelLate ? put : CHANGE,
    currentVersion: 'v2',
    previousVersion: 'v1',
    ...(secret.pendingLeft ? { pendingVersion: 'v2' } : {}),
    // createSecret wrote v2 (under AWSPENDING) `putLead` minutes before AWSCURRENT moved to it.
    versionsCreated: { v1: CHANGE - DAY, v2: put },
  };
}

function faultsOf(plan: FaultPlan | null, truth: Truth): ScriptedFault[] {
  if (!plan) return [];
  const [api = '', cluster] = plan.call.split(' ');
  const call =
    api === 'value'
      ? truth.kind === 'ssm'
        ? 'ssm:DescribeParameters'
        : 'secretsmanager:DescribeSecret'
      : api;
  return [
    { api: call, ...(cluster ? { cluster } : {}), ...(plan.error ? { error: plan.error } : {}) },
  ];
}

// ---------------------------------------------------------------------------------------------
// The account moving on.

const isApp = (task: ScriptedTask) => task.taskDefinition.startsWith('app:');
const gone = (task: ScriptedTask) => task.lastStatus === 'STOPPED';
const finishedJob = (job: ScriptedJob) => job.status === 'SUCCEEDED' || job.status === 'FAILED';
const NEXT: Partial<Record<ScriptedJob['status'], ScriptedJob['status']>> = {
  SUBMITTED: 'PENDING',
  PENDING: 'RUNNABLE',
  RUNNABLE: 'STARTING',
  STARTING: 'RUNNING',
};

function move(a: ScriptedAccount, m: MovePlan, truth: Truth, secret: SecretShape | null): boolean {
  const before = a.now;
  a.now += m.after * MINUTE;
  truth.lingering -= 1;
  let announced = false;
  const s = a.secrets[0];
  if (secret && s && s.pendingVersion === 'v2' && s.currentVersion === 'v1') {
    // finishSecret: AWSCURRENT moves to v2, at CHANGE or later.
    a.now = Math.max(a.now, CHANGE + m.after * MINUTE);
    Object.assign(s, finished(s.name, secret, CHANGE - secret.putLead * MINUTE));
    if (!secret.pendingLeft) delete s.pendingVersion;
    truth.movedAt.set('v2', CHANGE);
    announced = true;
  } else if (
    secret &&
    s &&
    m.nextRotation &&
    s.currentVersion === 'v2' &&
    !truth.movedAt.has('v3')
  ) {
    // The next rotation's createSecret: AWSPENDING on v3, AWSCURRENT still on v2.
    s.pendingVersion = 'v3';
    s.lastChanged = a.now;
    s.versionsCreated = { ...s.versionsCreated, v3: a.now };
  }
  const newest = (service: ScriptedService) =>
    [...service.deployments].sort((x, y) => y.createdAt - x.createdAt)[0];
  for (const service of a.services.filter((svc) => svc.status === 'ACTIVE')) {
    const latest = newest(service);
    if (m.rollout === 'begins' || (m.clean && !(latest && latest.createdAt > CHANGE))) {
      for (const d of service.deployments) if (d.status === 'PRIMARY') d.status = 'ACTIVE';
      service.deployments.unshift({
        id: `ecs-svc/${service.name}-${a.now}`,
        status: 'PRIMARY',
        rolloutState: m.clean ? 'COMPLETED' : 'IN_PROGRESS',
        createdAt: a.now,
        updatedAt: a.now,
        taskDefinition: 'app:1',
      });
    } else if (latest && (m.rollout === 'completes' || m.clean)) {
      Object.assign(latest, { rolloutState: 'COMPLETED', updatedAt: a.now });
    } else if (latest && m.rollout === 'fails') {
      Object.assign(latest, { rolloutState: 'FAILED', updatedAt: a.now });
    }
  }
  const fresh: ScriptedTask[] = [];
  const replace = (task: ScriptedTask) => {
    Object.assign(task, { lastStatus: 'STOPPED', desiredStatus: 'STOPPED' });
    const service = a.services.find(
      (svc) => task.group === `service:${svc.name}` && svc.cluster === task.cluster,
    );
    if (service && service.status !== 'ACTIVE') return;
    const primary = service?.deployments.find((d) => d.status === 'PRIMARY');
    fresh.push({
      ...task,
      id: `${task.id}-${a.now - before}`,
      ...(primary ? { startedBy: primary.id } : {}),
      createdAt: a.now,
      startedAt: a.now,
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
    });
  };
  a.tasks.filter(isApp).forEach((task, i) => {
    if (gone(task)) return;
    if (task.id === 'lingering') {
      // Its containers run out their stop timeout, whatever else happens, then it is STOPPED.
      if (truth.lingering < 0) task.lastStatus = 'STOPPED';
      return;
    }
    if (m.clean) {
      // Every task is replaced, not only those from before the change: the watcher may have to
      // judge by a later time than the change (when it cannot tell when a secret's label moved).
      replace(task);
      return;
    }
    const f = m.fates[i % m.fates.length];
    if (f === 'replaced') replace(task);
    else if (f === 'stopped')
      Object.assign(task, { lastStatus: 'STOPPED', desiredStatus: 'STOPPED' });
    else if (f === 'stopping' && task.desiredStatus === 'STOPPED') {
      // Further along: RUNNING, DEACTIVATING, STOPPING, then STOPPED.
      const order = ['RUNNING', 'DEACTIVATING', 'STOPPING', 'STOPPED'] as const;
      const at = order.indexOf(task.lastStatus as (typeof order)[number]);
      task.lastStatus = order[Math.min(at + 1, 3)] ?? 'STOPPED';
    } else if (f === 'stopping')
      Object.assign(task, {
        desiredStatus: 'STOPPED',
        lastStatus: (['RUNNING', 'DEACTIVATING', 'STOPPING'] as const)[i % 3],
      });
    else if (task.desiredStatus === 'RUNNING' && task.lastStatus !== 'RUNNING')
      // A task created before the change may reach RUNNING after it.
      Object.assign(task, { lastStatus: 'RUNNING', startedAt: a.now });
  });
  a.tasks.push(...fresh);
  a.jobs.forEach((job, i) => {
    if (finishedJob(job) || job.arraySize !== undefined) return;
    if (m.clean) {
      job.status = 'SUCCEEDED';
      return;
    }
    const f = m.fates[i % m.fates.length];
    if (f === 'stopped' || f === 'replaced') job.status = f === 'stopped' ? 'SUCCEEDED' : 'FAILED';
    else {
      const next = NEXT[job.status];
      if (next) job.status = next;
      if (job.status === 'RUNNING') job.startedAt ??= a.now;
    }
  });
  for (const parent of a.jobs.filter((job) => job.arraySize !== undefined && !finishedJob(job))) {
    const children = a.jobs.filter((job) => job.arrayParent === parent.id);
    // A clean phase finishes every array job whole.
    if (m.clean) for (const child of children) if (!finishedJob(child)) child.status = 'SUCCEEDED';
    if (children.every(finishedJob)) parent.status = 'SUCCEEDED';
  }
  a.faults = faultsOf(m.fault, truth);
  seenNotStarted(a, truth);
  return announced;
}

/** Notes the jobs that have not started at the account's time. */
function seenNotStarted(a: ScriptedAccount, truth: Truth): void {
  for (const job of a.jobs)
    if (job.status === 'SUBMITTED' || job.status === 'PENDING' || job.status === 'RUNNABLE')
      truth.notStarted.set(job.id, a.now);
}

// ---------------------------------------------------------------------------------------------
// The oracle.

/**
 * The containers that may hold a value from before `since`. With `notStarted` (the truth), a job
 * seen not started after `since` fetched after it; without (what AWS shows), only its creation
 * bounds when it fetched.
 */
function holders(
  a: ScriptedAccount,
  since: number | undefined,
  notStarted?: Map<string, number>,
): string[] {
  const out: string[] = [];
  const before = (created: number | undefined) =>
    since === undefined || created === undefined || created < since;
  for (const task of a.tasks.filter(isApp))
    if (!gone(task) && before(task.createdAt))
      out.push(
        `task ${task.cluster}/${task.id} (${task.group}, ${task.lastStatus}, desired ${task.desiredStatus}, created ${rel(task.createdAt)})`,
      );
  for (const job of a.jobs)
    if (
      job.arraySize === undefined &&
      (job.status === 'STARTING' || job.status === 'RUNNING') &&
      before(Math.max(job.createdAt, notStarted?.get(job.id) ?? job.createdAt))
    )
      out.push(
        `job ${job.id} (${job.status}, created ${rel(job.createdAt)}, last seen not started ${rel(notStarted?.get(job.id))})`,
      );
  return out;
}

function currentVersion(a: ScriptedAccount, truth: Truth): string | undefined {
  return truth.kind === 'ssm'
    ? a.parameters.find((p) => p.name === truth.name)?.version.toString()
    : a.secrets[0]?.currentVersion;
}

/**
 * Why `wait` must not say complete now; empty when nothing may hold the old value. `shown`: by
 * what AWS shows (creation times only), for the controls.
 */
function waitDoubts(a: ScriptedAccount, truth: Truth, shown = false): string[] {
  const s = a.secrets[0];
  const pending =
    truth.kind === 'secret' && s?.pendingVersion && s.pendingVersion !== s.currentVersion
      ? [`a rotation is in progress (AWSPENDING on ${s.pendingVersion})`]
      : [];
  const version = currentVersion(a, truth);
  const since = version ? truth.movedAt.get(version) : undefined;
  return [...pending, ...holders(a, since, shown ? undefined : truth.notStarted)];
}

/** Why a record for `version` must not be complete now; empty when it may be. */
function recordDoubts(a: ScriptedAccount, truth: Truth, version: string | null): string[] {
  const since = version === null ? undefined : truth.movedAt.get(version);
  if (since === undefined) return [`version ${version} never became current`];
  return holders(a, since, truth.notStarted);
}

// ---------------------------------------------------------------------------------------------
// The runs.

const scripted = useScriptedAccount();
const { account } = scripted;
let moto: Moto;
let table: string;

beforeAll(async () => {
  moto = await startMoto();
  // DynamoDB (the records) and EventBridge (the signals) are moto's; the rest is scripted.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = moto.endpoint;
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = moto.endpoint;
  table = await new Seeder().stateTable(REGION, 'never-false-complete');
}, 60_000);

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
  await moto?.stop();
});

const settings = readSettings({
  WATCHER_DEFAULT_ACTION: 'notify',
  WATCHER_MAX_ACTIONS: '1000',
  WATCHER_EVENT_BUS: 'default',
});

const faultHits = () => (account.faults ?? []).reduce((sum, f) => sum + (f.hits ?? 0), 0);

interface Stats {
  cases: number;
  /** Checks of wait that exited 0. */
  waitComplete: number;
  /** Checks of wait that did not (3 or 5). */
  waitRefused: number;
  /** Records that closed complete. */
  recordsComplete: number;
  /** Cases in which a scripted fault refused at least one call. */
  faultsHit: number;
  /** Cases whose first look had a container created between LastChangedDate and the move. */
  inLabelWindow: number;
}
const emptyStats = (): Stats => ({
  cases: 0,
  waitComplete: 0,
  waitRefused: 0,
  recordsComplete: 0,
  faultsHit: 0,
  inLabelWindow: 0,
});

/** One check of `wait`, judged against the oracle. */
async function checkWait(
  truth: Truth,
  phase: string,
  stats: Stats,
  control: boolean,
): Promise<number> {
  const doubts = waitDoubts(account, truth);
  const shown = waitDoubts(account, truth, true);
  const hitsBefore = faultHits();
  const args = ['wait', truth.name, ...(truth.kind === 'secret' ? ['--secret'] : [])];
  const result = await cli(
    [...args, '--region', REGION, '--timeout', '0s', '--json'],
    undefined,
    { maxAttempts: 1 },
    { WATCHER_STATE_TABLE: '' },
    // The account's clock: one check (timeout 0s), no sleep.
    { clock: { now: () => account.now, sleep: async () => {} } },
  );
  const failed = faultHits() - hitsBefore;
  const said = `${phase}: wait exited ${result.code}: ${result.stdout}${result.stderr}`;
  expect([0, 3, 5], said).toContain(result.code);
  if (doubts.length > 0)
    expect(result.code, `${said}\nbut may hold the old value: ${doubts.join('; ')}`).not.toBe(0);
  if (failed > 0)
    expect(result.code, `${said}\nbut ${failed} call(s) failed (${faultNames()})`).not.toBe(0);
  if (control && shown.length === 0 && failed === 0) {
    // The control: nothing may hold it by what AWS shows, and everything was read.
    expect(result.code, `${said}\nwith nothing on the old value and every call answered`).toBe(0);
  }
  if (result.code === 0) stats.waitComplete += 1;
  else stats.waitRefused += 1;
  return failed;
}

const faultNames = () =>
  (account.faults ?? []).map((f) => `${f.api}${f.cluster ? ` ${f.cluster}` : ''}`).join(', ');

interface Case {
  truth: Truth;
  clients: AwsClients;
  deps: PipelineDeps;
  follow: FollowDeps;
  pk: string;
  /** Records already seen complete (`sk`). */
  closed: Set<string>;
  stats: Stats;
  /** Requests the account's faults refused during the case. */
  failedCalls: number;
}

function startCase(truth: Truth, stats: Stats): Case {
  const clients = new AwsClients({ maxAttempts: 1 });
  const cache = new DefinitionCache();
  const now = () => new Date(account.now);
  const store = new RotationStore({ table, region: REGION, clients, now });
  // As the stack keeps it: the first time established for each secret version's move.
  const moves = tableMoves({ table, region: REGION, clients });
  const deps: PipelineDeps = {
    clients,
    cache,
    settings,
    regions: [REGION],
    home: REGION,
    now,
    moves,
    rotations: { store, queueUrl: null },
  };
  // As the pipeline follows up: a record not yet read whole is read by discovery for its value.
  const follow: FollowDeps = {
    clients,
    store,
    settings,
    home: REGION,
    queueUrl: null,
    now,
    lookWhole: async (record) => {
      const change = changeOf(record);
      const found = await discover(
        { changes: [change] },
        { regions: [REGION], clients, cache, now, moves },
      );
      return {
        observations: observationsOf(found.consumers, change, undefined, now()),
        complete: found.complete,
      };
    },
  };
  const pk = recordPk({
    service: truth.kind === 'ssm' ? 'ssm' : 'secretsmanager',
    region: REGION,
    account: ACCOUNT,
    name: truth.name,
    versionStage: null,
  });
  return { truth, clients, deps, follow, pk, closed: new Set(), stats, failedCalls: 0 };
}

const completeSignals = (outcomes: Outcome[]) =>
  outcomes.filter((o) => (o.detail ?? '').startsWith('Rotation Complete'));

/** After a step of the pipeline: records newly complete, and signals, against the oracle. */
async function checkRecords(c: Case, step: string, outcomes: Outcome[], failed: number) {
  const records = await c.deps.rotations?.store.list(c.pk);
  const newly = (records ?? []).filter((r) => r.status === 'complete' && !c.closed.has(r.sk));
  const show = (r: RotationRecord) =>
    `${step}: record ${r.sk} (version ${r.value.version}, changed ${r.value.changedAt}) closed complete; its consumers: ${r.consumers
      .map((x) => `${x.name} ${x.state}`)
      .join(', ')}`;
  for (const record of newly) {
    const doubts = recordDoubts(account, c.truth, record.value.version);
    expect(doubts, `${show(record)}\nbut may hold a value from before it`).toEqual([]);
    expect(failed, `${show(record)}\nbut ${failed} call(s) failed (${faultNames()})`).toBe(0);
    c.closed.add(record.sk);
    c.stats.recordsComplete += 1;
  }
  const signals = completeSignals(outcomes);
  if (signals.length > 0)
    expect(
      newly.length,
      `${step}: Rotation Complete told (${JSON.stringify(signals)})`,
    ).toBeGreaterThan(0);
  for (const record of newly)
    expect(
      signals.map((s) => s.status),
      `${step}: ${record.sk} closed complete: Rotation Complete is told`,
    ).toContain('done');
}

function announcement(truth: Truth, secret: SecretShape | null, pending: boolean, n: number) {
  if (truth.kind === 'ssm') return parameterChange(truth.name, { id: `evt-${n}`, time: CHANGE });
  if (pending)
    return {
      version: '0',
      id: `evt-${n}`,
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.secretsmanager',
      account: ACCOUNT,
      time: new Date(account.now).toISOString(),
      region: REGION,
      resources: [],
      detail: {
        eventVersion: '1.09',
        eventTime: new Date(account.secrets[0]?.lastChanged ?? account.now).toISOString(),
        eventSource: 'secretsmanager.amazonaws.com',
        eventName: 'PutSecretValue',
        awsRegion: REGION,
        requestParameters: { secretId: truth.valueFrom, versionStages: ['AWSPENDING'] },
        responseElements: { arn: truth.valueFrom, versionId: 'v2' },
      },
    };
  if (secret?.announcedBy === 'rotation-succeeded') {
    const ended = new Date(CHANGE + 30_000).toISOString();
    return {
      version: '0',
      id: `evt-${n}`,
      'detail-type': 'AWS Service Event via CloudTrail',
      source: 'aws.secretsmanager',
      account: ACCOUNT,
      time: ended,
      region: REGION,
      resources: [],
      detail: {
        eventVersion: '1.09',
        eventTime: ended,
        eventSource: 'secretsmanager.amazonaws.com',
        eventName: 'RotationSucceeded',
        awsRegion: REGION,
        requestParameters: null,
        responseElements: null,
        additionalEventData: { SecretId: truth.valueFrom },
        eventType: 'AwsServiceEvent',
      },
    };
  }
  return {
    version: '0',
    id: `evt-${n}`,
    'detail-type': 'Secret Label Updated',
    source: 'aws.secretsmanager',
    account: ACCOUNT,
    time: new Date(CHANGE).toISOString(),
    region: REGION,
    resources: [truth.valueFrom],
    detail: { name: truth.name, labelUpdated: 'AWSCURRENT', versionId: 'v2' },
  };
}

/**
 * One run of the pipeline for `event`, delivered by SQS as the on-change function receives it;
 * whether it handed the event back for a retry (SQS then delivers it again).
 */
async function deliver(c: Case, event: unknown, step: string): Promise<boolean> {
  const hitsBefore = faultHits();
  const run = await runPipeline({ records: parsePayload(sqsBatch(event)) }, c.deps, {
    apply: true,
  });
  const failed = faultHits() - hitsBefore;
  c.failedCalls += failed;
  await checkRecords(c, `${step} (the event)`, run.report.actions, failed);
  return run.failedRecords.length > 0;
}

async function followUps(c: Case, step: string): Promise<void> {
  const open = ((await c.deps.rotations?.store.list(c.pk)) ?? []).filter(
    (r) => r.status === 'open',
  );
  for (const record of open) {
    const hitsBefore = faultHits();
    const outcomes = await followUp(record.pk, record.sk, c.follow, { schedule: false });
    const failed = faultHits() - hitsBefore;
    c.failedCalls += failed;
    await checkRecords(c, `${step} (follow-up of ${record.sk})`, outcomes, failed);
  }
}

/** Runs one case: wait and the pipeline at the first look, then at every phase after it. */
async function runCase(plan: Timeline, stats: Stats, controls = true): Promise<void> {
  const { account: built, truth } = build(plan);
  Object.assign(account, built);
  stats.cases += 1;
  const c = startCase(truth, stats);
  try {
    const s = account.secrets[0];
    if (s && s.lastChanged < CHANGE && !plan.secret?.inProgress) {
      const window = holders(account, CHANGE).length - holders(account, s.lastChanged).length;
      if (window > 0) stats.inLabelWindow += 1;
    }
    c.failedCalls += await checkWait(truth, 'first look', stats, controls);
    // The event that announced the change (for a rotation under way, its AWSPENDING write).
    const pending = plan.secret?.inProgress ?? false;
    let event: unknown = announcement(truth, plan.secret, pending, stats.cases);
    let handedBack = await deliver(c, event, 'first look');
    for (const [k, m] of plan.moves.entries()) {
      const moved = move(account, m, truth, plan.secret);
      const step = `phase ${k + 1} (+${(account.now - CHANGE) / MINUTE}m)`;
      c.failedCalls += await checkWait(truth, step, stats, controls);
      if (handedBack) handedBack = await deliver(c, event, `${step}, redelivered`);
      if (moved) {
        // finishSecret moved AWSCURRENT: an event announces it.
        event = announcement(truth, plan.secret, false, stats.cases);
        handedBack = (await deliver(c, event, step)) || handedBack;
      }
      await followUps(c, step);
    }
    if (c.failedCalls > 0) stats.faultsHit += 1;
    // The control: in a last phase with nothing left on the old value and every call answered,
    // the record of the change closes complete.
    const last = plan.moves.at(-1);
    if (last?.clean && !last.fault && waitDoubts(account, truth, true).length === 0) {
      const latest = ((await c.deps.rotations?.store.list(c.pk)) ?? [])[0];
      // A label's move is recorded nowhere: the watcher judges by the tightest time AWS proves
      // (never earlier than the move), which may be later than the true one. A task created in
      // between and still running (a deleted service's task still stopping) may then keep the
      // record open, erring late by design; complete is owed once nothing created before the
      // record's own time of the change still runs.
      const judged = latest ? Date.parse(latest.value.changedAt) : undefined;
      const moved = truth.movedAt.get(currentVersion(account, truth) ?? '');
      const since = moved === undefined || judged === undefined ? moved : Math.max(moved, judged);
      if (holders(account, since).length === 0)
        expect(latest?.status, `the record of the change: ${JSON.stringify(latest)}`).toBe(
          'complete',
        );
    }
  } finally {
    c.clients.destroy();
  }
}

// ---------------------------------------------------------------------------------------------

describe('never a false "complete", against an oracle, on generated timelines', () => {
  it('wait and the rotation records say complete only when no container may hold the old value, and always then', async () => {
    const stats = emptyStats();
    const value = fc.option(secretShape(fc.constant(false)), { freq: 2 });
    await fc.assert(
      fc.asyncProperty(timeline(value), (plan) => runCase(plan, stats)),
      { numRuns: RUNS, ...replay },
    );
    // The controls: the property cannot pass by never saying complete.
    expect(stats.waitComplete, JSON.stringify(stats)).toBeGreaterThanOrEqual(Math.ceil(RUNS / 4));
    expect(stats.recordsComplete, JSON.stringify(stats)).toBeGreaterThanOrEqual(
      Math.ceil(RUNS / 6),
    );
    expect(stats.waitRefused, JSON.stringify(stats)).toBeGreaterThanOrEqual(Math.ceil(RUNS / 4));
    console.info(`never-false-complete: ${JSON.stringify(stats)}`);
  }, 120_000);
});

// Known to be judged wrongly by a watcher that takes LastChangedDate for the time of the move.
// Wait's control (exit 0 whenever nothing may hold the old value) is not asserted here: nothing
// AWS reports tells when the label moved, so the watcher may rightly wait for more than the truth
// needs; the record must still close once every container was replaced.
describe('a secret whose AWSCURRENT moved after its LastChangedDate (AWS need not update it on a label move)', () => {
  it('is not complete while a task created between LastChangedDate and the move may hold the old value', async () => {
    const stats = emptyStats();
    await fc.assert(
      fc.asyncProperty(timeline(secretShape(fc.constant(true)), true), (plan) =>
        runCase(plan, stats, false),
      ),
      { numRuns: Math.ceil(RUNS / 2), ...replay },
    );
    expect(stats.recordsComplete, JSON.stringify(stats)).toBeGreaterThan(0);
    expect(stats.inLabelWindow, JSON.stringify(stats)).toBeGreaterThan(0);
    console.info(`label moved late: ${JSON.stringify(stats)}`);
  }, 120_000);
});
