import {
  DescribeJobsCommand,
  ListJobsCommand,
  SubmitJobCommand,
  type SubmitJobCommandInput,
  TerminateJobCommand,
} from '@aws-sdk/client-batch';
import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { type AwsClients, describeError, isAmbiguous, isThrottling } from '../aws/index.js';
import { type Consumer, REPLACES_TAG, serviceDetails } from '../discovery/index.js';
import type { PlannedAction } from '../plan.js';
import type { Outcome } from '../report.js';
import type { Leases } from '../state/lease.js';

/** One strategy per kind of restart: what it calls, and what it reports. */
interface Restart {
  apply(consumer: Consumer, clients: AwsClients): Promise<string>;
}

const STRATEGIES: Record<PlannedAction['kind'], Restart> = {
  redeploy: { apply: redeploy },
  resubmit: { apply: resubmit },
};

export interface ExecuteOptions {
  clients: AwsClients;
  /** Change nothing: every planned action is reported as skipped. */
  dryRun: boolean;
  /** Claims on consumers shared by concurrent runs; absent in a lone process (the CLI). */
  leases?: Leases;
}

/** The result of one action, with the consumer it was for (to map failures back to SQS records). */
export interface ActionOutcome extends Outcome {
  consumer: Consumer;
  /** Not done now, but not failed either: the records of its changes are kept for a retry. */
  retry?: boolean;
}

/**
 * Carries out the planned actions, each on its own: one failure never stops the others. The
 * outcome of each is `done` (with what changed), `failed` (with the error) or `skipped` (why).
 */
export async function execute(
  actions: PlannedAction[],
  options: ExecuteOptions,
): Promise<ActionOutcome[]> {
  return Promise.all(
    actions.map(async (action): Promise<ActionOutcome> => {
      const base = { kind: action.kind, target: action.consumer.arn, consumer: action.consumer };
      if (action.status === 'skipped') return { ...base, status: 'skipped', detail: action.detail };
      if (options.dryRun)
        return {
          ...base,
          status: 'skipped',
          detail: 'dry run (WATCHER_DRY_RUN=true): nothing was changed',
        };
      const lease = `${action.kind}#${action.consumer.arn}`;
      try {
        if (options.leases && !(await options.leases.acquire(lease)))
          return {
            ...base,
            status: 'skipped',
            detail: 'another run acted on it moments ago; its records come back after it',
            retry: true,
          };
      } catch (error) {
        // The state table could not be asked: act on nothing blindly, keep the records.
        return {
          ...base,
          status: 'failed',
          detail: `the lease could not be taken: ${describeError(error)}`,
        };
      }
      try {
        return {
          ...base,
          status: 'done',
          detail: await STRATEGIES[action.kind].apply(action.consumer, options.clients),
        };
      } catch (error) {
        // Give the consumer back only when nothing can have changed, so that a retry may act at
        // once; after a partial or unknown outcome the lease keeps concurrent runs off it.
        if (!(error instanceof MayHaveChanged))
          await options.leases?.release(lease).catch(() => undefined);
        if (error instanceof ConsumerGoneError)
          return { ...base, status: 'skipped', detail: error.message };
        const detail = error instanceof MayHaveChanged ? error.message : describeError(error);
        return { ...base, status: 'failed', detail };
      }
    }),
  );
}

/** The consumer was deleted between discovery and the action: nothing to restart, nothing failed. */
class ConsumerGoneError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConsumerGoneError';
  }
}

/**
 * A failure after which AWS may have changed something: the answer to a restart was lost and the
 * read-back did not show it, or a resubmit's job was submitted but the old one not terminated.
 */
class MayHaveChanged extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MayHaveChanged';
  }
}

/** ECS's answers to UpdateService for a service that was deleted (DRAINING, INACTIVE or unknown). */
const GONE = new Set(['ServiceNotActiveException', 'ServiceNotFoundException']);

/**
 * UpdateService with forceNewDeployment: ECS replaces every task, and new tasks read the new
 * value. Sent once (see `changeOnce`): after a failure that may hide a success, the service is
 * read back, and a deployment other than the one discovery saw, begun after the change, is the
 * one it made.
 */
async function redeploy(consumer: Consumer, clients: AwsClients): Promise<string> {
  const cluster = consumer.service?.cluster ?? consumer.parent;
  if (!cluster) throw new Error('the service has no cluster');
  const ecs = clients.once('ecs', consumer.region);
  try {
    return await changeOnce(
      async () => {
        const reply = await clients.limited('ecs', consumer.region, () =>
          ecs.send(
            new UpdateServiceCommand({ cluster, service: consumer.arn, forceNewDeployment: true }),
          ),
        );
        const primary =
          reply.service?.deployments?.find((deployment) => deployment.status === 'PRIMARY') ??
          reply.service?.deployments?.[0];
        return `new deployment ${primary?.id ?? '(id not returned)'}`;
      },
      async (since, error) => {
        const made = await deploymentSince(consumer, cluster, since, clients);
        return made
          ? `new deployment ${made} (the answer was lost: ${describeError(error)}; DescribeServices shows it)`
          : null;
      },
    );
  } catch (error) {
    if (error instanceof Error && GONE.has(error.name))
      throw new ConsumerGoneError(
        `not redeployed: the service was deleted before the redeploy (${error.name})`,
        { cause: error },
      );
    throw error;
  }
}

