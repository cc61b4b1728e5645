import type { Nudge } from '../domain/index.js';
import { clip } from '../refs/errors.js';
import { splitArn } from '../refs/index.js';
import { MalformedEventError } from './errors.js';
import { BatchJobDetailSchema, DeploymentStateDetailSchema, type Envelope } from './schemas.js';
import { type EventResult, validate } from './shared.js';

// What AWS says of the restarts the watcher made: an ECS service deployment or a Batch job changed
// state. Neither is a change of a value; each becomes a nudge that tells the staged restarts to
// look again. The EventBridge rules let through exactly the names and statuses listed here.

/**
 * The ECS deployment events that become nudges: a deployment reached steady state or failed.
 * SERVICE_DEPLOYMENT_IN_PROGRESS is not one: the watcher reads a rollout's progress itself
 * (DescribeServices), and waits only for its end.
 */
export const DEPLOYMENT_EVENT_NAMES = [
  'SERVICE_DEPLOYMENT_COMPLETED',
  'SERVICE_DEPLOYMENT_FAILED',
] as const;

/**
 * The Batch job statuses that become nudges: a resubmitted job that reached RUNNING has read its
 * secrets and started, SUCCEEDED is done, FAILED halts the waves. Earlier statuses are not waited for.
 */
export const JOB_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED'] as const;

/** `aws.ecs` / `ECS Deployment State Change` → an `ecs-deployment` nudge. */
export function deploymentNudge(envelope: Envelope): EventResult {
  const label = 'ECS Deployment State Change event';
  const { eventName } = validate(
    DeploymentStateDetailSchema.pick({ eventName: true }),
    envelope.detail,
    label,
    'detail',
  );
  if (!isOneOf(DEPLOYMENT_EVENT_NAMES, eventName)) {
    return {
      changes: [],
      ignored: `ECS ${clip(eventName, 64)} is not a deployment state the watcher waits for`,
    };
  }
  const detail = validate(DeploymentStateDetailSchema, envelope.detail, label, 'detail');
  const service = envelope.resources.find(isServiceArn);
  if (!service) {
    throw new MalformedEventError(
      `${label}: resources: expected the service's ARN (arn:PARTITION:ecs:REGION:ACCOUNT:service/...)`,
      'resources',
    );
  }
  const nudge: Nudge = {
    kind: 'ecs-deployment',
    service,
    deploymentId: detail.deploymentId,
    eventName,
    reason: detail.reason || null,
    at: timeOf(envelope),
  };
  return { changes: [], ignored: null, nudge };
}

/** `aws.batch` / `Batch Job State Change` → a `batch-job` nudge. */
export function jobNudge(envelope: Envelope): EventResult {
  const label = 'Batch Job State Change event';
  const { status } = validate(
    BatchJobDetailSchema.pick({ status: true }),
    envelope.detail,
    label,
    'detail',
  );
  if (!isOneOf(JOB_STATUSES, status)) {
    return {
      changes: [],
      ignored: `Batch job status ${clip(status, 64)} is not one the watcher waits for`,
    };
  }
  const detail = validate(BatchJobDetailSchema, envelope.detail, label, 'detail');
  const nudge: Nudge = {
    kind: 'batch-job',
    jobId: detail.jobId,
    jobArn: detail.jobArn ?? envelope.resources.find(isJobArn) ?? null,
    status,
    statusReason: detail.statusReason || null,
    at: timeOf(envelope),
  };
  return { changes: [], ignored: null, nudge };
}

/** The event's time, as an ISO string (the envelope's schema has checked it is a date-time). */
function timeOf(envelope: Envelope): string {
  return new Date(envelope.time).toISOString();
}

function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

function isServiceArn(value: string): boolean {
  const parts = splitArn(value);
  return (
    typeof parts !== 'string' && parts.service === 'ecs' && parts.resource.startsWith('service/')
  );
}

function isJobArn(value: string): boolean {
  const parts = splitArn(value);
  return (
    typeof parts !== 'string' && parts.service === 'batch' && parts.resource.startsWith('job/')
  );
}
