// The scripted account: an AWS account as plain data whose timelines a test sets freely (when
// each task was created and started, which deployments exist and how their rollouts went, array
// jobs and their children, when each value last changed). `serveScripted` answers the real SDK
// clients from it over HTTP, with AWS's shapes, page limits and errors, and applies the mutating
// calls (UpdateService, SubmitJob, TerminateJob) to it at the account's clock. Deployments and
// jobs with a script (`onDeploy`, `onSubmit`) then move on as the clock does, each step stamped
// with its own time, whenever the account is next asked (deployments.ts, job-runs.ts). The bench builds
// its large accounts as this model too (synthetic.ts), and serves them with latency and throttles.
// Every time is epoch milliseconds.

export interface ScriptedSecretRef {
  /** The environment variable (or option) name. */
  name: string;
  valueFrom: string;
}

export interface ScriptedParameter {
  /** As SSM spells it, with its leading slash when hierarchical. */
  name: string;
  version: number;
  lastModified: number;
  type?: 'String' | 'SecureString' | 'StringList';
}

export interface ScriptedSecret {
  name: string;
  /** The six characters AWS appends to the name in the ARN. */
  suffix: string;
  /** DescribeSecret's LastChangedDate: the last modification of any kind. */
  lastChanged: number;
  /** The version id that carries AWSCURRENT. */
  currentVersion: string;
  /** The version id that carries AWSPREVIOUS, if any. */
  previousVersion?: string;
  /** Scheduled for deletion at this time (DescribeSecret's DeletedDate). */
  deletedAt?: number;
  /**
   * The version id that carries AWSPENDING, if any: another than `currentVersion` while a rotation
   * is under way (or after one failed); `currentVersion` itself when a finished one left it there.
   */
  pendingVersion?: string;
  /**
   * When each version was written (ListSecretVersionIds' CreatedDate): in a rotation, the
   * AWSPENDING write, before AWSCURRENT moves to it. A version not named here: `lastChanged`, the
   * latest it can have been written.
   */
  versionsCreated?: Record<string, number>;
  /** Its replicas: ReplicationStatus on the primary; each answers DescribeSecret in its region. */
  replicas?: ScriptedReplica[];
}

/** A secret's replica in another region, which follows the primary after a delay. */
export interface ScriptedReplica {
  region: string;
  status?: 'InSync' | 'InProgress' | 'Failed';
  /** The replica's AWSCURRENT when it has not caught up yet; the primary's otherwise. */
  currentVersion?: string;
  /** The replica's LastChangedDate; the primary's otherwise. */
  lastChanged?: number;
}

export interface ScriptedTaskDefinition {
  family: string;
  revision: number;
  /** Secrets of the one container, named `app`. */
  secrets: ScriptedSecretRef[];
}

export type RolloutState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

export interface ScriptedDeployment {
  /** `ecs-svc/NNN`; tasks started by it carry it as `startedBy`. */
  id: string;
  status: 'PRIMARY' | 'ACTIVE' | 'INACTIVE';
  /** Absent for services behind a Classic Load Balancer (AWS does not report it there). */
  rolloutState?: RolloutState;
  createdAt: number;
  updatedAt: number;
  /** `family:revision`. */
  taskDefinition: string;
  desiredCount?: number;
  runningCount?: number;
  failedTasks?: number;
  /** The reason ECS gives for `rolloutState`; its usual one for the state when absent. */
  rolloutStateReason?: string;
  /** What it does as the clock moves on: UpdateService takes it from the service's `onDeploy`. */
  script?: DeploymentScript;
  /** How many of its script's steps the account applied (each once, at its own time). */
  stepsDone?: number;
}

