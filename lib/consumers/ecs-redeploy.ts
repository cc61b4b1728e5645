// An ECS service's restart: UpdateService with forceNewDeployment, sent once, read back after an
// answer that was lost.

import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { type AwsClients, classifyAwsError, describeError } from '../aws/index.js';
import type { Consumer } from '../domain/index.js';
import { readService, serviceDetails } from './ecs-reads.js';
import { ConsumerGoneError, NotRestartableError } from './errors.js';
import { type ChangeOnce, CLOCK_SKEW_MS, type Restarted } from './restart.js';

/**
 * UpdateService with forceNewDeployment: ECS replaces every task, and new tasks read the new
 * value. Sent once (`once`): after a failure that may hide a success, the service is read back,
 * and a deployment other than the one discovery saw, begun after the change, is the one it made.
 */
export async function redeploy(
  consumer: Consumer,
  clients: AwsClients,
  once: ChangeOnce,
): Promise<Restarted> {
  const cluster = consumer.service?.cluster ?? consumer.parent;
  if (!cluster) throw new NotRestartableError('the service has no cluster');
  const ecs = clients.once('ecs', consumer.region);
  try {
    return await once(
      async () => {
        const reply = await clients.limited('ecs', consumer.region, () =>
          ecs.send(
            new UpdateServiceCommand({ cluster, service: consumer.arn, forceNewDeployment: true }),
          ),
        );
        const primary =
          reply.service?.deployments?.find((deployment) => deployment.status === 'PRIMARY') ??
          reply.service?.deployments?.[0];
        return {
          detail: `new deployment ${primary?.id ?? '(id not returned)'}`,
          ref: primary?.id ?? null,
        };
      },
      async (since, error) => {
        const made = await deploymentSince(consumer, cluster, since, clients);
        return made
          ? {
              detail: `new deployment ${made} (the answer was lost: ${describeError(error)}; DescribeServices shows it)`,
              ref: made,
            }
          : null;
      },
    );
  } catch (error) {
    // ECS's answer for a service deleted meanwhile (DRAINING, INACTIVE or unknown).
    if (error instanceof Error && isGone(error))
      throw new ConsumerGoneError(
        `not redeployed: the service was deleted before the redeploy (${error.name})`,
        { cause: error },
      );
    throw error;
  }
}

function isGone(error: Error): boolean {
  const failure = classifyAwsError(error, 'ecs');
  return failure.kind === 'not-found' && failure.missing === 'service';
}

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
  const described = await readService(consumer.region, cluster, consumer.arn, clients);
  const newest = serviceDetails(cluster, described).deployments[0];
  const seen = consumer.service?.deployments[0]?.id;
  const changed = consumer.changes
    .map((change) => Date.parse(change.changedAt))
    .filter(Number.isFinite);
  const after = changed.length > 0 ? Math.max(...changed) : since - CLOCK_SKEW_MS;
  const began = newest?.createdAt ? Date.parse(newest.createdAt) : 0;
  return newest?.id && newest.id !== seen && began > after ? newest.id : null;
}
