import type { Change } from '../events/index.js';
import type { Target } from '../refs/index.js';

export type ConsumerKind = 'ecs-service' | 'ecs-task' | 'batch-job';

/** A reference held by a consumer, as the CLI contract prints it. */
export interface ConsumerReference {
  container: string | null;
  field: string;
  name: string | null;
  valueFrom: string;
  target: Target;
}

/** One running (or about to run) container of a consumer: an ECS task or a Batch job. */
export interface Run {
  arn: string;
  /** The task or job definition it was started from. */
  definitionArn: string;
  /** ECS lastStatus or Batch status. */
  status: string;
  /** When its containers started (and read their secrets); `null` if unknown or not yet. */
  startedAt: string | null;
  references: ConsumerReference[];
}

/** Tags of the resources that can carry a policy, most specific first. */
export interface TagLevel {
  /** `task`, `service`, `job`, `job-definition` or `job-queue`. */
  level: string;
  tags: Record<string, string>;
}

export interface ServiceDetails {
  cluster: string;
  deploymentController: string;
  /** The newest deployment: a service redeployed after a change is fresh. */
  newestDeployment: { id: string; createdAt: string | null; status: string } | null;
  desiredCount: number;
  /** DescribeServices answered that the service does not exist (its tasks outlived it). */
  missing?: boolean;
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
}

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
  staleReason: string;
  /** The changes that make it stale (or would, but for pins and fresh deployments). */
  changes: Change[];
  service: ServiceDetails | null;
  job: JobDetails | null;
}

/** A part of the account that could not be read: the answer is incomplete without it. */
export interface Gap {
  region: string;
  /** What was being read: a cluster or queue ARN, or a service name for account-wide calls. */
  scope: string;
  api: string;
  error: string;
}

export interface DiscoveryResult {
  changes: Change[];
  consumers: Consumer[];
  gaps: Gap[];
  complete: boolean;
}

export interface Progress {
  region: string;
  phase: string;
  done: number;
  total: number;
}
