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
