// What becomes of a wave once it is open: what AWS says of its restarts settles it, bakes it and
// has it judged, or halts the waves; a person halts or resumes them; and when the record's next
// look is due. Pure, like waves.ts (which opens waves and admits their restarts).
import {
  type Halt,
  NOT_NEEDED,
  SEND_ATTEMPTS,
  STALL_AFTER_MS,
  type Wave,
  type WaveRestart,
  type Waves,
} from './waves.js';

/** What AWS says now of one restart of the wave in flight. */
export type RestartFact =
  /** `since`: when AWS last recorded progress (the deployment's updatedAt); a stall counts from it. */
  | { state: 'in-progress'; since?: string }
  /** AWS could not be asked: nothing is concluded (not even a stall). */
  | { state: 'unread' }
  | { state: 'settled'; at: string; reason?: string }
  | { state: 'failed'; reason: string; stopped: string[] };

/**
 * The waves after a look at the restarts of the wave in flight: each restart settled or failed
 * as AWS says, the wave settled once all its members are (the bake begins), and a halt when one
 * failed, whether before its wave settled or during the bake. Pure.
 */
export function settle(
  current: Waves,
  facts: ReadonlyMap<string, RestartFact>,
  now: Date,
  bakeMs: number,
): { waves: Waves; halted: boolean } {
  if (current.status === 'halted' || current.waves.length === 0)
    return { waves: current, halted: false };
  const at = now.toISOString();
  const index = current.waves.length - 1;
  let halt: Halt | null = null;
  const restarts = current.restarts.map((restart) => {
    if (restart.wave !== index || restart.state === 'failed') return restart;
    const fact = facts.get(restart.arn);
    if (!fact || fact.state === 'in-progress' || fact.state === 'unread') {
      // No progress for too long: a stalled rollout.
      const since = Math.max(
        Date.parse(restart.at),
        fact?.state === 'in-progress' && fact.since ? Date.parse(fact.since) : 0,
      );
      if (
        fact?.state === 'in-progress' &&
        restart.state === 'in-flight' &&
        Date.parse(at) - since > STALL_AFTER_MS
      ) {
        const reason = `no progress for ${Math.round(STALL_AFTER_MS / 60_000)} minutes (the rollout stalled)`;
        halt ??= haltOf(restart, reason, [], at);
        return { ...restart, state: 'failed' as const, reason };
      }
      return restart;
    }
    if (fact.state === 'failed') {
      halt ??= haltOf(restart, fact.reason, fact.stopped, at);
      return { ...restart, state: 'failed' as const, reason: fact.reason };
    }
    if (restart.state === 'settled') return restart;
    return {
      ...restart,
      state: 'settled' as const,
      settledAt: fact.at,
      reason: fact.reason ?? null,
    };
  });
  const waves = [...current.waves];
  const wave = waves[index] as Wave;
  if (halt) return { waves: { ...current, restarts, waves, status: 'halted', halt }, halted: true };
  const mine = restarts.filter((restart) => restart.wave === index);
  const settled = wave.members.every((arn) =>
    mine.some((restart) => restart.arn === arn && restart.state === 'settled'),
  );
  if (settled && !wave.settledAt) {
    const times = mine.map((restart) => restart.settledAt ?? at).sort();
    const since = times.at(-1) ?? at;
    waves[index] = {
      ...wave,
      settledAt: since,
      bakedAt: new Date(Date.parse(since) + bakeMs).toISOString(),
      // No bake: nothing more to judge than what settled it.
      judgedAt: bakeMs === 0 ? at : null,
    };
  } else if (
    wave.settledAt &&
    wave.bakedAt &&
    wave.bakedAt <= at &&
    !wave.judgedAt &&
    // Judged only on a look after the bake's end that read each restart again as settled (no
    // task stopped badly since the wave settled); one that needed no restart has nothing to read.
    mine.every(
      (restart) =>
        (restart.ref === null && restart.reason === NOT_NEEDED) ||
        facts.get(restart.arn)?.state === 'settled',
    )
  )
    waves[index] = { ...wave, judgedAt: at };
  const changed =
    waves[index] !== wave || restarts.some((restart, i) => restart !== current.restarts[i]);
  return { waves: changed ? { ...current, restarts, waves } : current, halted: false };
}

