import { describe, expect, it } from 'vitest';
import type { Change } from '../../lib/domain/index.js';
import {
  type FollowDeps,
  followUp,
  NotARecordError,
  newRecord,
  type Observation,
  observe,
  type RotationStore,
  recordPk,
  recordSk,
} from '../../lib/rotations/index.js';

const change: Change = {
  service: 'ssm',
  name: '/prod/db/password',
  arn: 'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password',
  partition: 'aws',
  region: 'us-east-1',
  account: '123456789012',
  operation: 'Update',
  changedAt: '2026-11-23T12:00:00.000Z',
  timeSource: 'aws',
  eventTime: '2026-11-23T12:00:01.000Z',
  version: '7',
  versionId: null,
  eventId: 'evt-1',
  detailType: 'Parameter Store Change',
  effect: 'value',
  versionStage: null,
};

const seen = (arn: string, over: Partial<Observation> = {}): Observation => ({
  arn,
  kind: 'ecs-service',
  name: arn.split('/').pop() as string,
  region: 'us-east-1',
  parent: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod',
  staleRuns: 1,
  running: true,
  replacing: false,
  action: null,
  ...over,
});

const at = (minutes: number) => new Date(Date.parse(change.changedAt) + minutes * 60_000);
const DAY = 86_400_000;

describe('a rotation record', () => {
  it('keeps a restart as what was done to a consumer when a later run only notifies', () => {
    const record = newRecord(change, [seen('svc/api'), seen('task/cron')], at(1), DAY);
    const told = observe(
      record,
      [
        seen('svc/api', { action: 'redeploy', replacing: true }),
        seen('task/cron', { action: 'notify' }),
      ],
      at(5),
      true,
    ).record;
    const later = observe(
      told,
      [
        seen('svc/api', { action: 'notify', staleRuns: 0 }),
        seen('task/cron', { action: 'notify' }),
      ],
      at(20),
      true,
    ).record;
    expect(later.consumers.map(({ arn, state, action }) => ({ arn, state, action }))).toEqual([
      { arn: 'svc/api', state: 'replaced-by-watcher', action: 'redeploy' },
      { arn: 'task/cron', state: 'stale', action: 'notify' },
    ]);
  });

  it('is keyed by the value, then by the time and version of the change', () => {
    expect(recordPk(change)).toBe('rot#ssm|us-east-1|123456789012|prod/db/password|AWSCURRENT');
    expect(recordSk(change)).toBe('change#2026-11-23T12:00:00.000Z#7');
  });

  it('opens with the consumers that held the old value when first seen, and no others', () => {
    const record = newRecord(
      change,
      [
        seen('svc/api', { action: 'redeploy', replacing: true }),
        seen('svc/fresh', { staleRuns: 0 }),
        seen('task/cron'),
      ],
      at(1),
      DAY,
    );
    expect(record.status).toBe('open');
    expect(record.deadline).toBe('2026-11-24T12:01:00.000Z');
    expect(record.consumers.map(({ arn, state, action }) => ({ arn, state, action }))).toEqual([
      { arn: 'svc/api', state: 'being-replaced', action: 'redeploy' },
      { arn: 'task/cron', state: 'stale', action: null },
    ]);
  });

  const open = () =>
    newRecord(change, [seen('svc/api', { action: 'redeploy' }), seen('task/cron')], at(1), DAY);

  it.each<[string, Observation[], boolean, Record<string, string>, string | null]>([
    [
      'the redeployed service replaced, the task stopped: complete',
      [seen('svc/api', { staleRuns: 0 })],
      true,
      { 'svc/api': 'replaced-by-watcher', 'task/cron': 'stopped' },
      'complete',
    ],
    [
      'a rollout under way, the task still on the old value: open',
      [seen('svc/api', { replacing: true }), seen('task/cron')],
      true,
      { 'svc/api': 'being-replaced', 'task/cron': 'stale' },
      null,
    ],
    [
      'nothing seen, but the read was incomplete: nothing is assumed stopped',
      [],
      false,
      { 'svc/api': 'stale', 'task/cron': 'stale' },
      null,
    ],
    [
      // What the look could not read may be what holds the old value: nothing is cleared.
      'everything cleared among what was read, part unread: nothing cleared, not complete',
      [seen('svc/api', { staleRuns: 0 }), seen('task/cron', { running: false })],
      false,
      { 'svc/api': 'stale', 'task/cron': 'stale' },
      null,
    ],
  ])('%s', (_label, observations, complete, states, signal) => {
    const result = observe(open(), observations, at(10), complete);
    expect(
      Object.fromEntries(result.record.consumers.map((consumer) => [consumer.arn, consumer.state])),
    ).toEqual(states);
    expect(result.signal).toBe(signal);
  });

  it('calls a consumer replaced without the watcher replaced by its own deploy', () => {
    const record = newRecord(change, [seen('task/cron')], at(1), DAY);
    const { record: after } = observe(record, [seen('task/cron', { staleRuns: 0 })], at(5), true);
    expect(after.consumers[0]?.state).toBe('replaced-by-deploy');
    expect(after.consumers[0]?.history.map((step) => step.state)).toEqual([
      'stale',
      'replaced-by-deploy',
    ]);
  });

  it('becomes overdue at its deadline, naming who still holds the old value', () => {
    const { record, signal } = observe(
      open(),
      [seen('svc/api', { staleRuns: 0 }), seen('task/cron')],
      at(24 * 60 + 2),
      true,
    );
    expect(signal).toBe('overdue');
    expect(record.status).toBe('overdue');
    expect(record.consumers.map((consumer) => consumer.state)).toEqual([
      'replaced-by-watcher',
      'stale-at-deadline',
    ]);
  });

  it('opened from a partial read, does not close until a complete look at the whole account', () => {
    // The opening look could not read part of the account and saw nobody on the old value.
    const partial = newRecord(change, [], at(1), DAY, false);
    expect(partial.readWhole).toBe(false);
    // A follow-up re-read of the (no) consumers it knows is complete, but cannot find the others.
    expect(observe(partial, [], at(10), true, false)).toMatchObject({
      signal: null,
      record: { status: 'open' },
    });
    // A whole look finds the one the partial read missed: it joins the record.
    const whole = observe(partial, [seen('svc/missed')], at(20), true, true);
    expect(whole.signal).toBeNull();
    expect(whole.record).toMatchObject({ readWhole: true, status: 'open' });
    expect(whole.record.consumers.map((c) => [c.arn, c.state])).toEqual([['svc/missed', 'stale']]);
    // Once it no longer runs, a complete look closes the record.
    const done = observe(whole.record, [], at(30), true, false);
    expect(done.signal).toBe('complete');
  });

  it('adds consumers a later look sees on the old value, whoever opened it', () => {
    const record = newRecord(change, [seen('svc/api')], at(1), DAY);
    const { record: after } = observe(
      record,
      [seen('svc/api'), seen('svc/late')],
      at(5),
      false,
      true,
    );
    expect(after.consumers.map((c) => c.arn)).toEqual(['svc/api', 'svc/late']);
  });

  it('never changes once closed, so a second look never signals twice', () => {
    const first = observe(open(), [], at(10), true);
    expect(first.signal).toBe('complete');
    const again = observe(first.record, [], at(11), true);
    expect(again.signal).toBeNull();
    expect(again.record).toBe(first.record);
  });
});

