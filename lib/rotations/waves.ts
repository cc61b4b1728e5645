/**
 * Staged restarts: the restarts one change leads to go out in waves, a canary first, each wave
 * only once the one before it completed and baked, and none after a wave that failed. The waves
 * live in the change's rotation record (`RotationRecord.waves`); everything here is pure, and
 * what AWS says of a wave's restarts comes in as facts (lib/rotations/wave-reads.ts reads them).
 */
import type { RestartKind } from '../domain/index.js';

/** One step of `WATCHER_WAVES`: a count of consumers, or a percentage of those left (rounded up). */
export type WaveStep = { count: number } | { percent: number };

/** `WATCHER_WAVES`: `all` (every restart at once), or the steps (`1,25%,100%`). */
export type WaveSpec = 'all' | WaveStep[];

export const DEFAULT_WAVES = '1,25%,100%';
/** The tag that puts a consumer in the canary wave. */
export const WAVE_TAG = 'rotation-watcher:wave';
/** A restart still in progress this long after it was sent made no progress: the waves halt. */
export const STALL_AFTER_MS = 60 * 60_000;

/** A restart a wave sent, and what became of it. */
export interface WaveRestart {
  arn: string;
  name: string;
  kind: RestartKind;
  region: string;
  /** Its cluster or job queue. */
  parent: string | null;
  /** Which wave (0: the canary). */
  wave: number;
  /** The deployment it began (`ecs-svc/…`), or the job submitted in its place; null when unnamed. */
  ref: string | null;
  at: string;
  /**
   * `in-flight`: sent, not yet done; `settled`: its deployment COMPLETED (its job RUNNING or
   * SUCCEEDED), or it needs no restart any more; `failed`: its deployment failed, rolled back or
   * stalled, or its job failed.
   */
  state: 'in-flight' | 'settled' | 'failed';
  settledAt: string | null;
  /** What AWS said: a rolloutStateReason, a job's statusReason, or why it needs no restart. */
  reason: string | null;
}

export interface Wave {
  /** Its consumers (ARNs), in the order they were chosen. */
  members: string[];
  openedAt: string;
  /** When every member was settled: the bake began. */
  settledAt: string | null;
  /** When the bake ends (settledAt + WATCHER_BAKE). */
  bakedAt: string | null;
  /**
   * When a look after the bake's end read every restart of the wave again and found none failed
   * (no task stopped badly since the wave settled): only then may the next wave go.
   */
  judgedAt?: string | null;
}

/** Why the waves stopped: a failed restart, or a person (`rotation-watcher halt`). */
export interface Halt {
  at: string;
  by: 'watcher' | 'person';
  /** The consumer whose restart failed (ARN and name), the deployment or job, and AWS's reasons. */
  consumer: string | null;
  name: string | null;
  ref: string | null;
  reason: string;
  /** The stopped tasks' `stoppedReason` (or the job's container reason), each once. */
  stopped: string[];
  /** The channels that took `Rotation Halted`. */
  told?: string[];
  /** When every configured channel had taken it; until then a later look tells it again. */
  toldAt?: string | null;
}

export interface Waves {
  /** WATCHER_WAVES when the waves began. */
  spec: string;
  /**
   * `rolling`: a wave is in flight or baking, or the next may go; `halted`: no wave goes until a
   * person resumes (or a newer change supersedes the record); `done`: every consumer found so far
   * had its wave (one found later opens another).
   */
  status: 'rolling' | 'halted' | 'done';
  waves: Wave[];
  restarts: WaveRestart[];
  halt: Halt | null;
  /** Earlier halts a person resumed from, oldest first. */
  resumed?: Array<Halt & { resumedAt: string }>;
  /** Restarts of the wave in flight that could not be sent, by consumer: how often, and why last. */
  unsent?: Record<string, { count: number; error: string }>;
}

/** A restart that could not be sent this many times halts the waves (a person must look). */
export const SEND_ATTEMPTS = 3;

/** A consumer the plan would restart for the change, as the waves choose it. */
export interface Candidate {
  arn: string;
  name: string;
  kind: RestartKind;
  region: string;
  parent: string | null;
  /** Its running tasks or jobs: the canary is the smallest. */
  runs: number;
  /** Tagged `rotation-watcher:wave=canary`. */
  canary: boolean;
}

