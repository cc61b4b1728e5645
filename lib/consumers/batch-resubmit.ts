// A Batch job's restart: the same job submitted again, tagged with the job it replaces, and the
// old one terminated; and what of a job's description a resubmit takes back.

import {
  type JobDetail,
  type KeyValuePair,
  SubmitJobCommand,
  type SubmitJobCommandInput,
  TerminateJobCommand,
} from '@aws-sdk/client-batch';
import { type AwsClients, describeError } from '../aws/index.js';
import type { Consumer } from '../domain/index.js';
import { jobsDescribed, jobsPage } from './batch-reads.js';
import { MayHaveChanged, NotRestartableError } from './errors.js';
import { type ChangeOnce, CLOCK_SKEW_MS, type Restarted } from './restart.js';

/** Tag a resubmitted job carries, naming the job it replaces (so a repeated event does not resubmit twice). */
export const REPLACES_TAG = 'rotation-watcher:replaces';

/**
 * SubmitJob with the same definition, queue, parameters, overrides, retry strategy, timeout and
 * tags, then TerminateJob of the old job with a reason naming the change. The new job is tagged
 * with the id it replaces, so a repeated event finds it and does not resubmit twice.
 */
export async function resubmit(
  consumer: Consumer,
  clients: AwsClients,
  once: ChangeOnce,
): Promise<Restarted> {
  const job = consumer.job;
  if (!job) throw new NotRestartableError('the job has no details to resubmit with');
  if (job.replacedBy) {
    await terminate(consumer, job.jobId, job.replacedBy, clients);
    return {
      detail: `job ${job.jobId} was already resubmitted as ${job.replacedBy}; it is terminated now`,
      ref: job.replacedBy,
    };
  }
  const submit = job.submit as Partial<SubmitJobCommandInput> & {
    tags?: Record<string, string>;
    schedulingPriority?: number;
  };
  const { schedulingPriority, tags, ...settings } = submit;
  const input: SubmitJobCommandInput = {
    ...settings,
    jobName: consumer.name,
    jobQueue: job.queue,
    jobDefinition: job.definitionArn,
    parameters: job.parameters,
    tags: { ...withoutAwsTags(tags), [REPLACES_TAG]: job.jobId },
    ...(schedulingPriority !== undefined ? { schedulingPriorityOverride: schedulingPriority } : {}),
  };
  const submitted = await submitOnce(consumer, input, clients, once);
  try {
    await terminate(consumer, job.jobId, submitted.jobId as string, clients);
  } catch (error) {
    // The next run finds the new job tagged with this one's id and only terminates this one.
    throw new MayHaveChanged(
      `resubmitted as job ${submitted.jobId}, but job ${job.jobId} could not be terminated and still runs on the old value: ${describeError(error)}`,
      { cause: error },
    );
  }
  return {
    detail: `resubmitted as job ${submitted.jobId}; job ${job.jobId} terminated`,
    ref: submitted.jobId ?? null,
  };
}

/** The parts of a job's description that SubmitJob takes back, so a resubmit is the same job. */
export function submitSettings(detail: JobDetail): Record<string, unknown> {
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

/**
 * SubmitJob, never blindly twice (`once`). After a failure that may hide a success, the queue is
 * searched for a job of the same name tagged as replacing this one: if AWS made it, it is the
 * resubmitted job.
 */
async function submitOnce(
  consumer: Consumer,
  input: SubmitJobCommandInput,
  clients: AwsClients,
  once: ChangeOnce,
): Promise<{ jobId?: string }> {
  return once<{ jobId?: string }>(
    () =>
      clients.limited('batch', consumer.region, () =>
        clients.once('batch', consumer.region).send(new SubmitJobCommand(input)),
      ),
    async (since) => {
      const made = await submittedSince(consumer, input, since, clients);
      return made ? { jobId: made } : null;
    },
  );
}

async function submittedSince(
  consumer: Consumer,
  input: SubmitJobCommandInput,
  since: number,
  clients: AwsClients,
): Promise<string | null> {
  const listed = await jobsPage(
    consumer.region,
    {
      jobQueue: input.jobQueue,
      filters: [{ name: 'JOB_NAME', values: [input.jobName ?? consumer.name] }],
    },
    clients,
  );
  const recent = (listed.jobSummaryList ?? [])
    .filter((job) => (job.createdAt ?? 0) >= since - CLOCK_SKEW_MS && job.jobId)
    .map((job) => job.jobId as string);
  if (recent.length === 0) return null;
  const described = await jobsDescribed(consumer.region, recent.slice(0, 100), clients);
  const replaces = input.tags?.[REPLACES_TAG];
  return described.find((job) => replaces && job.tags?.[REPLACES_TAG] === replaces)?.jobId ?? null;
}

/** TerminateJob of the old job, with a reason naming its replacement and the changed values. */
async function terminate(
  consumer: Consumer,
  jobId: string,
  replacement: string,
  clients: AwsClients,
): Promise<void> {
  const names = [...new Set(consumer.changes.map((change) => change.name))].join(', ');
  const reason = `rotation-watcher: resubmitted as ${replacement} because ${names} changed`.slice(
    0,
    255,
  );
  const batch = clients.get('batch', consumer.region);
  await clients.limited('batch', consumer.region, () =>
    batch.send(new TerminateJobCommand({ jobId, reason })),
  );
}

/** Tags under `aws:` are AWS's own and cannot be set on submit. */
function withoutAwsTags(tags: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(tags ?? {}).filter(([key]) => !key.startsWith('aws:')));
}

/** AWS_BATCH_* variables are set by Batch itself and cannot be overridden on submit. */
function withoutBatchVariables(
  environment: KeyValuePair[] | undefined,
): KeyValuePair[] | undefined {
  const kept = (environment ?? []).filter((pair) => !pair.name?.startsWith('AWS_BATCH_'));
  return kept.length ? kept : undefined;
}
