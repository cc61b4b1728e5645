// The sweep's memory: when a stale consumer nobody restarts is told of again.
import { describe, expect, it } from 'vitest';
import { decide } from '../../lib/plan.js';
import { fingerprintOf, type Reminder, remindRule } from '../../lib/state/reminders.js';
import { aChange, aConsumer } from '../helpers/factories.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = new Date('2026-11-23T12:00:00.000Z');
const policy = { defaultAction: 'notify' as const, maxActions: 25 };

function told(ago: number, fingerprint = 'f1'): Reminder {
  return {
    arn: 'arn:aws:ecs:us-east-1:123456789012:service/prod/api',
    fingerprint,
    firstSeen: new Date(NOW.getTime() - 3 * DAY).toISOString(),
    lastTold: new Date(NOW.getTime() - ago).toISOString(),
  };
}

describe('remindRule: (first seen, changed, interval passed) → told or quiet', () => {
  it.each([
    // first seen   changed  interval passed  →
    [true, false, false, 'first'],
    [true, false, true, 'first'],
    [true, true, false, 'first'],
    [true, true, true, 'first'],
    [false, true, false, 'changed'],
    [false, true, true, 'changed'],
    [false, false, true, 'due'],
    [false, false, false, 'quiet'],
  ] as const)(
    'first seen %s, changed %s, interval passed %s: %s',
    (first, changed, passed, why) => {
      const previous = first ? null : told(passed ? 25 * HOUR : 23 * HOUR, changed ? 'f0' : 'f1');
      expect(remindRule(previous, 'f1', NOW, DAY)).toBe(why);
    },
  );

  it('is due exactly one interval after the last telling, and quiet a millisecond before', () => {
    expect(remindRule(told(DAY), 'f1', NOW, DAY)).toBe('due');
    expect(remindRule(told(DAY - 1), 'f1', NOW, DAY)).toBe('quiet');
  });

  it('tells on every run with WATCHER_REMIND_EVERY=0', () => {
    expect(remindRule(told(0), 'f1', NOW, 0)).toBe('due');
  });
});

describe('fingerprintOf: what counts as a change worth telling again', () => {
  const change = aChange();
  const base = aConsumer({ changes: [change] });
  const print = (overrides: Parameters<typeof aConsumer>[0]) => {
    const consumer = { ...base, ...overrides };
    return fingerprintOf(consumer, decide(consumer, policy));
  };

  it('stays the same when only the number of old tasks changes (scaling)', () => {
    expect(print({ staleRuns: 5 })).toBe(print({ staleRuns: 1 }));
  });

  it('changes with a newer change of a value it holds old', () => {
    expect(
      print({ changes: [aChange({ version: '3', changedAt: '2026-11-21T12:00:00.000Z' })] }),
    ).not.toBe(print({}));
  });

  it('changes when another value it references changes too', () => {
    expect(print({ changes: [change, aChange({ name: '/prod/api/key' })] })).not.toBe(print({}));
  });

  it('changes with the decision (a tag now asks for a redeploy the watcher cannot make)', () => {
    const stuck = { ...base, stuckRollout: 'ecs-svc/9' };
    expect(fingerprintOf(stuck, { ...decide(stuck, policy), basis: 'rollout-stuck' })).not.toBe(
      print({}),
    );
  });

  it('holds no name, ARN or value, only a hash', () => {
    expect(print({})).toMatch(/^[0-9a-f]{32}$/);
  });
});