/**
 * What a new deployment does as the account's clock moves on; every time is in seconds after the
 * deployment started. All but `stall` launch the service's desired count of new tasks at once
 * (PENDING, `createdAt` the deployment's start).
 * - `complete`: at `after` the new tasks are RUNNING and the other tasks STOPPING; `drain` later
 *   (the stop timeout, 30 s by default) those are STOPPED, the older deployments INACTIVE and
 *   this one COMPLETED.
 * - `fail`: at `after` the new tasks are STOPPED (TaskFailedToStart, `stoppedReason`) and the
 *   rollout FAILED (`reason`); the older deployment keeps its tasks, as the circuit breaker
 *   without rollback leaves it.
 * - `rollback`: fails as `fail` does, then the circuit breaker starts a new PRIMARY deployment of
 *   the last completed deployment's task definition, which completes as `complete` would, after
 *   `completeAfter` (`after` by default) and `drain`.
 * - `stall`: nothing happens: IN_PROGRESS, no new task, `updatedAt` frozen (what a deployment
 *   without a script does too).
 */
export type DeploymentScript =
  | { kind: 'complete'; after: number; drain?: number }
  | { kind: 'fail'; after: number; stoppedReason?: string; reason?: string }
  | {
      kind: 'rollback';
      after: number;
      stoppedReason?: string;
      completeAfter?: number;
      drain?: number;
    }
  | { kind: 'stall' };

export interface ScriptedService {
  cluster: string;
  name: string;
  /** `gone`: DescribeServices answers MISSING (deleted long ago; its tasks outlived it). */
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE' | 'gone';
  controller?: 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL';
  desiredCount: number;
  tags?: Record<string, string>;
  /** Newest last is not required: the server reports them as given. */
  deployments: ScriptedDeployment[];
  /**
   * What the deployments UpdateService starts do. A list is a queue: each deployment takes the
   * next script, the last one serves all further deployments. Absent: they stall, as before
   * scripts existed.
   */
  onDeploy?: DeploymentScript | DeploymentScript[];
}

export interface ScriptedTask {
  cluster: string;
  /** The task id (the last part of its ARN). */
  id: string;
  /** `family:revision`. */
  taskDefinition: string;
  /** `service:NAME` or `family:NAME`. */
  group: string;
  /** A service task's deployment id. */
  startedBy?: string;
  /** Absent: AWS gave none (the watcher must then count the task as stale). */
  createdAt?: number;
  startedAt?: number;
  /**
   * A task being stopped (desired STOPPED) is RUNNING, DEACTIVATING (load balancer deregistration)
   * or STOPPING (the containers' stop timeout) while its containers still run, then
   * DEPROVISIONING, then STOPPED: gone.
   */
  lastStatus:
    | 'PROVISIONING'
    | 'PENDING'
    | 'ACTIVATING'
    | 'RUNNING'
    | 'DEACTIVATING'
    | 'STOPPING'
    | 'DEPROVISIONING'
    | 'STOPPED';
  /** ListTasks filters by this (RUNNING unless asked for STOPPED). */
  desiredStatus: 'RUNNING' | 'STOPPED';
  /** When it was told to stop, and when it had stopped. */
  stoppingAt?: number;
  stoppedAt?: number;
  /** Why it stopped, e.g. `ResourceInitializationError: unable to pull secrets or registry auth: ...`. */
  stoppedReason?: string;
  stopCode?:
    | 'TaskFailedToStart'
    | 'EssentialContainerExited'
    | 'UserInitiated'
    | 'ServiceSchedulerInitiated'
    | 'SpotInterruption'
    | 'TerminationNotice';
  tags?: Record<string, string>;
}

export type ScriptedJobStatus =
  | 'SUBMITTED'
  | 'PENDING'
  | 'RUNNABLE'
  | 'STARTING'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED';

