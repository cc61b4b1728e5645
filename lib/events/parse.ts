import type { z } from 'zod';
import { clip } from '../refs/errors.js';
import {
  isAccount,
  isRegion,
  parameterArn,
  partitionOf,
  secretNamesOfArn,
  splitArn,
} from '../refs/index.js';
import { EventError, MalformedEventError } from './errors.js';
import {
  type CloudTrailDetail,
  CloudTrailDetailSchema,
  type Envelope,
  EnvelopeSchema,
  FollowUpMessageSchema,
  ParameterChangeDetailSchema,
  ParameterPolicyDetailSchema,
  SecretLabelDetailSchema,
  SqsEventSchema,
  SqsRecordSchema,
} from './schemas.js';
import type { Change, RecordResult } from './types.js';

/** What one EventBridge event means to the watcher. */
export interface EventResult {
  changes: Change[];
  /** Why the event yields no change, when it is of a kind the watcher does not act on. */
  ignored: string | null;
}

type Base = Pick<
  Change,
  | 'partition'
  | 'region'
  | 'changedAt'
  | 'timeSource'
  | 'eventTime'
  | 'version'
  | 'eventId'
  | 'detailType'
> & {
  account: string;
};
type Handler = (envelope: Envelope, base: Base) => EventResult;

const HANDLERS: Record<string, Handler> = {
  'aws.ssm|Parameter Store Change': parameterChange,
  'aws.ssm|Parameter Store Policy Action': parameterPolicy,
  'aws.secretsmanager|Secret Label Updated': secretLabel,
  'aws.secretsmanager|AWS API Call via CloudTrail': secretCloudTrail,
  'aws.secretsmanager|AWS Service Event via CloudTrail': secretCloudTrail,
};

/** The detail-types the watcher acts on, by source. */
export const HANDLED_EVENTS = Object.keys(HANDLERS).map((key) => {
  const [source = '', detailType = ''] = key.split('|');
  return { source, detailType };
});

/**
 * Turns one EventBridge event into changes. An event of a kind the watcher does not handle
 * yields no change and a reason; an event of a handled kind with bad fields throws.
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
    const { changes, ignored } = parseEvent(event);
    return { recordId, changes, ignored, error: null };
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

function parameterChange(envelope: Envelope, base: Base): EventResult {
  const detail = validate(
    ParameterChangeDetailSchema,
    envelope.detail,
    'Parameter Store Change event',
    'detail',
  );
  // A failed operation (an aws:ec2:image parameter whose image could not be validated, say)
  // changes nothing, though it is announced as a change.
  if (detail.exception) {
    return {
      changes: [],
      ignored: `the ${clip(detail.operation, 64)} of ${clip(detail.name, 200)} failed (${clip(detail.exception, 120)}); the value did not change`,
    };
  }
  const effect = own(PARAMETER_EFFECTS, detail.operation);
  if (!effect) {
    return {
      changes: [],
      ignored: `Parameter Store operation "${clip(detail.operation, 64)}" is not one the watcher acts on`,
    };
  }
  return {
    changes: [parameter(envelope, base, detail.name, detail.operation, effect)],
    ignored: null,
  };
}

const PARAMETER_EFFECTS: Record<string, Change['effect']> = {
  Create: 'value',
  Update: 'value',
  Delete: 'deleted',
  LabelParameterVersion: 'label',
};

function parameterPolicy(envelope: Envelope, base: Base): EventResult {
  const detail = validate(
    ParameterPolicyDetailSchema,
    envelope.detail,
    'Parameter Store Policy Action event',
    'detail',
  );
  const policy = detail['policy-type'];
  // An Expiration policy that finished deleted the parameter; the two notification policies,
  // and an expiration that failed, change nothing.
  const status = detail['action-status'];
  const effect =
    policy === 'Expiration' && (status === undefined || status === 'Finished')
      ? 'deleted'
      : 'notice';
  return {
    changes: [parameter(envelope, base, detail['parameter-name'], policy, effect)],
    ignored: null,
  };
}

function parameter(
  envelope: Envelope,
  base: Base,
  name: string,
  operation: string,
  effect: Change['effect'],
): Change {
  const given = envelope.resources.find((arn) => arn.startsWith(`arn:${base.partition}:ssm:`));
  return {
    ...base,
    service: 'ssm',
    name,
    arn: given ?? parameterArn(base.partition, base.region, base.account, name),
    operation,
    effect,
    versionStage: null,
    versionId: null,
  };
}

function secretLabel(envelope: Envelope, base: Base): EventResult {
  const detail = validate(
    SecretLabelDetailSchema,
    envelope.detail,
    'Secret Label Updated event',
    'detail',
  );
  const arn = envelope.resources.find(isSecretArn) ?? null;
  return {
    changes: [
      {
        ...base,
        ...secretPlace(arn, base),
        service: 'secretsmanager',
        name: detail.name,
        arn,
        operation: 'LabelUpdated',
        effect: 'value',
        versionStage: detail.labelUpdated,
        versionId: detail.versionId ?? null,
      },
    ],
    ignored: null,
  };
}

/** CloudTrail calls that change what a label points to, and the effect they have. */
const SECRET_CALLS: Record<string, Change['effect']> = {
  PutSecretValue: 'value',
  UpdateSecret: 'value',
  // RotateSecret only starts a rotation: AWSCURRENT moves later (UpdateSecretVersionStage and
  // RotationSucceeded say when). Restarting on it would read the old value, so it is a notice.
  RotateSecret: 'notice',
  UpdateSecretVersionStage: 'value',
  RotationSucceeded: 'value',
  DeleteSecret: 'deleted',
};

