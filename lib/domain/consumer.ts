import type { Change } from './change.js';
import type { Gap } from './gap.js';
import type { RestartKind } from './outcome.js';
import type { Target } from './reference.js';

export type ConsumerKind = 'ecs-service' | 'ecs-task' | 'batch-job';

/** A reference held by a consumer, as the CLI contract prints it. */
export interface ConsumerReference {
  container: string | null;
  field: string;
  name: string | null;
  valueFrom: string;
  target: Target;
}

/** One running (or about to run) container group of a consumer: an ECS task or a Batch job. */
export interface Run {
  arn: string;
  /** The task or job definition it was started from. */
  definitionArn: string;
  /** ECS lastStatus or Batch status. */
  status: string;
  /**
   * When AWS created it (ECS task createdAt, Batch job createdAt): the earliest moment its
   * containers could have fetched secrets. `null` when AWS gave none.
   */
  createdAt: string | null;
  /** When its containers started (RUNNING); the secrets were fetched before this. */
  startedAt: string | null;
  /** A service task's deployment id (ECS `startedBy`); `null` otherwise. */
  startedBy: string | null;
  /** ECS is stopping it (desired STOPPED): it still runs, on what it read, until it stops. */
  stopping: boolean;
  references: ConsumerReference[];
}

/** Tags of the resources that can carry a policy, most specific first. */
export interface TagLevel {
  /** `task`, `service`, `job`, `job-definition` or `job-queue`. */
  level: string;
  tags: Record<string, string>;
  /**
   * The tags could not be read again and may be older than the limit (a job definition's, see
   * TAGS_MAX_AGE_MS): an opt-out added since may be missing, so they never decide a restart.
   */
  outdated?: boolean;
}

/** A deployment of an ECS service, as DescribeServices reports it. */
export interface DeploymentState {
  id: string;
  /** PRIMARY (the newest), ACTIVE (being replaced) or INACTIVE. */
  status: string;
  /** IN_PROGRESS, COMPLETED or FAILED; `null` where AWS does not report it (Classic Load Balancers). */
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | null;
  createdAt: string | null;
  /** The last time ECS updated the deployment: how a stalled rollout is told apart. */
  updatedAt: string | null;
}

/** ACTIVE, DRAINING (deleted, tasks still stopping), INACTIVE (deleted), or MISSING (unknown to ECS). */
export type ServiceStatus = 'ACTIVE' | 'DRAINING' | 'INACTIVE' | 'MISSING';

export interface ServiceDetails {
  cluster: string;
  status: ServiceStatus;
  deploymentController: string;
  /** Newest first. */
  deployments: DeploymentState[];
  desiredCount: number;
}

/** What resubmitting a Batch job needs to submit the same job again. */
export interface JobDetails {
  jobId: string;
  queue: string;
  definitionArn: string;
  parameters: Record<string, string>;
  /** The overrides and settings of the original SubmitJob, as DescribeJobs returns them. */
  submit: Record<string, unknown>;
  /** The job the watcher already submitted in its place, if one is queued or running. */
  replacedBy: string | null;
  /** An array job's size (its children are its runs); `null` for other jobs. */
  arraySize: number | null;
  /** A multi-node job's node count (its nodes are its runs); `null` for other jobs. */
  numNodes: number | null;
  /** A parent whose children or nodes could not be listed: judged stale, never restarted. */
  childrenUnknown: boolean;
}

/**
 * Why a consumer or run is stale (`created-before`, `time-unknown`) or fresh (the rest):
 * - `created-before`: AWS created it before its record of the change, so it may have fetched the old value;
 * - `time-unknown`: AWS gave no creation time, so it is counted as stale;
 * - `created-after`: created after the change, it can only have read the new value;
 * - `not-started`: a Batch job with no container yet: it will read the new value;
 * - `replaced`: a deployment begun after the change is replacing its stale tasks;
 * - `unaffected`: the change does not alter what it reads (a pinned version, a label, a notice);
 * - `no-run`: nothing of it runs.
 */
export type VerdictCause =
  | 'created-before'
  | 'time-unknown'
  | 'created-after'
  | 'not-started'
  | 'replaced'
  | 'unaffected'
  | 'no-run';

/** A running consumer of one or more references, assessed against the changes. */
export interface Consumer {
  kind: ConsumerKind;
  arn: string;
  name: string;
  region: string;
  account: string | null;
  /** The cluster (ECS) or job queue (Batch) ARN. */
  parent: string | null;
  references: ConsumerReference[];
  runs: Run[];
  tags: TagLevel[];
  stale: boolean;
  /** Why it is or is not stale, as a typed fact that decisions read. */
  cause: VerdictCause;
  /** The same, written once for people. */
  staleReason: string;
  /** Of its running tasks or jobs (an array job's children), how many may hold an old value. */
  staleRuns: number;
  /** A service's deployment begun after the change whose rollout failed or stalled, if any. */
  stuckRollout: string | null;
  /**
   * Images its containers pull by tag, not by digest: a forced new deployment resolves the tag
   * again and may ship new code with the new value (ECS services only).
   */
  mutableImages: string[];
  /** The changes that make it stale (or would, but for pins and fresh deployments). */
  changes: Change[];
  service: ServiceDetails | null;
  job: JobDetails | null;
  /**
   * What the watcher already did to it for a change it is still stale for, as that change's
   * rotation record says (set by the pipeline when it keeps records): a second restart would end
   * as the first did.
   */
  restarted?: RestartKind;
}

export interface DiscoveryResult {
  changes: Change[];
  consumers: Consumer[];
  gaps: Gap[];
  complete: boolean;
}

/** How far a scan of one region has got, for the CLI's progress line. */
export interface Progress {
  region: string;
  phase: string;
  done: number;
  total: number;
}