/**
 * Reads `WATCHER_WAVES`: `all`, or a comma list of counts and percentages (`1,25%,100%`).
 * @returns the spec, or what is wrong with it.
 */
export function parseWaves(raw: string): WaveSpec | { error: string } {
  const text = raw.trim().toLowerCase();
  if (text === 'all') return 'all';
  const parts = text.split(',').map((part) => part.trim());
  const steps: WaveStep[] = [];
  for (const part of parts) {
    const percent = /^(\d{1,3})%$/.exec(part);
    if (percent) {
      const value = Number(percent[1]);
      if (value < 1 || value > 100)
        return { error: `a percentage must be from 1% to 100%, got ${part}` };
      steps.push({ percent: value });
    } else if (/^\d{1,5}$/.test(part) && Number(part) >= 1) steps.push({ count: Number(part) });
    else
      return {
        error: `expected counts (such as 1) or percentages (such as 25%), got ${JSON.stringify(part.slice(0, 20))}`,
      };
  }
  return steps;
}

/** The spec as it is written (for the record, and for `status`). */
export function specText(spec: WaveSpec): string {
  if (spec === 'all') return 'all';
  return spec.map((step) => ('count' in step ? String(step.count) : `${step.percent}%`)).join(',');
}

/** The waves' order: tagged canaries first, then the fewest running tasks, ties by ARN. */
function byOrder(a: Candidate, b: Candidate): number {
  if (a.canary !== b.canary) return a.canary ? -1 : 1;
  if (a.runs !== b.runs) return a.runs - b.runs;
  return a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0;
}

/**
 * The members of the wave numbered `index`, from the consumers no wave has taken yet. Wave 0 is
 * the canary: every consumer tagged canary, else the first step's size. Each later wave is its
 * step's count, or percentage of those left rounded up; the last step (and any wave after it)
 * takes all that is left.
 */
export function membersOf(steps: WaveStep[], index: number, left: Candidate[]): string[] {
  const ordered = [...left].sort(byOrder);
  if (index === 0) {
    const tagged = ordered.filter((candidate) => candidate.canary);
    if (tagged.length > 0) return tagged.map((candidate) => candidate.arn);
  }
  const last = index === 0 ? false : index >= steps.length - 1;
  const step = steps[Math.min(index, steps.length - 1)] ?? { count: 1 };
  const size = last
    ? ordered.length
    : 'count' in step
      ? step.count
      : Math.ceil((ordered.length * step.percent) / 100);
  return ordered.slice(0, Math.max(1, size)).map((candidate) => candidate.arn);
}

/** What the waves let a run do now. */
export interface Admission {
  waves: Waves;
  /** Consumers to restart now. */
  admit: Set<string>;
  /** Consumers held back, each with the sentence that says why. */
  held: Map<string, string>;
}

/**
 * Which of `candidates` (the consumers a run would restart for one change) may be restarted now.
 * Only the wave in flight; the next wave opens once the one before it was judged. A member of the
 * wave in flight that is no longer a candidate is settled only when the run saw it fresh (or,
 * reading the whole account, not at all); one being replaced by a deployment the watcher did not
 * send (another change's wave, a person) is followed as a restart of its own; one still stale
 * keeps the wave waiting. Halted waves admit nobody.
 */
