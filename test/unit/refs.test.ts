import { describe, expect, it } from 'vitest';
import { InvalidReferenceError, RefsError, resolveReference } from '../../lib/refs/index.js';

const here = { region: 'us-east-1', account: '123456789012' };

describe('resolveReference', () => {
  describe.each([
    {
      spelling: 'a leading-slash name',
      valueFrom: '/prod/db/password',
      name: '/prod/db/password',
      arn: 'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password',
    },
    {
      spelling: 'a bare name without a slash',
      valueFrom: 'api-key',
      name: 'api-key',
      arn: 'arn:aws:ssm:us-east-1:123456789012:parameter/api-key',
    },
    {
      spelling: 'a hierarchical name without its leading slash',
      valueFrom: 'prod/db/password',
      name: '/prod/db/password',
      arn: 'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password',
    },
    {
      spelling: 'a hierarchical ARN',
      valueFrom: 'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password',
      name: '/prod/db/password',
      arn: 'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password',
    },
    {
      spelling: 'a flat ARN',
      valueFrom: 'arn:aws:ssm:us-east-1:123456789012:parameter/api-key',
      name: 'api-key',
      arn: 'arn:aws:ssm:us-east-1:123456789012:parameter/api-key',
    },
  ])('with $spelling', ({ valueFrom, name, arn }) => {
    it('names a Parameter Store parameter in the consumer region', () => {
      expect(resolveReference(valueFrom, here)).toEqual({
        service: 'ssm',
        partition: 'aws',
        region: 'us-east-1',
        account: '123456789012',
        name,
        arn,
        jsonKey: null,
        versionStage: null,
        versionId: null,
      });
    });
  });

  it('takes region and account from a cross-region ARN, not from the consumer', () => {
    const target = resolveReference('arn:aws:ssm:eu-west-1:999988887777:parameter/shared/x', here);
    expect(target).toMatchObject({
      region: 'eu-west-1',
      account: '999988887777',
      name: '/shared/x',
    });
  });

  it.each([
    ['cn-north-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
    ['eu-central-2', 'aws'],
  ])('resolves a bare name in %s to the %s partition', (region, partition) => {
    const target = resolveReference('/app/key', { region, account: '123456789012' });
    expect(target.partition).toBe(partition);
    expect(target.arn).toBe(`arn:${partition}:ssm:${region}:123456789012:parameter/app/key`);
  });

  it.each([
    ['arn:aws-cn:ssm:cn-northwest-1:123456789012:parameter/cn/key', 'aws-cn'],
    ['arn:aws-us-gov:secretsmanager:us-gov-east-1:123456789012:secret:gov-AbCdEf', 'aws-us-gov'],
  ])('keeps the partition of %s', (arn, partition) => {
    expect(resolveReference(arn, here).partition).toBe(partition);
  });

  it('leaves the ARN unknown for a bare name without a region or account', () => {
    const target = resolveReference('/prod/db', { region: null, account: null });
    expect(target).toMatchObject({
      service: 'ssm',
      name: '/prod/db',
      arn: null,
      region: null,
      partition: null,
    });
  });

  describe('Secrets Manager', () => {
    const secret = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-creds-AbCdEf';

    it('reads a full ARN, dropping the random suffix from the name', () => {
      expect(resolveReference(secret, here)).toEqual({
        service: 'secretsmanager',
        partition: 'aws',
        region: 'us-east-1',
        account: '123456789012',
        name: 'prod/db-creds',
        arn: secret,
        jsonKey: null,
        versionStage: null,
        versionId: null,
      });
    });

    it('reads a partial ARN (no suffix) as the secret name', () => {
      const target = resolveReference(
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:dockerhub',
        here,
      );
      expect(target).toMatchObject({
        name: 'dockerhub',
        arn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dockerhub',
      });
    });

    it.each([
      [':password::', { jsonKey: 'password', versionStage: null, versionId: null }],
      [
        ':password:AWSPREVIOUS:',
        { jsonKey: 'password', versionStage: 'AWSPREVIOUS', versionId: null },
      ],
      ['::AWSPENDING:', { jsonKey: null, versionStage: 'AWSPENDING', versionId: null }],
      [
        '::: 01234567-89ab'.replace(' ', ''),
        { jsonKey: null, versionStage: null, versionId: '01234567-89ab' },
      ],
      [':user::1111-2222', { jsonKey: 'user', versionStage: null, versionId: '1111-2222' }],
    ])('reads the suffix %s as json-key, version-stage and version-id', (suffix, pins) => {
      const target = resolveReference(`${secret}${suffix}`, here);
      expect(target).toMatchObject({ ...pins, arn: secret, name: 'prod/db-creds' });
    });

    it('reads a partial ARN ending in a lowercase word (api-tokens) as that whole name', () => {
      const target = resolveReference(
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:api-tokens',
        here,
      );
      expect(target.name).toBe('api-tokens');
    });

    it('maps /aws/reference/secretsmanager/NAME to the secret NAME in the consumer region', () => {
      const target = resolveReference('/aws/reference/secretsmanager/legacy/app-token', here);
      expect(target).toMatchObject({
        service: 'secretsmanager',
        name: 'legacy/app-token',
        region: 'us-east-1',
        account: '123456789012',
        arn: null,
      });
    });

    it('maps a Parameter Store ARN of /aws/reference/secretsmanager/NAME to the secret in that ARN region', () => {
      const target = resolveReference(
        'arn:aws:ssm:eu-west-1:123456789012:parameter/aws/reference/secretsmanager/other',
        here,
      );
      expect(target).toMatchObject({
        service: 'secretsmanager',
        name: 'other',
        region: 'eu-west-1',
      });
    });
  });

  describe('rejects, with a reason,', () => {
    it.each([
      ['an empty string', '', /empty/],
      ['a version selector', '/prod/db:3', /version and label selectors/],
      [
        'a label selector on an ARN',
        'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db:live',
        /selectors/,
      ],
      ['a name with spaces', '/prod/db password', /only letters/],
      [
        'an ARN of another service',
        'arn:aws:s3:us-east-1:123456789012:bucket/x',
        /neither ssm nor secretsmanager/,
      ],
      [
        'an unknown partition',
        'arn:aws-moon:ssm:us-east-1:123456789012:parameter/x',
        /unknown partition/,
      ],
      ['a bad region', 'arn:aws:ssm:mars-1:123456789012:parameter/x', /not a region/],
      ['a short account', 'arn:aws:ssm:us-east-1:1234:parameter/x', /12-digit/],
      ['a truncated ARN', 'arn:aws:ssm', /ARN has the form/],
      [
        'a parameter ARN without parameter/',
        'arn:aws:ssm:us-east-1:123456789012:document/x',
        /parameter\/NAME/,
      ],
      [
        'a secret ARN with two suffix colons',
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf:key:',
        /all three colons/,
      ],
      [
        'a secret ARN with extra colons',
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:x:a:b:c:d',
        /all three colons/,
      ],
      [
        'both a stage and a version id',
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:x:k:AWSCURRENT:v1',
        /cannot both/,
      ],
      ['an oversized name', `/${'a'.repeat(3000)}`, /at most 2048/],
    ])('%s', (_label, valueFrom, reason) => {
      const attempt = () => resolveReference(valueFrom, here);
      expect(attempt).toThrow(InvalidReferenceError);
      expect(attempt).toThrow(RefsError);
      expect(attempt).toThrow(reason);
    });
  });
});
