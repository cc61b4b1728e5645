// The one place an AWS SDK error is told apart by its name, HTTP status and retry hints: every
// decision on a failed call (send again, read back, skip a deleted consumer, report) asks this.

import { TimeLimitError } from './budget.js';
import type { ServiceName } from './clients.js';

/**
 * What a failed call says:
 * - `not-sent`: refused before it was sent (the run's time limit): nothing can have happened;
 * - `throttled`: AWS asked to slow down; the call was refused and may be sent again;
 * - `not-found`: what it names does not exist (or, for an ECS service, is no longer active);
 * - `denied`: no permission, or credentials missing, expired or not recognised;
 * - `invalid`: AWS refused the request itself (a parameter it does not accept);
 * - `ambiguous`: no answer (a timeout, a dropped connection) or a server error (5xx): the call
 *   may still have been carried out;
 * - `other`: AWS answered with another refusal (4xx): nothing was done.
 */
export type AwsErrorKind =
  | 'not-sent'
  | 'throttled'
  | 'not-found'
  | 'denied'
  | 'invalid'
  | 'ambiguous'
  | 'other';

/** What AWS says does not exist; `resource` when the error's name alone does not tell. */
export type Missing =
  | 'cluster'
  | 'service'
  | 'parameter'
  | 'secret'
  | 'table'
  | 'queue'
  | 'topic'
  | 'bus'
  | 'function'
  | 'resource';

export type AwsErrorClass =
  | { kind: Exclude<AwsErrorKind, 'not-found'> }
  | { kind: 'not-found'; missing: Missing };

/**
 * What a failed AWS call says, from the error's name, `$metadata.httpStatusCode`, `$fault` and
 * `$retryable`. `service` picks that service's not-found names (a `ResourceNotFoundException` is
 * a secret in Secrets Manager, a table in DynamoDB); without it, any service's count.
 *
 * @example
 * const failure = classifyAwsError(error, 'ecs');
 * if (failure.kind === 'not-found' && failure.missing === 'service') ... // deleted meanwhile
 */
export function classifyAwsError(error: unknown, service?: ServiceName): AwsErrorClass {
  if (error instanceof TimeLimitError) return { kind: 'not-sent' };
  // Something other than an error object: nothing says whether AWS had it.
  if (typeof error !== 'object' || error === null) return { kind: 'ambiguous' };
  const { name = '', $metadata, $fault, $retryable } = error as SdkErrorShape;
  const status = $metadata?.httpStatusCode;
  if (THROTTLING.has(name) || status === 429 || $retryable?.throttling === true)
    return { kind: 'throttled' };
  const missing = (service ? NOT_FOUND[service] : ANY_NOT_FOUND)?.[name];
  if (missing) return { kind: 'not-found', missing };
  if (DENIED.has(name) || status === 403) return { kind: 'denied' };
  if (INVALID.has(name)) return { kind: 'invalid' };
  // An answer without its status still says whose fault it was; no answer at all says nothing.
  if (status === undefined) return { kind: $fault === 'client' ? 'other' : 'ambiguous' };
  return { kind: status >= 500 ? 'ambiguous' : 'other' };
}

/** True for the errors AWS uses to say "slow down". */
export function isThrottling(error: unknown): boolean {
  return classifyAwsError(error).kind === 'throttled';
}

/**
 * Whether a failed call may still have been carried out: no answer came (a timeout, a dropped
 * connection) or AWS answered with a server error. A 4xx answer, throttling included, says the
 * call was refused; a call the time limit kept back was never sent.
 */
export function isAmbiguous(error: unknown): boolean {
  return classifyAwsError(error).kind === 'ambiguous';
}

interface SdkErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
  $retryable?: { throttling?: boolean };
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'SlowDown',
]);

/** Each service's names for "no such thing" (Batch has none: it answers ClientException). */
const NOT_FOUND: Partial<Record<ServiceName, Record<string, Missing>>> = {
  ecs: {
    ClusterNotFoundException: 'cluster',
    ServiceNotFoundException: 'service',
    // UpdateService of a DRAINING or INACTIVE service: deleted, its tasks stopping or gone.
    ServiceNotActiveException: 'service',
  },
  ssm: { ParameterNotFound: 'parameter', ParameterVersionNotFound: 'parameter' },
  secretsmanager: { ResourceNotFoundException: 'secret' },
  dynamodb: { ResourceNotFoundException: 'table' },
  sqs: { QueueDoesNotExist: 'queue', 'AWS.SimpleQueueService.NonExistentQueue': 'queue' },
  sns: { NotFoundException: 'topic', NotFound: 'topic' },
  events: { ResourceNotFoundException: 'bus' },
  lambda: { ResourceNotFoundException: 'function' },
};

/** Every service's not-found names; a name two services give different meanings is `resource`. */
const ANY_NOT_FOUND: Record<string, Missing> = {};
for (const names of Object.values(NOT_FOUND))
  for (const [name, missing] of Object.entries(names))
    ANY_NOT_FOUND[name] =
      ANY_NOT_FOUND[name] === undefined || ANY_NOT_FOUND[name] === missing ? missing : 'resource';

const DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'AuthorizationError',
  'AuthorizationErrorException',
  'NotAuthorized',
  'UnauthorizedOperation',
  'UnauthorizedException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'MissingAuthenticationToken',
  'IncompleteSignature',
]);

const INVALID = new Set([
  'ValidationException',
  'ValidationError',
  'InvalidParameterException',
  'InvalidParameterValueException',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'InvalidRequestException',
  'InvalidInputException',
  'MissingParameter',
  'SerializationException',
]);
