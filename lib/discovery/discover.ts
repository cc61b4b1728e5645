import type { JobDetail, KeyValuePair } from '@aws-sdk/client-batch';
import type { Service } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../aws/index.js';
import { type Change, dedupeChanges } from '../events/index.js';
import { lastPart, refersTo, siblingArn, type Target } from '../refs/index.js';
import {
  childrenOf,
  describeJobs,
  type ScannedChild,
  type ScannedJob,
  scanBatch,
} from './batch.js';
import type { DefinitionCache } from './cache.js';
import { describeServices, type ScannedTask, scanEcs } from './ecs.js';
import { latestChanges, withRecordedTimes } from './metadata.js';
import { tagRecord } from './shared.js';
import { assessConsumer, touching, type Verdict } from './staleness.js';
import type {
  Consumer,
  ConsumerReference,
  DeploymentState,
  DiscoveryResult,
  Gap,
  JobDetails,
  Progress,
  Run,
  ServiceDetails,
} from './types.js';

/** What to look for: consumers of given changes, of one target, or every stale consumer. */
export type Query = { changes: Change[] } | { target: Target } | { drift: true };

export interface DiscoverOptions {
  regions: string[];
  clients: AwsClients;
  cache: DefinitionCache;
  now?: () => Date;
  onProgress?: (progress: Progress) => void;
  /** Which parameter and secret names count (WATCHER_NAME_PREFIX); all when absent. */
  watch?: (name: string) => boolean;
}

/**
 * Finds the running consumers (ECS services, standalone tasks, Batch jobs) in every region that
 * reference the query's parameters or secrets, and says whether each one holds an old value.
 * Parts of the account that cannot be read are listed as gaps; the rest is still answered.
 */
export async function discover(query: Query, options: DiscoverOptions): Promise<DiscoveryResult> {
  const { regions, clients, cache, onProgress } = options;
  const now = options.now?.() ?? new Date();
  const gaps: Gap[] = [];
  const scanned = await Promise.all(
    regions.map(async (region) => {
      const [tasks, jobs] = await Promise.all([
        scanEcs(region, { clients, cache, onProgress }, gaps),
        scanBatch(region, { clients, cache, onProgress }, gaps),
      ]);
      return { tasks, jobs };
    }),
  );
  const tasks = scanned.flatMap((s) => s.tasks);
  const jobs = scanned.flatMap((s) => s.jobs);
  const changes = await changesFor(
    query,
    tasks,
    jobs,
    clients,
    gaps,
    now,
    options.watch ?? (() => true),
  );
  const matchedTasks = tasks.flatMap((task) => narrow(task, changes));
  const matchedJobs = jobs.flatMap((job) => narrow(job, changes));
  const [services, jobDetails, children] = await Promise.all([
    servicesOf(matchedTasks, clients, gaps),
    jobDetailsOf(matchedJobs, clients, gaps),
    childrenOfParents(matchedJobs, clients, gaps),
  ]);
  const replacements = replacementsOf(jobDetails);
  const consumers = [
    ...taskConsumers(matchedTasks, services, changes, gaps, now),
    ...matchedJobs.map((job) =>
      jobConsumer(
        job,
        jobDetails.get(job.jobId),
        changes,
        replacements.get(job.jobId) ?? null,
        children,
        now,
      ),
    ),
  ];
  consumers.sort((a, b) => a.kind.localeCompare(b.kind) || a.arn.localeCompare(b.arn));
  return { changes, consumers, gaps, complete: gaps.length === 0 };
}

async function changesFor(
  query: Query,
  tasks: ScannedTask[],
  jobs: ScannedJob[],
  clients: AwsClients,
  gaps: Gap[],
  now: Date,
  watch: (name: string) => boolean,
): Promise<Change[]> {
  if ('changes' in query) {
    const recorded = await withRecordedTimes(
      query.changes.filter((change) => watch(change.name)),
      clients,
      gaps,
    );
    // Several events of one rotation (PutSecretValue, UpdateSecretVersionStage, RotationSucceeded)
    // name the same recorded change once their times are AWS's.
    return dedupeChanges(recorded);
  }
  if ('target' in query) return latestChanges([query.target], clients, gaps, now);
  // Unwatched values are left out before their metadata is read, not after.
  const targets = [...tasks, ...jobs].flatMap((consumer) =>
    consumer.references.map((ref) => ref.target).filter((target) => watch(target.name)),
  );
  return latestChanges(targets, clients, gaps, now);
}