function haltOf(restart: WaveRestart, reason: string, stopped: string[], at: string): Halt {
  return {
    at,
    by: 'watcher',
    consumer: restart.arn,
    name: restart.name,
    ref: restart.ref,
    reason,
    stopped: [...new Set(stopped)].slice(0, 5),
    told: [],
  };
}

/** Halted by a person: no later wave goes until `resume`. */
export function haltByHand(current: Waves, now: Date): Waves {
  return {
    ...current,
    status: 'halted',
    halt: {
      at: now.toISOString(),
      by: 'person',
      consumer: null,
      name: null,
      ref: null,
      reason: 'halted by hand (rotation-watcher halt)',
      stopped: [],
      told: [],
    },
  };
}

/**
 * Resumed by a person: the waves go on where they stopped. The failed restarts of the wave in
 * flight are forgotten, so that its consumers are restarted again (the value was fixed).
 */
export function resumeByHand(current: Waves, now: Date): { waves: Waves; retry: string[] } {
  const index = current.waves.length - 1;
  const retry = current.restarts
    .filter((restart) => restart.wave === index && restart.state === 'failed')
    .map((restart) => restart.arn);
  const waves = [...current.waves];
  const wave = waves[index];
  if (wave) waves[index] = { ...wave, settledAt: null, bakedAt: null };
  return {
    waves: {
      ...current,
      status: 'rolling',
      waves,
      restarts: current.restarts.filter((restart) => !retry.includes(restart.arn)),
      // Sends refused before the fix count for nothing now.
      unsent: {},
      halt: null,
      resumed: [
        ...(current.resumed ?? []),
        ...(current.halt ? [{ ...current.halt, resumedAt: now.toISOString() }] : []),
      ],
    },
    retry,
  };
}

/** The wave in flight has restarts AWS has not finished, or its bake has not been judged. */
export function inFlight(waves: Waves | undefined): boolean {
  if (waves?.status !== 'rolling') return false;
  const wave = waves.waves.at(-1);
  return Boolean(wave && !wave.judgedAt);
}

/**
 * Whether a run should read the account for the change now: the wave in flight was judged (the
 * next may go), or, not settled yet, has members not restarted (held by WATCHER_MAX_ACTIONS or
 * the API budget).
 */
export function wantsRun(waves: Waves | undefined): boolean {
  if (waves?.status !== 'rolling') return false;
  const wave = waves.waves.at(-1);
  if (!wave) return true;
  if (wave.judgedAt) return true;
  if (wave.settledAt) return false;
  const sent = new Set(waves.restarts.map((restart) => restart.arn));
  return wave.members.some((arn) => !sent.has(arn));
}

/**
 * How long the record's next look waits: while a wave is in flight, a minute (or until its bake
 * ends); otherwise the usual delay.
 */
export function lookDelaySeconds(waves: Waves | undefined, now: Date, usual: number): number {
  if (!inFlight(waves)) return usual;
  const wave = waves?.waves.at(-1);
  if (wave?.bakedAt) {
    const left = Math.ceil((Date.parse(wave.bakedAt) - now.getTime()) / 1000) + 1;
    // Past the bake's end and not yet judged (a read failed): a minute, as in flight.
    return Math.min(usual, left > 0 ? Math.max(10, left) : 60);
  }
  return Math.min(usual, 60);
}

/**
 * The waves after a run failed to send some restarts of the wave in flight: each failure
 * counted; one that failed SEND_ATTEMPTS times halts the waves (AccessDenied, a bad parameter:
 * sending again would fail the same way).
 */
export function noteUnsent(
  current: Waves,
  failed: Array<{ arn: string; name: string; error: string }>,
  now: Date,
): { waves: Waves; halted: boolean } {
  if (failed.length === 0 || current.status !== 'rolling') return { waves: current, halted: false };
  const unsent = { ...(current.unsent ?? {}) };
  let halt: Halt | null = null;
  for (const { arn, name, error } of failed) {
    const count = (unsent[arn]?.count ?? 0) + 1;
    unsent[arn] = { count, error };
    if (count >= SEND_ATTEMPTS && !halt)
      halt = {
        at: now.toISOString(),
        by: 'watcher',
        consumer: arn,
        name,
        ref: null,
        reason: `its restart could not be sent ${count} times: ${error}`,
        stopped: [],
        told: [],
      };
  }
  return halt
    ? { waves: { ...current, unsent, status: 'halted', halt }, halted: true }
    : { waves: { ...current, unsent }, halted: false };
}
