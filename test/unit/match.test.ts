import { describe, expect, it } from 'vitest';
import type { ChangedValue } from '../../lib/domain/index.js';
import { refersTo, relevance, resolveReference } from '../../lib/refs/index.js';

const here = { region: 'us-east-1', account: '123456789012' };
const target = (valueFrom: string, context = here) => resolveReference(valueFrom, context);

const parameterChange: ChangedValue = {
  service: 'ssm',
  name: '/prod/db/password',
  arn: 'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password',
  region: 'us-east-1',
  account: '123456789012',
  effect: 'value',
  versionStage: null,
};

const secretChange: ChangedValue = {
  service: 'secretsmanager',
  name: 'prod/db-creds',
  arn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-creds-AbCdEf',
  region: 'us-east-1',
  account: '123456789012',
  effect: 'value',
  versionStage: 'AWSCURRENT',
};

describe('refersTo', () => {
  it.each([
    '/prod/db/password',
    'prod/db/password',
    'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password',
  ])('treats %s as the changed parameter', (valueFrom) => {
    expect(refersTo(target(valueFrom), parameterChange)).toBe(true);
  });

  it('matches a change that spells the name without its slash', () => {
    expect(
      refersTo(target('/prod/db/password'), { ...parameterChange, name: 'prod/db/password' }),
    ).toBe(true);
  });

  it.each([
    ['another name', '/prod/db/password2', here],
    ['a parent path', '/prod/db', here],
    [
      'the same name in another region',
      '/prod/db/password',
      { region: 'us-west-2', account: '123456789012' },
    ],
    [
      'the same name in another account',
      '/prod/db/password',
      { region: 'us-east-1', account: '111122223333' },
    ],
    ['a cross-region ARN', 'arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db/password', here],
    [
      'a secret of the same name',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:/prod/db/password',
      here,
    ],
  ])('does not match %s', (_label, valueFrom, context) => {
    expect(refersTo(target(valueFrom, context), parameterChange)).toBe(false);
  });

  it('respects partitions: the same region name cannot be in two partitions', () => {
    const gov = target('arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/prod/db/password');
    expect(refersTo(gov, { ...parameterChange, region: 'us-gov-west-1' })).toBe(true);
    expect(
      refersTo({ ...gov, partition: 'aws' }, { ...parameterChange, region: 'us-gov-west-1' }),
    ).toBe(false);
  });

  it.each([
    ['a full ARN', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-creds-AbCdEf'],
    [
      'a full ARN with a json key',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-creds-AbCdEf:password::',
    ],
    ['a partial ARN', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-creds'],
    ['the Parameter Store reference path', '/aws/reference/secretsmanager/prod/db-creds'],
  ])('matches a secret named by %s', (_label, valueFrom) => {
    expect(refersTo(target(valueFrom), secretChange)).toBe(true);
  });

  it('matches a partial ARN against a change that knows only the name', () => {
    expect(
      refersTo(target('arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-creds'), {
        ...secretChange,
        arn: null,
      }),
    ).toBe(true);
  });

  it.each([
    [
      'another secret',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-creds-v2-XyZ123',
    ],
    [
      'the same name in another region',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-creds',
    ],
    ['a parameter of the same name', 'prod/db-creds'],
  ])('does not match %s', (_label, valueFrom) => {
    expect(refersTo(target(valueFrom), secretChange)).toBe(false);
  });
});

describe('relevance', () => {
  const secret = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-creds-AbCdEf';

  it.each([
    ['no pin', `${secret}`, 'AWSCURRENT', true],
    ['a json key only', `${secret}:password::`, 'AWSCURRENT', true],
    ['AWSCURRENT', `${secret}:password:AWSCURRENT:`, 'AWSCURRENT', true],
    [
      'AWSPREVIOUS, which moves with AWSCURRENT',
      `${secret}:password:AWSPREVIOUS:`,
      'AWSCURRENT',
      true,
    ],
    ['a version id', `${secret}:password::1111-2222`, 'AWSCURRENT', false],
    ['a custom stage', `${secret}:password:BLUE:`, 'AWSCURRENT', false],
    ['a custom stage that moved', `${secret}:password:BLUE:`, 'BLUE', true],
    ['no pin, when only AWSPENDING moved', `${secret}`, 'AWSPENDING', false],
  ])('a secret reference with %s is affected: %s', (_label, valueFrom, moved, affected) => {
    const result = relevance(target(valueFrom), { ...secretChange, versionStage: moved });
    expect(result.affected).toBe(affected);
    expect(result.reason.length).toBeGreaterThan(10);
  });

  it('says why a version-id pin is not affected', () => {
    expect(relevance(target(`${secret}::: 9999`.replace(' ', '')), secretChange).reason).toMatch(
      /version id 9999/,
    );
  });

  it('treats a label change as changing nothing ECS reads', () => {
    expect(
      relevance(target('/prod/db/password'), { ...parameterChange, effect: 'label' }),
    ).toMatchObject({ affected: false });
  });

  it('treats a deletion as affecting every reference, pinned or not', () => {
    const deleted = { ...secretChange, effect: 'deleted' as const };
    expect(relevance(target(`${secret}:password::1111`), deleted)).toMatchObject({
      affected: true,
      reason: expect.stringMatching(/deleted/),
    });
  });

  it('treats a policy notice as no change of value', () => {
    expect(
      relevance(target('/prod/db/password'), { ...parameterChange, effect: 'notice' }).affected,
    ).toBe(false);
  });

  it('treats every parameter update as affecting, since ECS always reads the latest version', () => {
    expect(relevance(target('/prod/db/password'), parameterChange).affected).toBe(true);
  });
});