/** Sends of one throttled change at the most (a throttled call was refused: nothing was done). */
const SENDS = 3;

/**
 * Sends a call that changes something, never blindly twice. A throttled call was refused, so it
 * is sent again after a pause. After a failure that may hide a success (no answer, a 5xx),
 * `madeSince` reads AWS back: what it finds is the result; if it finds nothing the call is not
 * sent again (AWS may still be carrying it out, and its reads may lag): the action fails with
 * `MayHaveChanged`, its records come back, and the next run sees what AWS did.
 */
async function changeOnce<T>(
  send: () => Promise<T>,
  madeSince: (since: number, error: unknown) => Promise<T | null>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const sentAt = Date.now();
    try {
      return await send();
    } catch (error) {
      if (isThrottling(error) && attempt < SENDS) {
        await pause(attempt);
        continue;
      }
      if (!isAmbiguous(error)) throw error;
      // A read-back that fails tells nothing either: AWS may still have done it.
      const made = await madeSince(sentAt, error).catch((readBack: unknown) => {
        throw new MayHaveChanged(
          `${describeError(error)}; reading it back failed too (${describeError(readBack)}): the next run looks again`,
          { cause: error },
        );
      });
      if (made !== null) return made;
      throw new MayHaveChanged(
        `${describeError(error)}; AWS shows no result yet, so it is not sent again: the next run looks again`,
        { cause: error },
      );
    }
  }
}

function pause(attempt: number): Promise<void> {
  const ms = 100 * 2 ** attempt * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Clocks differ between this machine and AWS; a deployment this much older still counts as ours. */
const CLOCK_SKEW_MS = 60_000;

/**
 * The id of a deployment the lost call made: the service's newest, if it is not the one discovery
 * saw and began after the change (`since` only when the change has no time). Decided from AWS's
 * own records, so no clock of this machine is compared with AWS's.
 */
async function deploymentSince(
  consumer: Consumer,
  cluster: string,
  since: number,
  clients: AwsClients,
): Promise<string | null> {
  const ecs = clients.get('ecs', consumer.region);
  const reply = await clients.limited('ecs', consumer.region, () =>
    ecs.send(new DescribeServicesCommand({ cluster, services: [consumer.arn] })),
  );
  const newest = serviceDetails(cluster, reply.services?.[0]).deployments[0];
  const seen = consumer.service?.deployments[0]?.id;
  const changed = consumer.changes
    .map((change) => Date.parse(change.changedAt))
    .filter(Number.isFinite);
  const after = changed.length > 0 ? Math.max(...changed) : since - CLOCK_SKEW_MS;
  const began = newest?.createdAt ? Date.parse(newest.createdAt) : 0;
  return newest?.id && newest.id !== seen && began > after ? newest.id : null;
}

/**
 * SubmitJob with the same definition, queue, parameters, overrides, retry strategy, timeout and
 * tags, then TerminateJob of the old job with a reason naming the change. The new job is tagged
 * with the id it replaces, so a repeated event finds it and does not resubmit twice.
 */
async function resubmit(consumer: Consumer, clients: AwsClients): Promise<string> {
  const job = consumer.job;
  if (!job) throw new Error('the job has no details to resubmit with');
  if (job.replacedBy) {
    await terminate(consumer, job.jobId, job.replacedBy, clients);
    return `job ${job.jobId} was already resubmitted as ${job.replacedBy}; it is terminated now`;
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
  const submitted = await submitOnce(consumer, input, clients);
  try {
    await terminate(consumer, job.jobId, submitted.jobId as string, clients);
  } catch (error) {
    // The next run finds the new job tagged with this one's id and only terminates this one.
    throw new MayHaveChanged(
      `resubmitted as job ${submitted.jobId}, but job ${job.jobId} could not be terminated and still runs on the old value: ${describeError(error)}`,
    );
  }
  return `resubmitted as job ${submitted.jobId}; job ${job.jobId} terminated`;
}

/**
 * SubmitJob, never blindly twice (see `changeOnce`). After a failure that may hide a success,
 * the queue is searched for a job of the same name tagged as replacing this one: if AWS made it,
 * it is the resubmitted job.
 */
async function submitOnce(
  consumer: Consumer,
  input: SubmitJobCommandInput,
  clients: AwsClients,
): Promise<{ jobId?: string }> {
  return changeOnce<{ jobId?: string }>(
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
  const batch = clients.get('batch', consumer.region);
  const listed = await clients.limited('batch', consumer.region, () =>
    batch.send(
      new ListJobsCommand({
        jobQueue: input.jobQueue,
        filters: [{ name: 'JOB_NAME', values: [input.jobName ?? consumer.name] }],
      }),
    ),
  );
  const recent = (listed.jobSummaryList ?? [])
    .filter((job) => (job.createdAt ?? 0) >= since - CLOCK_SKEW_MS && job.jobId)
    .map((job) => job.jobId as string);
  if (recent.length === 0) return null;
  const described = await clients.limited('batch', consumer.region, () =>
    batch.send(new DescribeJobsCommand({ jobs: recent.slice(0, 100) })),
  );
  const replaces = input.tags?.[REPLACES_TAG];
  return (
    described.jobs?.find((job) => replaces && job.tags?.[REPLACES_TAG] === replaces)?.jobId ?? null
  );
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