export interface ScriptedJob {
  id: string;
  name: string;
  /** The queue's name. */
  queue: string;
  /** `name:revision`. */
  definition: string;
  status: ScriptedJobStatus;
  createdAt: number;
  startedAt?: number;
  /** An array parent: its size. Its children are jobs with `arrayParent` set. */
  arraySize?: number;
  /** An array child: the parent's id; the child's id is `PARENT:INDEX`. */
  arrayParent?: string;
  arrayIndex?: number;
  /** A multi-node parent: its node count. Its nodes are jobs with `nodeParent` set (`PARENT#N`). */
  numNodes?: number;
  nodeParent?: string;
  nodeIndex?: number;
  tags?: Record<string, string>;
  parameters?: Record<string, string>;
  /** When it ended (SUCCEEDED or FAILED). */
  stoppedAt?: number;
  /** DescribeJobs' short account of its status, e.g. `Essential container in task exited`. */
  statusReason?: string;
  /** Its container's exit code, once it ran and ended. */
  exitCode?: number;
  /** What it does as the clock moves on: SubmitJob takes it from the definition's `onSubmit`. */
  script?: JobScript;
  /** How many of its script's steps the account applied. */
  stepsDone?: number;
}

/**
 * What a submitted job does as the account's clock moves on; times in seconds after SubmitJob.
 * It waits RUNNABLE from the start.
 * - `succeed`: RUNNING (`startedAt`) at `runningAfter`, SUCCEEDED (exit code 0) at `endsAfter`.
 * - `fail`: RUNNING at `runningAfter` when given (then exit code 1), FAILED at `endsAfter` with
 *   `statusReason` (AWS's usual one for how it failed by default).
 * TerminateJob ends the script: a job that ended does not move on.
 */
export type JobScript =
  | { kind: 'succeed'; runningAfter: number; endsAfter: number }
  | { kind: 'fail'; runningAfter?: number; endsAfter: number; statusReason?: string };

export interface ScriptedJobDefinition {
  name: string;
  revision: number;
  secrets: ScriptedSecretRef[];
  tags?: Record<string, string>;
  /** A multi-node definition (`nodeProperties`) instead of `containerProperties`. */
  multiNode?: boolean;
  /** What the jobs SubmitJob submits with this definition do; absent, they stay SUBMITTED. */
  onSubmit?: JobScript;
}

export interface ScriptedAccount {
  region: string;
  account: string;
  /** The account's clock: mutating calls are stamped with it. Tests move it on. */
  now: number;
  clusters: string[];
  parameters: ScriptedParameter[];
  secrets: ScriptedSecret[];
  taskDefinitions: ScriptedTaskDefinition[];
  services: ScriptedService[];
  tasks: ScriptedTask[];
  jobQueues: Array<{ name: string; tags?: Record<string, string> }>;
  jobDefinitions: ScriptedJobDefinition[];
  jobs: ScriptedJob[];
  /** Caps every page below AWS's own limit, so tests see pagination with few items. */
  pageSize?: number;
  /** Calls that fail, for tests of what the watcher says when part of the account cannot be read. */
  faults?: ScriptedFault[];
}

/**
 * A call the account refuses: every request for `api` (and `cluster`, when given) is answered with
 * the error instead, the first `times` ones only when set. The route counts them in `hits`.
 */
export interface ScriptedFault {
  /** `service:Operation`, e.g. `ecs:ListTasks`, `batch:DescribeJobs`, `secretsmanager:DescribeSecret`. */
  api: string;
  /** ECS: only requests for this cluster (name; ECS's `default` when a request names none). */
  cluster?: string;
  /** The error type; `ServerException` (HTTP 500) by default. */
  error?: string;
  /** HTTP status; 500 for the default error, 400 for any other. */
  status?: number;
  /** Fail only this many matching requests, then answer normally. */
  times?: number;
  /** How many requests it failed so far. */
  hits?: number;
}

/** An account with nothing in it, in us-east-1 of account 123456789012, at `now`. */
export function emptyAccount(now = Date.parse('2026-11-20T12:00:00Z')): ScriptedAccount {
  return {
    region: 'us-east-1',
    account: '123456789012',
    now,
    clusters: [],
    parameters: [],
    secrets: [],
    taskDefinitions: [],
    services: [],
    tasks: [],
    jobQueues: [],
    jobDefinitions: [],
    jobs: [],
  };
}
