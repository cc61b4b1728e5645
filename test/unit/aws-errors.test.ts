// The one classifier of AWS errors, fed the SDK's own exception classes.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  AccessDeniedException,
  ClientException,
  ClusterNotFoundException,
  ECSServiceException,
  InvalidParameterException,
  ServerException,
  ServiceNotActiveException,
  ServiceNotFoundException,
} from '@aws-sdk/client-ecs';
import { ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import { ParameterNotFound, ThrottlingException } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import {
  classifyAwsError,
  isAmbiguous,
  isThrottling,
  TimeLimitError,
} from '../../lib/aws/index.js';

const answered = (status: number) => ({ message: 'm', $metadata: { httpStatusCode: status } });

/** An ECS error of any name, as the SDK makes one for a code it has no class for. */
const ecsError = (name: string, status: number) =>
  new ECSServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    ...answered(status),
  });

/** What the SDK's HTTP handler throws when no answer came in time. */
const timeout = () =>
  Object.assign(new Error('Connection timed out after 10000 ms'), {
    name: 'TimeoutError',
    $metadata: { attempts: 3 },
  });

describe('classifyAwsError', () => {
  it.each([
    ['an ECS service that does not exist', new ServiceNotFoundException(answered(400)), 'service'],
    [
      'an ECS service deleted (not ACTIVE)',
      new ServiceNotActiveException(answered(400)),
      'service',
    ],
    ['an ECS cluster that does not exist', new ClusterNotFoundException(answered(400)), 'cluster'],
  ] as const)('says %s is not found, and what is missing', (_, error, missing) => {
    expect(classifyAwsError(error, 'ecs')).toEqual({ kind: 'not-found', missing });
    expect(classifyAwsError(error)).toEqual({ kind: 'not-found', missing });
  });

  it("reads a not-found name by the service's own meaning", () => {
    const secret = new ResourceNotFoundException(answered(400));
    expect(classifyAwsError(secret, 'secretsmanager')).toEqual({
      kind: 'not-found',
      missing: 'secret',
    });
    expect(classifyAwsError(secret, 'dynamodb')).toEqual({ kind: 'not-found', missing: 'table' });
    // Without the service, the name alone says only that something is missing.
    expect(classifyAwsError(secret)).toEqual({ kind: 'not-found', missing: 'resource' });
    // ECS has no such name: an ECS call's ResourceNotFoundException is no deleted service.
    expect(classifyAwsError(secret, 'ecs').kind).toBe('other');
    expect(classifyAwsError(new ParameterNotFound(answered(400)), 'ssm')).toEqual({
      kind: 'not-found',
      missing: 'parameter',
    });
  });

  it.each([
    [
      'ThrottlingException (SSM)',
      new ThrottlingException({ ...answered(400), Message: 'Rate exceeded' }),
    ],
    ['ThrottlingException (ECS, no class of its own)', ecsError('ThrottlingException', 400)],
    ['any error answered 429', ecsError('SomethingNew', 429)],
    [
      'an error the SDK marks as throttling',
      Object.assign(ecsError('SomethingNew', 400), { $retryable: { throttling: true } }),
    ],
  ])('says %s is throttled: refused, not ambiguous', (_, error) => {
    expect(classifyAwsError(error).kind).toBe('throttled');
    expect(isThrottling(error)).toBe(true);
    expect(isAmbiguous(error)).toBe(false);
  });

  it.each([
    ['a timeout (no answer)', timeout()],
    ['a 503', ecsError('ServiceUnavailable', 503)],
    ['ECS ServerException (500)', new ServerException(answered(500))],
    ['a server fault without a status', Object.assign(new Error('reset'), { $fault: 'server' })],
    ['something that is not an error', 'socket hang up'],
  ])('says %s may have been carried out (ambiguous)', (_, error) => {
    expect(classifyAwsError(error).kind).toBe('ambiguous');
    expect(isAmbiguous(error)).toBe(true);
    expect(isThrottling(error)).toBe(false);
  });

  it.each([
    ['AccessDeniedException', new AccessDeniedException(answered(400)), 'denied'],
    ['an expired session', ecsError('ExpiredTokenException', 400), 'denied'],
    ['a bare 403', ecsError('SomethingNew', 403), 'denied'],
    ['InvalidParameterException', new InvalidParameterException(answered(400)), 'invalid'],
    ['ClientException', new ClientException(answered(400)), 'other'],
    ['a failed condition', new ConditionalCheckFailedException(answered(400)), 'other'],
  ] as const)('says %s was refused (%s): nothing was done', (_, error, kind) => {
    expect(classifyAwsError(error).kind).toBe(kind);
    expect(isAmbiguous(error)).toBe(false);
  });

  it('says a call the time limit kept back was never sent', () => {
    const error = new TimeLimitError('ecs:UpdateService');
    expect(classifyAwsError(error).kind).toBe('not-sent');
    expect(isAmbiguous(error)).toBe(false);
  });
});
