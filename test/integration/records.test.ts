// Rotation records in moto's DynamoDB: conditional writes on the revision read, so concurrent
// and repeated updates never lose one and a rotation is declared complete exactly once.

import { beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import type { Change } from '../../lib/domain/index.js';
import {
  newRecord,
  type Observation,
  observe,
  RotationStore,
  recordPk,
  recordSk,
} from '../../lib/rotations/index.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const REGION = 'us-east-1';
let store: RotationStore;

const change = (changedAt: string, version: string): Change => ({
  service: 'secretsmanager',
  name: 'prod/db-creds',
  arn: `arn:aws:secretsmanager:${REGION}:123456789012:secret:prod/db-creds-AbCdEf`,
  partition: 'aws',
  region: REGION,
  account: '123456789012',
  operation: 'UpdateSecretVersionStage',
  changedAt,
  timeSource: 'aws',
  eventTime: changedAt,
  version,
  versionId: version,
  eventId: `evt-${version}`,
  detailType: 'AWS API Call via CloudTrail',
  effect: 'value',
  versionStage: null,
});

const seen = (arn: string, staleRuns: number, running = true): Observation => ({
  arn,
  kind: 'ecs-task',
  name: arn,
  region: REGION,
  parent: null,
  staleRuns,
  running,
  replacing: false,
  action: null,
});

beforeAll(async () => {
  const table = await env.seed.stateTable(REGION, 'records');
  store = new RotationStore({ table, region: REGION, clients: new AwsClients() });
});

describe('rotation records in the state table', () => {
  it('keep every one of concurrent updates, each written on the revision it read', async () => {
    const first = change('2026-11-23T10:00:00.000Z', 'v1');
    const opened = newRecord(
      first,
      ['a', 'b', 'c', 'd'].map((arn) => seen(arn, 1)),
      new Date('2026-11-23T10:01:00Z'),
      86_400_000,
    );
    await store.update(recordPk(first), recordSk(first), () => ({ record: opened, result: null }));
    // Four runs at once, each clearing a different consumer.
    await Promise.all(
      ['a', 'b', 'c'].map((arn) =>
        store.update(recordPk(first), recordSk(first), (current) => {
          if (!current) return null;
          const others = current.consumers
            .filter((consumer) => consumer.arn !== arn)
            .map((consumer) => seen(consumer.arn, consumer.state === 'stale' ? 1 : 0));
          return {
            ...observe(current, [...others, seen(arn, 0)], new Date('2026-11-23T10:05:00Z'), true),
            result: null,
          };
        }),
      ),
    );
    const stored = await store.get(recordPk(first), recordSk(first));
    expect(stored?.rev).toBe(3);
    expect(Object.fromEntries(stored?.consumers.map((c) => [c.arn, c.state]) ?? [])).toEqual({
      a: 'replaced-by-deploy',
      b: 'replaced-by-deploy',
      c: 'replaced-by-deploy',
      d: 'stale',
    });
  });

  it('declares a rotation complete once, however many follow-ups see it at once', async () => {
    const second = change('2026-11-23T11:00:00.000Z', 'v2');
    const opened = newRecord(second, [seen('x', 1)], new Date('2026-11-23T11:01:00Z'), 86_400_000);
    await store.update(recordPk(second), recordSk(second), () => ({
      record: opened,
      result: null,
    }));
    const signals = await Promise.all(
      Array.from({ length: 5 }, () =>
        store.update(recordPk(second), recordSk(second), (current) => {
          if (!current) return null;
          const next = observe(current, [], new Date('2026-11-23T11:20:00Z'), true);
          return next.record === current ? null : { record: next.record, result: next.signal };
        }),
      ),
    );
    expect(signals.filter((written) => written?.result === 'complete')).toHaveLength(1);
    const stored = await store.get(recordPk(second), recordSk(second));
    expect(stored).toMatchObject({ status: 'complete', rev: 1 });
  });

  it('lists a value’s records newest first', async () => {
    const records = await store.list(recordPk(change('2026-11-23T12:00:00.000Z', 'v3')));
    expect(records.map((record) => record.value.version)).toEqual(['v2', 'v1']);
  });
});