/** The item with only the references some change names, or nothing if none does. */
function narrow<T extends { references: ConsumerReference[] }>(item: T, changes: Change[]): T[] {
  const references = item.references.filter((ref) =>
    changes.some((change) => refersTo(ref.target, change)),
  );
  return references.length > 0 ? [{ ...item, references }] : [];
}

/**
 * The service that started a task: its group names the service and its `startedBy` is one of the
 * service's deployments (`ecs-svc/…`). A task started by hand (RunTask) into a service's group is
 * a task no service started: no rollout of the service replaces it.
 */
function serviceName(task: ScannedTask): string | null {
  if (!task.group?.startsWith('service:')) return null;
  if (task.startedBy !== null && !task.startedBy.startsWith('ecs-svc/')) return null;
  return task.group.slice('service:'.length);
}

async function servicesOf(
  tasks: ScannedTask[],
  clients: AwsClients,
  gaps: Gap[],
): Promise<Map<string, Service>> {
  const byCluster = new Map<string, { region: string; cluster: string; names: Set<string> }>();
  for (const task of tasks) {
    const name = serviceName(task);
    if (!name) continue;
    const entry = byCluster.get(task.cluster) ?? {
      region: task.region,
      cluster: task.cluster,
      names: new Set<string>(),
    };
    entry.names.add(name);
    byCluster.set(task.cluster, entry);
  }
  const found = new Map<string, Service>();
  await Promise.all(
    [...byCluster.values()].map(async ({ region, cluster, names }) => {
      for (const service of await describeServices(region, cluster, [...names], clients, gaps)) {
        if (service.serviceName) found.set(`${cluster}|${service.serviceName}`, service);
      }
    }),
  );
  return found;
}

async function jobDetailsOf(
  jobs: ScannedJob[],
  clients: AwsClients,
  gaps: Gap[],
): Promise<Map<string, JobDetail>> {
  const byRegion = new Map<string, string[]>();
  for (const job of jobs)
    byRegion.set(job.region, [...(byRegion.get(job.region) ?? []), job.jobId]);
  const found = new Map<string, JobDetail>();
  await Promise.all(
    [...byRegion].map(async ([region, ids]) => {
      for (const detail of await describeJobs(region, ids, clients, gaps))
        if (detail.jobId) found.set(detail.jobId, detail);
    }),
  );
  return found;
}

/**
 * The starting and running children of each array job and nodes of each multi-node job, by the
 * parent's id; `undefined` for a parent whose children could not be listed.
 */
async function childrenOfParents(
  jobs: ScannedJob[],
  clients: AwsClients,
  gaps: Gap[],
): Promise<Map<string, ScannedChild[] | undefined>> {
  // A SUBMITTED or RUNNABLE parent has no child or node running yet: nothing to list.
  const parents = jobs.filter(
    (job) =>
      (job.arraySize !== null || job.numNodes !== null) &&
      job.status !== 'SUBMITTED' &&
      job.status !== 'RUNNABLE',
  );
  const lists = await Promise.all(parents.map((job) => childrenOf(job, clients, gaps)));
  return new Map(parents.map((job, i) => [job.jobId, lists[i]]));
}

