// What `wait` judges from the value's own metadata, beyond its consumers.
import { describe, expect, it } from 'vitest';
import { holdups, versionRefusal } from '../../lib/cli/wait-checks.js';
import { aChange } from '../helpers/factories.js';

const secret = (overrides = {}) =>
  aChange({ service: 'secretsmanager', name: 'prod/db-creds', version: 'v1', ...overrides });

describe('holdups', () => {
  it('holds while AWSPENDING is on another version than AWSCURRENT', () => {
    expect(holdups(secret({ pendingVersion: 'v2' }), [], null)).toEqual([
      'a rotation is in progress (or failed and left AWSPENDING behind): AWSPENDING on version v2; AWSCURRENT still on v1',
    ]);
  });

  it('holds nothing for a finished rotation (metadata leaves no pendingVersion then)', () => {
    expect(holdups(secret(), [], null)).toEqual([]);
  });

  it('says when the version waited for was pending and never became current', () => {
    expect(holdups(secret(), [], { id: 'v2', seenCurrent: false })).toEqual([
      'version v2 is no longer pending and never became current (AWSCURRENT is on v1): the rotation may have failed',
    ]);
  });

  it('waits as usual once the version waited for was current and a newer one replaced it', () => {
    expect(holdups(secret({ version: 'v3' }), [], { id: 'v2', seenCurrent: true })).toEqual([]);
  });

  it('holds while a replica is on another version than its primary', () => {
    const primary = secret({
      version: 'v2',
      replicas: [{ region: 'us-west-2', arn: null, status: 'InSync' }],
    });
    const replica = secret({ version: 'v1', region: 'us-west-2' });
    expect(holdups(primary, [primary, replica], null)).toEqual([
      "the replica in us-west-2 is still on version v1 (the primary's AWSCURRENT is v2)",
    ]);
    expect(holdups(primary, [primary, { ...replica, version: 'v2' }], null)).toEqual([]);
  });
});

describe('versionRefusal', () => {
  const parameter = aChange({ service: 'ssm', name: '/prod/db/password', version: '3' });
  it.each([
    ['3', null],
    ['4', null],
    ['2', /older than its current version 3/],
  ])('a parameter at version 3, asked for %s', (wanted, refusal) => {
    const said = versionRefusal(parameter, wanted);
    if (refusal === null) expect(said).toBeNull();
    else expect(said).toMatch(refusal);
  });

  it('refuses a secret version that is neither AWSCURRENT nor AWSPENDING', () => {
    expect(versionRefusal(secret({ pendingVersion: 'v2' }), 'v2')).toBeNull();
    expect(versionRefusal(secret(), 'v1')).toBeNull();
    expect(versionRefusal(secret(), 'v0')).toMatch(/neither AWSCURRENT \(v1\) nor AWSPENDING/);
  });
});