function secretCloudTrail(envelope: Envelope, base: Base): EventResult {
  const detail = validate(
    CloudTrailDetailSchema,
    envelope.detail,
    `${base.detailType} event`,
    'detail',
  );
  const call = detail.eventName;
  // The envelope's source already says aws.secretsmanager; some deliveries carry no eventSource.
  if (detail.eventSource !== undefined && detail.eventSource !== 'secretsmanager.amazonaws.com') {
    return {
      changes: [],
      ignored: `CloudTrail event from ${clip(detail.eventSource, 64)}, not Secrets Manager`,
    };
  }
  if (detail.errorCode) {
    return {
      changes: [],
      ignored: `the ${clip(call, 64)} call failed (${clip(detail.errorCode, 64)}); nothing changed`,
    };
  }
  const effect = own(SECRET_CALLS, call);
  if (!effect)
    return {
      changes: [],
      ignored: `Secrets Manager ${clip(call, 64)} does not change a secret's value`,
    };
  const response = detail.responseElements;
  if (call === 'UpdateSecret' && response && !response.versionId) {
    return {
      changes: [],
      ignored: 'UpdateSecret changed only metadata (no new version was created)',
    };
  }
  const { arn, name } = secretIdentity(detail);
  const changes = stagesMoved(detail).map(
    (versionStage): Change => ({
      ...base,
      ...secretPlace(arn, base),
      service: 'secretsmanager',
      name,
      arn,
      operation: call,
      effect,
      versionStage,
      versionId:
        detail.requestParameters?.moveToVersionId ??
        response?.versionId ??
        detail.serviceEventDetails?.versionId ??
        detail.requestParameters?.clientRequestToken ??
        null,
    }),
  );
  return { changes, ignored: null };
}

/** The staging labels a call moved: PutSecretValue may name its own (a rotation's AWSPENDING). */
function stagesMoved(detail: CloudTrailDetail): string[] {
  const request = detail.requestParameters;
  if (detail.eventName === 'PutSecretValue' && request?.versionStages?.length)
    return [...new Set(request.versionStages)];
  if (detail.eventName === 'UpdateSecretVersionStage' && request?.versionStage)
    return [request.versionStage];
  return ['AWSCURRENT'];
}

function secretIdentity(detail: CloudTrailDetail): { arn: string | null; name: string } {
  const ids = [
    detail.responseElements?.arn,
    detail.responseElements?.aRN,
    detail.requestParameters?.secretId,
    detail.additionalEventData?.SecretId,
    detail.serviceEventDetails?.secretId,
  ].filter((id): id is string => typeof id === 'string');
  const arn = ids.find(isSecretArn) ?? null;
  const name =
    detail.responseElements?.name ??
    ids.find((id) => !id.startsWith('arn:')) ??
    (arn ? secretNamesOfArn(arn)[0] : undefined);
  if (!name) {
    throw new MalformedEventError(
      `${detail.eventName} event names no secret: expected requestParameters.secretId, responseElements.arn or additionalEventData.SecretId`,
      'detail.requestParameters.secretId',
    );
  }
  return { arn, name };
}

/** A secret lives where its ARN says, which can differ from the event's region for a replica. */
function secretPlace(
  arn: string | null,
  base: Base,
): Pick<Change, 'partition' | 'region' | 'account'> {
  const parts = arn ? splitArn(arn) : null;
  if (parts && typeof parts !== 'string' && parts.region && parts.account)
    return { partition: parts.partition, region: parts.region, account: parts.account };
  return { partition: base.partition, region: base.region, account: base.account };
}

function isSecretArn(value: string): boolean {
  const parts = splitArn(value);
  return (
    typeof parts !== 'string' &&
    parts.service === 'secretsmanager' &&
    isRegion(parts.region) &&
    isAccount(parts.account) &&
    parts.resource.split(':').length === 2 &&
    parts.resource.startsWith('secret:')
  );
}

function validate<T extends z.ZodType>(
  schema: T,
  value: unknown,
  label: string,
  prefix?: string,
): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].filter(Boolean).join('.');
  throw new MalformedEventError(`${label}: ${firstIssue(result.error, prefix)}`, path || null, {
    cause: result.error,
  });
}

function firstIssue(error: z.ZodError, prefix?: string): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = [prefix, ...issue.path.map((part) => clip(String(part), 40))]
    .filter(Boolean)
    .join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** A table lookup that a key such as `constructor` or `__proto__` cannot steer into the prototype. */
function own<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}