function taskConsumers(
  tasks: ScannedTask[],
  services: Map<string, Service>,
  changes: Change[],
  gaps: Gap[],
  now: Date,
): Consumer[] {
  const groups = new Map<string, ScannedTask[]>();
  for (const task of tasks) {
    const name = serviceName(task);
    const key = name ? `${task.cluster}|${name}` : task.arn;
    groups.set(key, [...(groups.get(key) ?? []), task]);
  }
  return [...groups].map(([key, members]) => {
    const first = members[0] as ScannedTask;
    const name = serviceName(first);
    const runs = members.map(toRun);
    if (!name) {
      const verdict = assessConsumer('ecs-task', runs, changes, null, now);
      return {
        kind: 'ecs-task',
        arn: first.arn,
        name: `${first.group ?? 'task'} ${lastPart(first.arn)}`,
        region: first.region,
        account: first.account,
        parent: first.cluster,
        references: mergeReferences(runs),
        runs,
        tags: [{ level: 'task', tags: first.tags }],
        ...verdictFields(verdict),
        mutableImages: mutableImages(members),
        service: null,
        job: null,
      };
    }
    const described = services.get(key);
    // Unreadable (the DescribeServices call failed) is not the same as gone (AWS says MISSING).
    const unreadable = gaps.some(
      (gap) => gap.api === 'ecs:DescribeServices' && gap.scope === first.cluster,
    );
    const details = described || !unreadable ? serviceDetails(first.cluster, described) : null;
    const verdict = assessConsumer('ecs-service', runs, changes, details, now);
    return {
      kind: 'ecs-service',
      arn:
        described?.serviceArn ??
        siblingArn(first.cluster, `service/${lastPart(first.cluster)}/${name}`),
      name,
      region: first.region,
      account: first.account,
      parent: first.cluster,
      references: mergeReferences(runs),
      runs,
      tags: [{ level: 'service', tags: tagRecord(described?.tags) }],
      ...verdictFields(verdict),
      mutableImages: mutableImages(members),
      staleReason: described
        ? verdict.reason
        : `${verdict.reason} (${details ? 'DescribeServices says the service does not exist' : 'DescribeServices failed: deployments unknown'})`,
      service: details,
      job: null,
    };
  });
}

/** A service as the watcher judges it: its status, controller and deployments, newest first. */
export function serviceDetails(cluster: string, service: Service | undefined): ServiceDetails {
  if (!service)
    return {
      cluster,
      status: 'MISSING',
      deploymentController: 'ECS',
      deployments: [],
      desiredCount: 0,
    };
  const deployments = (service.deployments ?? [])
    .map(
      (deployment): DeploymentState => ({
        id: deployment.id ?? '?',
        status: deployment.status ?? '?',
        rolloutState: deployment.rolloutState ?? null,
        createdAt: deployment.createdAt?.toISOString() ?? null,
        updatedAt: deployment.updatedAt?.toISOString() ?? null,
      }),
    )
    .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  const status = service.status;
  return {
    cluster,
    status: status === 'DRAINING' || status === 'INACTIVE' ? status : 'ACTIVE',
    deploymentController: service.deploymentController?.type ?? 'ECS',
    deployments,
    desiredCount: service.desiredCount ?? 0,
  };
}

/** The images the tasks pull by tag: an image pinned by digest (`@sha256:…`) cannot change. */
function mutableImages(tasks: ScannedTask[]): string[] {
  return [...new Set(tasks.flatMap((task) => task.images))].filter((image) => !image.includes('@'));
}

function verdictFields(verdict: Verdict) {
  return {
    stale: verdict.stale,
    cause: verdict.cause,
    staleReason: verdict.reason,
    staleRuns: verdict.staleRuns,
    stuckRollout: verdict.stuckRollout,
    changes: verdict.changes,
  };
}

/** Tag a resubmitted job carries, naming the job it replaces (so a repeated event does not resubmit twice). */
export const REPLACES_TAG = 'rotation-watcher:replaces';

function replacementsOf(details: Map<string, JobDetail>): Map<string, string> {
  const out = new Map<string, string>();
  for (const detail of details.values()) {
    const replaced = detail.tags?.[REPLACES_TAG];
    if (replaced && detail.jobId) out.set(replaced, detail.jobId);
  }
  return out;
}

function jobConsumer(
  job: ScannedJob,
  detail: JobDetail | undefined,
  changes: Change[],
  replacedBy: string | null,
  children: Map<string, ScannedChild[] | undefined>,
  now: Date,
): Consumer {
  const parent = job.arraySize !== null || job.numNodes !== null;
  const listed = children.has(job.jobId);
  const known = children.get(job.jobId);
  // Children that could not be listed are unknown, not absent: the plan notifies instead of
  // restarting every child on a guess.
  const runs = !parent ? [toRun(job)] : (known ?? []).map((child) => childRun(job, child));
  const judged = assessConsumer('batch-job', runs, changes, null, now);
  // A deleted value is an alarm for the job whatever its children do: they cannot start.
  const deletions = touching(toRun(job), changes).filter((change) => change.effect === 'deleted');
  const verdict: Verdict =
    parent && listed && !known
      ? {
          ...judged,
          stale: true,
          cause: 'time-unknown',
          reason: 'its children could not be listed (see the warnings), counted as stale',
        }
      : judged;
  verdict.changes = [...new Set([...verdict.changes, ...deletions])];
  return {
    kind: 'batch-job',
    arn: job.arn,
    name: job.name,
    region: job.region,
    account: job.account,
    parent: job.queue,
    references: job.references,
    runs,
    tags: [
      { level: 'job', tags: tagRecord(detail?.tags) },
      {
        level: 'job-definition',
        tags: job.definitionTags,
        // Tags that could not be read again lately may lack an opt-out: they never restart.
        ...(job.definitionTagsOutdated ? { outdated: true } : {}),
      },
      { level: 'job-queue', tags: job.queueTags },
    ],
    ...verdictFields(verdict),
    mutableImages: [],
    service: null,
    job: { ...jobDetails(job, detail), replacedBy, childrenUnknown: parent && listed && !known },
  };
}

