import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  haltByHand,
  lookDelaySeconds,
  resumeByHand,
  settle,
  wantsRun,
} from '../../lib/rotations/wave-progress.js';
import {
  admit,
  type Candidate,
  membersOf,
  noteSent,
  parseWaves,
  type WaveStep,
  type Waves,
} from '../../lib/rotations/waves.js';

const T0 = new Date('2026-11-20T12:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const DEFAULT = parseWaves('1,25%,100%') as WaveStep[];

function candidate(name: string, runs: number, canary = false): Candidate {
  return {
    arn: `arn:aws:ecs:us-east-1:123456789012:service/prod/${name}`,
    name,
    kind: 'redeploy',
    region: 'us-east-1',
    parent: 'prod',
    runs,
    canary,
  };
}
/** The waves after the canary's redeploy (deployment `ref`) was sent at minute 0. */
const sentTo = (waves: Waves, arn: string, name: string, ref: string) =>
  noteSent(waves, [
    {
      arn,
      name,
      kind: 'redeploy',
      region: 'us-east-1',
      parent: 'prod',
      ref,
      at: at(0).toISOString(),
    },
  ]);
const short = (arns: Iterable<string>) => [...arns].map((arn) => arn.split('/').at(-1)).sort();

describe('WATCHER_WAVES', () => {
  it('reads counts, percentages and all', () => {
    expect(parseWaves('1,25%,100%')).toEqual([{ count: 1 }, { percent: 25 }, { percent: 100 }]);
    expect(parseWaves(' ALL ')).toBe('all');
    expect(parseWaves('1,0%')).toEqual({ error: expect.stringMatching(/from 1% to 100%/) });
    expect(parseWaves('1,x')).toEqual({ error: expect.stringMatching(/got "x"/) });
  });

  it('sizes each wave from those left, the last taking the rest', () => {
    const ten = Array.from({ length: 10 }, (_, i) => candidate(`s${i}`, i + 1));
    expect(membersOf(DEFAULT, 0, ten)).toHaveLength(1);
    // 25% of the nine left, rounded up.
    expect(membersOf(DEFAULT, 1, ten.slice(1))).toHaveLength(3);
    expect(membersOf(DEFAULT, 2, ten.slice(4))).toHaveLength(6);
    // A wave past the last step takes all that is left (consumers found later).
    expect(membersOf(DEFAULT, 5, ten.slice(7))).toHaveLength(3);
  });

  it('makes every tagged consumer the canary, else the one with fewest runs, ties by ARN', () => {
    expect(
      short(membersOf(DEFAULT, 0, [candidate('b', 3), candidate('a', 1), candidate('c', 1)])),
    ).toEqual(['a']);
    expect(
      short(
        membersOf(DEFAULT, 0, [
          candidate('b', 3, true),
          candidate('a', 1),
          candidate('c', 9, true),
        ]),
      ),
    ).toEqual(['b', 'c']);
  });

  it('covers every consumer exactly once across its waves, in order, whatever the steps', () => {
    const steps = fc.array(
      fc.oneof(
        fc.integer({ min: 1, max: 5 }).map((count): WaveStep => ({ count })),
        fc.integer({ min: 1, max: 100 }).map((percent): WaveStep => ({ percent })),
      ),
      { minLength: 1, maxLength: 5 },
    );
    fc.assert(
      fc.property(steps, fc.integer({ min: 1, max: 40 }), (s, n) => {
        let left = Array.from({ length: n }, (_, i) =>
          candidate(`s${String(i).padStart(2, '0')}`, (i * 7) % 5),
        );
        const seen: string[] = [];
        for (let index = 0; left.length > 0; index++) {
          const members = membersOf(s, index, left);
          expect(members.length).toBeGreaterThan(0);
          seen.push(...members);
          left = left.filter((c) => !members.includes(c.arn));
          expect(index).toBeLessThan(n + 1);
        }
        expect(new Set(seen).size).toBe(n);
      }),
    );
  });
});

describe('the waves of one change', () => {
  const four = [candidate('a', 3), candidate('b', 1), candidate('c', 2), candidate('d', 4)];

  it('let the canary go, hold the rest until it completed and baked, then the next wave', () => {
    const first = admit(undefined, four, DEFAULT, '1,25%,100%', at(0), '/p');
    expect(short(first.admit)).toEqual(['b']);
    expect(short(first.held.keys())).toEqual(['a', 'c', 'd']);
    let waves = sentTo(first.waves, four[1]?.arn as string, 'b', 'ecs-svc/1');
    // The same run again (a redelivery) sends nothing more.
    expect(admit(waves, four, DEFAULT, '1,25%,100%', at(1), '/p').admit.size).toBe(0);
    expect(wantsRun(waves)).toBe(false);
    // The canary's deployment completes at minute 3; the bake (5 minutes) runs to minute 8.
    const settled = settle(
      waves,
      new Map([[four[1]?.arn as string, { state: 'settled', at: at(3).toISOString() }]]),
      at(4),
      300_000,
    );
    expect(settled.halted).toBe(false);
    waves = settled.waves;
    expect(waves.waves[0]?.bakedAt).toBe(at(8).toISOString());
    expect(lookDelaySeconds(waves, at(4), 900)).toBe(241);
    expect(admit(waves, four, DEFAULT, '1,25%,100%', at(7), '/p').admit.size).toBe(0);
    // The bake's end alone lets nothing go: a look after it must read the canary again.
    expect(wantsRun(waves)).toBe(false);
    expect(admit(waves, four, DEFAULT, '1,25%,100%', at(8), '/p').admit.size).toBe(0);
    // A look before the bake's end judges nothing; one after it, reading the canary settled, does.
    const canary = new Map([
      [four[1]?.arn as string, { state: 'settled' as const, at: at(3).toISOString() }],
    ]);
    expect(settle(waves, canary, at(7), 300_000).waves.waves[0]?.judgedAt).toBeFalsy();
    expect(
      settle(
        waves,
        new Map([[four[1]?.arn as string, { state: 'unread' as const }]]),
        at(8),
        300_000,
      ).waves.waves[0]?.judgedAt,
    ).toBeFalsy();
    waves = settle(waves, canary, at(8), 300_000).waves;
    expect(waves.waves[0]?.judgedAt).toBe(at(8).toISOString());
    expect(wantsRun(waves)).toBe(true);
    const next = admit(waves, four, DEFAULT, '1,25%,100%', at(8), '/p');
    // 25% of the three left, rounded up: the fewest tasks next.
    expect(short(next.admit)).toEqual(['c']);
  });

  it('halt on a failed restart: nothing more goes, and the halt names it; resume lets it go again', () => {
    const first = admit(undefined, four, DEFAULT, '1,25%,100%', at(0), '/p');
    const b = four[1]?.arn as string;
    const sent = sentTo(first.waves, b, 'b', 'ecs-svc/1');
    const failed = settle(
      sent,
      new Map([
        [
          b,
          {
            state: 'failed',
            reason: 'ECS deployment circuit breaker: tasks failed to start.',
            stopped: ['ResourceInitializationError: x', 'ResourceInitializationError: x'],
          },
        ],
      ]),
      at(3),
      300_000,
    );
    expect(failed.halted).toBe(true);
    expect(failed.waves.halt).toMatchObject({
      by: 'watcher',
      name: 'b',
      ref: 'ecs-svc/1',
      stopped: ['ResourceInitializationError: x'],
    });
    const held = admit(failed.waves, four, DEFAULT, '1,25%,100%', at(60), '/p');
    expect(held.admit.size).toBe(0);
    expect([...held.held.values()][0]).toMatch(/halted .*rotation-watcher resume \/p/);
    const resumed = resumeByHand(failed.waves, at(61));
    expect(short(resumed.retry)).toEqual(['b']);
    expect(resumed.waves.resumed?.[0]?.reason).toMatch(/circuit breaker/);
    expect(short(admit(resumed.waves, four, DEFAULT, '1,25%,100%', at(62), '/p').admit)).toEqual([
      'b',
    ]);
  });

  it('halt a restart in progress for too long (a stalled rollout), not one AWS could not be asked about', () => {
    const first = admit(undefined, four, DEFAULT, '1,25%,100%', at(0), '/p');
    const b = four[1]?.arn as string;
    const sent = sentTo(first.waves, b, 'b', 'ecs-svc/1');
    expect(settle(sent, new Map([[b, { state: 'unread' }]]), at(120), 0).halted).toBe(false);
    expect(settle(sent, new Map([[b, { state: 'in-progress' }]]), at(30), 0).halted).toBe(false);
    const stalled = settle(sent, new Map([[b, { state: 'in-progress' }]]), at(61), 0);
    expect(stalled.halted).toBe(true);
    expect(stalled.waves.halt?.reason).toMatch(/no progress/);
  });

  it('settle a member the plan no longer restarts (its own deploy replaced it) without a restart', () => {
    const first = admit(undefined, four, DEFAULT, '1,25%,100%', at(0), '/p');
    // b was replaced by its own deploy: no longer a candidate.
    const rest = four.filter((c) => c.name !== 'b');
    const b = four[1]?.arn as string;
    const again = admit(
      first.waves,
      rest,
      DEFAULT,
      '1,25%,100%',
      at(1),
      '/p',
      true,
      new Map([[b, 'fresh']]),
    );
    expect(again.waves.restarts).toMatchObject([{ name: 'b', state: 'settled', ref: null }]);
    // Not when the run could not read the whole account: it may simply not have seen it.
    const partial = admit(first.waves, rest, DEFAULT, '1,25%,100%', at(1), '/p', false);
    expect(partial.waves.restarts).toEqual([]);
    // Nor when it saw it still stale (held for another reason): the wave waits for it.
    const stale = admit(
      first.waves,
      rest,
      DEFAULT,
      '1,25%,100%',
      at(1),
      '/p',
      true,
      new Map([[b, 'stale']]),
    );
    expect(stale.waves.restarts).toEqual([]);
    // Being replaced by a deployment the watcher did not send: followed as its restart.
    const replaced = admit(
      first.waves,
      rest,
      DEFAULT,
      '1,25%,100%',
      at(1),
      '/p',
      true,
      new Map([[b, 'replacing']]),
    );
    expect(replaced.waves.restarts).toMatchObject([
      { name: 'b', state: 'in-flight', ref: null, at: at(0).toISOString() },
    ]);
  });

  it('halt by hand and say so; done once every consumer had its wave', () => {
    const w: Waves = admit(
      undefined,
      [candidate('a', 1)],
      DEFAULT,
      '1,25%,100%',
      at(0),
      '/p',
    ).waves;
    expect(haltByHand(w, at(1))).toMatchObject({ status: 'halted', halt: { by: 'person' } });
    const sent = sentTo(w, candidate('a', 1).arn, 'a', 'ecs-svc/1');
    const baked = settle(
      sent,
      new Map([[candidate('a', 1).arn, { state: 'settled', at: at(1).toISOString() }]]),
      at(2),
      0,
    ).waves;
    expect(admit(baked, [], DEFAULT, '1,25%,100%', at(3), '/p').waves.status).toBe('done');
  });
});
