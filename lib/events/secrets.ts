import type { Change } from '../domain/index.js';
import { clip } from '../refs/errors.js';
import { isAccount, isRegion, secretNamesOfArn, splitArn } from '../refs/index.js';
import { MalformedEventError } from './errors.js';
import {
  type CloudTrailDetail,
  CloudTrailDetailSchema,
  type Envelope,
  SecretLabelDetailSchema,
} from './schemas.js';
import { type Base, type EventResult, own, validate } from './shared.js';

// Secrets Manager's events: its one native event (Secret Label Updated) and the CloudTrail
// records of the calls and rotation outcomes that move a staging label.

export function secretLabel(envelope: Envelope, base: Base): EventResult {
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

export function secretCloudTrail(envelope: Envelope, base: Base): EventResult {
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