export function admit(
  current: Waves | undefined,
  candidates: Candidate[],
  steps: WaveStep[],
  spec: string,
  now: Date,
  name: string,
  /** The run read the whole account: a member it did not find needs no restart. */
  whole = true,
  /** What the run saw of each consumer it found, judged against this change alone. */
  seen: ReadonlyMap<string, 'fresh' | 'replacing' | 'stale'> = new Map(),
): Admission {
  const at = now.toISOString();
  const waves: Waves = current
    ? { ...current, waves: [...current.waves], restarts: [...current.restarts] }
    : { spec, status: 'rolling', waves: [], restarts: [], halt: null };
  const admitted = new Set<string>();
  const held = new Map<string, string>();
  if (waves.status === 'halted') {
    const why = waves.halt?.reason ?? 'halted';
    for (const candidate of candidates)
      held.set(
        candidate.arn,
        `held back: the waves for ${name} are halted (${why}); \`rotation-watcher resume ${name}\` goes on once the value is fixed`,
      );
    return { waves, admit: admitted, held };
  }
  const restarted = new Set(waves.restarts.map((restart) => restart.arn));
  const byArn = new Map(candidates.map((candidate) => [candidate.arn, candidate]));
  const index = waves.waves.length - 1;
  // Members of the wave in flight the plan no longer restarts.
  const current0 = waves.waves[index];
  if (current0)
    for (const arn of current0.members) {
      if (byArn.has(arn) || restarted.has(arn)) continue;
      const state = seen.get(arn);
      if (state === 'fresh' || (whole && state === undefined)) {
        waves.restarts.push(notNeeded(arn, index, at));
        restarted.add(arn);
      } else if (state === 'replacing' && !arn.includes(':job/')) {
        waves.restarts.push(replacedElsewhere(arn, index, current0.openedAt));
        restarted.add(arn);
      }
    }
  let wave = waves.waves[index];
  const baked = !wave || Boolean(wave.judgedAt);
  const inWaves = new Set(waves.waves.flatMap((w) => w.members));
  const left = candidates.filter((c) => !inWaves.has(c.arn) && !restarted.has(c.arn));
  if (baked && left.length > 0) {
    wave = {
      members: membersOf(steps, waves.waves.length, left),
      openedAt: at,
      settledAt: null,
      bakedAt: null,
    };
    waves.waves.push(wave);
    waves.status = 'rolling';
  } else if (baked && whole && waves.status === 'rolling') waves.status = 'done';
  const number = waves.waves.length - 1;
  const members = new Set(wave?.members ?? []);
  for (const candidate of candidates) {
    if (members.has(candidate.arn) && !restarted.has(candidate.arn)) admitted.add(candidate.arn);
    else if (!members.has(candidate.arn))
      held.set(
        candidate.arn,
        `held back: it waits for a later wave; wave ${number + 1} (${label(number)}, ${members.size} consumer${members.size === 1 ? '' : 's'}) must complete and bake first`,
      );
  }
  return { waves, admit: admitted, held };
}

export const NOT_NEEDED = 'no restart needed any more (replaced by its own deploy, or stopped)';

const label = (index: number) => (index === 0 ? 'the canary' : `wave ${index + 1}`);

function notNeeded(arn: string, wave: number, at: string): WaveRestart {
  return {
    arn,
    name: arn.split('/').at(-1) ?? arn,
    kind: arn.includes(':job/') ? 'resubmit' : 'redeploy',
    region: arn.split(':')[3] ?? '',
    parent: null,
    wave,
    ref: null,
    at,
    state: 'settled',
    settledAt: at,
    reason: NOT_NEEDED,
  };
}

/**
 * A member being replaced by a deployment the watcher did not send: followed as its restart (the
 * service's newest deployment since the wave opened), so its health counts for the wave.
 */
function replacedElsewhere(arn: string, wave: number, openedAt: string): WaveRestart {
  return {
    ...notNeeded(arn, wave, openedAt),
    state: 'in-flight',
    settledAt: null,
    reason: 'being replaced by a deployment the watcher did not send for this change',
  };
}

/** The restarts a run sent for the wave in flight, noted so that none is sent twice. */
export function noteSent(
  waves: Waves,
  sent: Array<Omit<WaveRestart, 'wave' | 'state' | 'settledAt' | 'reason'>>,
): Waves {
  const index = waves.waves.length - 1;
  const known = new Set(waves.restarts.map((restart) => restart.arn));
  const added = sent
    .filter((restart) => !known.has(restart.arn))
    .map(
      (restart): WaveRestart => ({
        ...restart,
        wave: Math.max(0, index),
        state: 'in-flight',
        settledAt: null,
        reason: null,
      }),
    );
  return added.length === 0 ? waves : { ...waves, restarts: [...waves.restarts, ...added] };
}

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
 * Whether a run should read the account for the change now: the wave in flight baked (the next
 * may go), or has members not restarted yet (held by WATCHER_MAX_ACTIONS or the API budget).
 */
export function wantsRun(waves: Waves | undefined, now: Date): boolean {
  if (waves?.status !== 'rolling') return false;
  const wave = waves.waves.at(-1);
  if (!wave) return true;
  if (wave.judgedAt) return true;
  if (wave.settledAt) return false;
  void now;
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