function jobDetails(
  job: ScannedJob,
  detail: JobDetail | undefined,
): Omit<JobDetails, 'replacedBy' | 'childrenUnknown'> {
  return {
    jobId: job.jobId,
    queue: job.queue,
    definitionArn: job.definitionArn,
    parameters: detail?.parameters ?? {},
    submit: detail ? submitSettings(detail) : {},
    arraySize: job.arraySize,
    numNodes: job.numNodes,
  };
}

/** The parts of a job's description that SubmitJob takes back, so a resubmit is the same job. */
function submitSettings(detail: JobDetail): Record<string, unknown> {
  const environment = withoutBatchVariables(detail.container?.environment) ?? [];
  return {
    retryStrategy: detail.retryStrategy,
    timeout: detail.timeout,
    tags: detail.tags,
    propagateTags: detail.propagateTags,
    schedulingPriority: detail.schedulingPriority,
    shareIdentifier: detail.shareIdentifier,
    arrayProperties: detail.arrayProperties?.size
      ? { size: detail.arrayProperties.size }
      : undefined,
    containerOverrides: detail.container
      ? {
          command: detail.container.command,
          environment: environment.length ? environment : undefined,
          resourceRequirements: detail.container.resourceRequirements,
          instanceType: detail.container.instanceType,
        }
      : undefined,
    // ecsProperties jobs: each container's command, environment and resources, by name.
    ecsPropertiesOverride: detail.ecsProperties?.taskProperties?.length
      ? {
          taskProperties: detail.ecsProperties.taskProperties.map((task) => ({
            containers: (task.containers ?? []).map((container) => ({
              name: container.name,
              command: container.command,
              environment: withoutBatchVariables(container.environment),
              resourceRequirements: container.resourceRequirements,
            })),
          })),
        }
      : undefined,
    // Multi-node jobs: the node count (per-range overrides are not in the job's description).
    nodeOverrides: detail.nodeProperties?.numNodes
      ? { numNodes: detail.nodeProperties.numNodes }
      : undefined,
  };
}

/** AWS_BATCH_* variables are set by Batch itself and cannot be overridden on submit. */
function withoutBatchVariables(
  environment: KeyValuePair[] | undefined,
): KeyValuePair[] | undefined {
  const kept = (environment ?? []).filter((pair) => !pair.name?.startsWith('AWS_BATCH_'));
  return kept.length ? kept : undefined;
}

function toRun(item: ScannedTask | ScannedJob): Run {
  return {
    arn: item.arn,
    definitionArn: item.definitionArn,
    status: 'lastStatus' in item ? item.lastStatus : item.status,
    createdAt: item.createdAt,
    startedAt: item.startedAt,
    startedBy: 'startedBy' in item ? item.startedBy : null,
    stopping: 'stopping' in item ? item.stopping : false,
    references: item.references,
  };
}

function childRun(parent: ScannedJob, child: ScannedChild): Run {
  return {
    arn: child.arn,
    definitionArn: parent.definitionArn,
    status: child.status,
    createdAt: child.createdAt,
    startedAt: child.startedAt,
    startedBy: null,
    stopping: false,
    references: parent.references,
  };
}

/** The references of all runs, each once (a service's tasks usually share one definition). */
function mergeReferences(runs: Run[]): ConsumerReference[] {
  const seen = new Map<string, ConsumerReference>();
  for (const ref of runs.flatMap((run) => run.references)) {
    seen.set(
      `${ref.container}|${ref.field}|${ref.name}|${ref.valueFrom}|${ref.target.region}`,
      ref,
    );
  }
  return [...seen.values()];
}
