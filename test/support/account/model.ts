// The scripted account: an AWS account as plain data whose timelines a test sets freely (when
// each task was created and started, which deployments exist and how their rollouts went, array
// jobs and their children, when each value last changed). `serveScripted` answers the real SDK
// clients from it over HTTP, with AWS's shapes, page limits and errors, and applies the mutating
// calls (UpdateService, SubmitJob, TerminateJob) to it at the account's clock. The bench builds
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
}

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
}

export interface ScriptedJobDefinition {
  name: string;
  revision: number;
  secrets: ScriptedSecretRef[];
  tags?: Record<string, string>;
  /** A multi-node definition (`nodeProperties`) instead of `containerProperties`. */
  multiNode?: boolean;
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
