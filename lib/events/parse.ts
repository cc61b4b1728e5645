import { clip } from '../refs/errors.js';
import { partitionOf } from '../refs/index.js';
import { deploymentNudge, jobNudge } from './deployments.js';
import { EventError, MalformedEventError } from './errors.js';
import { parameterChange, parameterPolicy } from './parameters.js';
import {
  EnvelopeSchema,
  FollowUpMessageSchema,
  SqsEventSchema,
  SqsRecordSchema,
} from './schemas.js';
import { secretCloudTrail, secretLabel } from './secrets.js';
import { type Base, type EventResult, firstIssue, type Handler, own, validate } from './shared.js';
import type { RecordResult } from './types.js';

export type { EventResult } from './shared.js';

const HANDLERS: Record<string, Handler> = {
  'aws.ssm|Parameter Store Change': parameterChange,
  'aws.ssm|Parameter Store Policy Action': parameterPolicy,
  'aws.secretsmanager|Secret Label Updated': secretLabel,
  'aws.secretsmanager|AWS API Call via CloudTrail': secretCloudTrail,
  'aws.secretsmanager|AWS Service Event via CloudTrail': secretCloudTrail,
  'aws.ecs|ECS Deployment State Change': deploymentNudge,
  'aws.batch|Batch Job State Change': jobNudge,
};

/** The detail-types the watcher reads, by source: changes of values and the state of its restarts. */
export const HANDLED_EVENTS = Object.keys(HANDLERS).map((key) => {
  const [source = '', detailType = ''] = key.split('|');
  return { source, detailType };
});

/**
 * Turns one EventBridge event into changes, or into a nudge when it tells of an ECS deployment or
 * a Batch job. An event of a kind the watcher does not handle yields no change and a reason; an
 * event of a handled kind with bad fields throws.
 *
 * @throws MalformedEventError naming the field that is wrong.
 */
export function parseEvent(event: unknown): EventResult {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new MalformedEventError(
      `expected an EventBridge event (a JSON object), got ${describe(event)}`,
    );
  }
  const raw = event as Record<string, unknown>;
  const source = raw.source;
  const detailType = raw['detail-type'];
  if (typeof source !== 'string' || typeof detailType !== 'string') {
    throw new MalformedEventError(
      'not an EventBridge event: "source" and "detail-type" must be strings',
      'source',
    );
  }
  const handler = own(HANDLERS, `${source}|${detailType}`);
  if (!handler) {
    return {
      changes: [],
      ignored: `${clip(source, 64)} "${clip(detailType, 64)}" is not an event the watcher acts on`,
    };
  }
  const envelope = validate(EnvelopeSchema, event, `${detailType} event`);
  const time = new Date(envelope.time).toISOString();
  const base: Base = {
    partition: partitionOf(envelope.region),
    region: envelope.region,
    account: envelope.account,
    // The event's time until discovery reads AWS's own record of the change.
    changedAt: time,
    timeSource: 'event',
    eventTime: time,
    version: null,
    eventId: envelope.id,
    detailType,
  };
  return handler(envelope, base);
}

/**
 * Reads whatever reaches the watcher: one EventBridge event, a list of them, or an SQS batch
 * whose record bodies are events. Never throws: what cannot be read is an `error` on its record.
 */
export function parsePayload(payload: unknown): RecordResult[] {
  if (Array.isArray(payload)) return payload.map((event) => fromEvent(null, event));
  if (typeof payload === 'object' && payload !== null && 'Records' in payload) {
    const batch = SqsEventSchema.safeParse(payload);
    if (!batch.success) return [failed(null, `an SQS batch needs a non-empty "Records" list`)];
    return batch.data.Records.map((record, index) => fromSqsRecord(record, index));
  }
  return [fromEvent(null, payload)];
}

function fromSqsRecord(record: unknown, index: number): RecordResult {
  const parsed = SqsRecordSchema.safeParse(record);
  if (!parsed.success) return failed(null, `SQS record ${index + 1}: ${firstIssue(parsed.error)}`);
  const { messageId, body, attributes } = parsed.data;
  const receives = Number(attributes?.ApproximateReceiveCount);
  const receiveCount = Number.isInteger(receives) && receives > 0 ? receives : 1;
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    return { ...failed(messageId, `SQS record ${messageId}: the body is not JSON`), receiveCount };
  }
  return { ...fromEvent(messageId, event), receiveCount };
}

function fromEvent(recordId: string | null, event: unknown): RecordResult {
  const followUp = followUpOf(event);
  if (followUp) return { recordId, changes: [], ignored: null, error: null, followUp };
  try {
    const { changes, ignored, nudge } = parseEvent(event);
    return { recordId, changes, ignored, error: null, ...(nudge ? { nudge } : {}) };
  } catch (error) {
    if (!(error instanceof EventError)) throw error;
    return failed(recordId, recordId ? `SQS record ${recordId}: ${error.message}` : error.message);
  }
}

/** The watcher's own follow-up message (see FollowUpMessageSchema), if it is one. */
function followUpOf(event: unknown): { pk: string; sk: string; chain?: string } | null {
  const message = FollowUpMessageSchema.safeParse(event);
  if (!message.success) return null;
  const { pk, sk, chain } = message.data;
  return chain ? { pk, sk, chain } : { pk, sk };
}

function failed(recordId: string | null, error: string): RecordResult {
  return { recordId, changes: [], ignored: null, error };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}
