// Which record `halt` and `resume` act on, what they say when there is none, and how `status`
// and `wait` word the waves: pure, without AWS.
import { describe, expect, it } from 'vitest';
import { renderRecords } from '../../lib/cli/status.js';
import { haltedNote } from '../../lib/cli/wait-checks.js';
import { apply, chooseRecord } from '../../lib/cli/waves.js';
import { newRecord, type RotationRecord } from '../../lib/rotations/index.js';
import type { Halt, Waves } from '../../lib/rotations/waves.js';
import { aChange } from '../helpers/factories.js';

const RESUME = 'rotation-watcher resume /prod/db/password';
const NOW = new Date('2026-11-20T13:00:00.000Z');

const halt: Halt = {
  at: '2026-11-20T12:06:00.000Z',
  by: 'watcher',
  consumer: 'arn:aws:ecs:us-east-1:123456789012:service/c/api',
  name: 'api',
  ref: 'ecs-svc/1',
  reason: 'tasks failed to start.',
  stopped: ['ResourceInitializationError: unable to pull secrets'],
};

function record(changedAt: string, waves: Partial<Waves> | null, status = 'open'): RotationRecord {
  const opened = newRecord(aChange({ changedAt }), [], NOW, 86_400_000);
  return {
    ...opened,
    status: status as RotationRecord['status'],
    ...(waves
      ? {
          waves: {
            spec: '1,25%,100%',
            status: 'rolling',
            waves: [],
            restarts: [],
            halt: null,
            ...waves,
          },
        }
      : {}),
  };
}

describe('the record halt and resume act on', () => {
  it('is the newest open one whose waves are in the state the command changes', () => {
    const newer = record('2026-11-20T12:00:00.000Z', { status: 'halted', halt });
    const older = record('2026-11-19T12:00:00.000Z', { status: 'halted', halt });
    expect(chooseRecord('resume', [newer, older], '/p', RESUME)).toEqual({ record: newer });
  });

  it.each([
    ['halt', null, 'open', /no rotation record of \/p has waves/],
    ['halt', { status: 'done' as const }, 'open', /are already done/],
    ['resume', { status: 'done' as const }, 'open', /are already done/],
    ['halt', { status: 'halted' as const, halt }, 'open', /already halted \(tasks failed/],
    ['resume', { status: 'rolling' as const }, 'open', /are not halted: they are rolling/],
    [
      'resume',
      { status: 'halted' as const, halt },
      'superseded',
      /are over: the rotation is superseded \(a newer change starts its own waves\)/,
    ],
  ] as const)('%s says why not on waves %j of a record %s', (verb, waves, status, message) => {
    const chosen = chooseRecord(
      verb,
      [record('2026-11-20T12:00:00.000Z', waves, status)],
      '/p',
      RESUME,
    );
    expect(chosen).toEqual({ why: expect.stringMatching(message) });
    expect('why' in chosen && chosen.why).toMatch(new RegExp(`^nothing to ${verb}: `));
  });

  it('resume clears what was done to the consumers it restarts again', () => {
    const failed = {
      arn: 'svc/a',
      name: 'a',
      kind: 'redeploy' as const,
      region: 'us-east-1',
      parent: null,
      wave: 0,
      ref: 'ecs-svc/1',
      at: '2026-11-20T12:01:00.000Z',
      state: 'failed' as const,
      settledAt: null,
      reason: 'failed',
    };
    const halted = record('2026-11-20T12:00:00.000Z', {
      status: 'halted',
      halt,
      waves: [{ members: ['svc/a'], openedAt: failed.at, settledAt: null, bakedAt: null }],
      restarts: [failed],
    });
    const consumer = {
      kind: 'ecs-service',
      arn: 'svc/a',
      name: 'a',
      region: 'us-east-1',
      parent: null,
      state: 'stale' as const,
      action: 'redeploy' as const,
      history: [],
    };
    const other = { ...consumer, arn: 'svc/b', name: 'b' };
    const next = apply('resume', { ...halted, consumers: [consumer, other] }, NOW);
    expect(next.retry).toEqual(['svc/a']);
    expect(next.record.consumers.map((c) => c.action)).toEqual([null, 'redeploy']);
    expect(next.record.waves).toMatchObject({ status: 'rolling', restarts: [], halt: null });
  });
});

describe('what status and wait say of waves', () => {
  it('wait names the failed restart, the reason and the command that resumes', () => {
    expect(haltedNote(halt, RESUME)).toBe(
      'the waves are halted: the restart of api (ecs-svc/1) failed: tasks failed to start; nothing more is restarted until `rotation-watcher resume /prod/db/password`',
    );
    expect(haltedNote({ ...halt, by: 'person', name: null, consumer: null }, RESUME)).toBe(
      'the waves are halted by hand; nothing more is restarted until `rotation-watcher resume /prod/db/password`',
    );
  });

  it('status gives a closed record’s waves one line and its halt, without a resume', () => {
    const closed = record('2026-11-20T12:00:00.000Z', { status: 'halted', halt }, 'superseded');
    const text = renderRecords([closed], { width: 100, colour: false }, RESUME);
    expect(text).toContain('halted (WATCHER_WAVES 1,25%,100%), 0 waves, 0 restarts');
    expect(text).toContain('Halted at 2026-11-20T12:06:00.000Z by the watcher: api (ecs-svc/1)');
    expect(text).not.toContain('MEMBERS');
    expect(text).not.toContain(RESUME);
  });

  it('status leaves a record without waves as it was', () => {
    const text = renderRecords([record('2026-11-20T12:00:00.000Z', null)], {
      width: 100,
      colour: false,
    });
    expect(text.trimEnd().split('\n')).toHaveLength(2);
  });
});