describe("the watcher's follow-up message", () => {
  it('is read as a look at one record, not as an event', async () => {
    const { parsePayload } = await import('../../lib/events/index.js');
    const { sqsBatch } = await import('../helpers/events.js');
    const [record] = parsePayload(
      sqsBatch({ 'rotation-watcher': 'follow-up', pk: 'rot#ssm|x', sk: 'change#2026' }),
    );
    expect(record).toMatchObject({
      changes: [],
      error: null,
      followUp: { pk: 'rot#ssm|x', sk: 'change#2026' },
    });
  });

  it('is known by its marker field, whatever keys it names', async () => {
    const { parsePayload } = await import('../../lib/events/index.js');
    const [record] = parsePayload({ 'rotation-watcher': 'follow-up', pk: 'lease#x', sk: 'lease' });
    expect(record).toMatchObject({ error: null, followUp: { pk: 'lease#x', sk: 'lease' } });
    const [unmarked] = parsePayload({ pk: 'rot#ssm|x', sk: 'change#2026' });
    expect(unmarked?.followUp).toBeUndefined();
  });

  it('is refused, without reading the table, when its keys are not a record’s', async () => {
    const read: string[] = [];
    const store = {
      get: async (pk: string) => {
        read.push(pk);
        return null;
      },
      untrack: async () => undefined,
    } as unknown as RotationStore;
    const deps = { store } as unknown as FollowDeps;
    await expect(followUp('lease#x', 'lease', deps)).rejects.toBeInstanceOf(NotARecordError);
    await expect(followUp('rot#', 'change#2026', deps)).rejects.toBeInstanceOf(NotARecordError);
    expect(read).toEqual([]);
    // A record's keys are read (this one no longer exists: nothing to do).
    await expect(followUp('rot#ssm|x', 'change#2026', deps)).resolves.toEqual([]);
    expect(read).toEqual(['rot#ssm|x']);
  });

  it('carries the link of the record’s chain it is', async () => {
    const { parsePayload } = await import('../../lib/events/index.js');
    const [record] = parsePayload({
      'rotation-watcher': 'follow-up',
      pk: 'rot#ssm|x',
      sk: 'change#2026',
      chain: 'link-7',
    });
    expect(record?.followUp).toEqual({ pk: 'rot#ssm|x', sk: 'change#2026', chain: 'link-7' });
  });
});
