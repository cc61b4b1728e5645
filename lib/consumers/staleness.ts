import type {
  Change,
  ConsumerKind,
  DeploymentState,
  Run,
  ServiceDetails,
  TimeBasis,
  VerdictCause,
} from '../domain/index.js';
import { refersTo, relevance } from '../refs/index.js';

/**
 * Batch statuses of a job that has no container yet: it has fetched nothing and will read the
 * current value. STARTING is not among them: its containers may already have fetched secrets.
 * ECS has no such status: the agent fetches secrets at some unreported moment after the task is
 * created, so every task created before a change may hold the old value.
 */
const JOB_NOT_STARTED = new Set(['SUBMITTED', 'PENDING', 'RUNNABLE']);

/**
 * A rollout that ECS has not updated for this long is not replacing anything: a deployment begun
 * after a change stops excusing the old tasks it was meant to replace.
 */
export const STALLED_AFTER_MS = 30 * 60_000;

export interface Verdict {
  stale: boolean;
  cause: VerdictCause;
  reason: string;
  /**
   * The changes that make it stale, and every deletion of a value it references: a deleted value
   * is an alarm whether or not the consumer started before it (new containers cannot start).
   */
  changes: Change[];
  /** How many of its runs may hold an old value. */
  staleRuns: number;
  /**
   * A deployment begun after the change whose rollout failed or stalled: the service was already
   * redeployed for this change, and forcing another deployment would not get further.
   */
  stuckRollout: string | null;
}

/** The changes that touch any of a run's references (whether or not they alter what it reads). */
export function touching(run: Pick<Run, 'references'>, changes: Change[]): Change[] {
  return changes.filter((change) => run.references.some((ref) => refersTo(ref.target, change)));
}

/** Which rules apply: Batch jobs without a container yet have fetched nothing. */
export type Platform = 'ecs' | 'batch';

/**
 * Whether one task or job may hold an old value: it may have fetched secrets before a change that
 * alters what one of its references reads. The earliest such moment is its creation, so only a
 * run created at or after AWS's record of the change is surely fresh; no creation time counts as
 * stale.
 */
export function assessRun(run: Run, changes: Change[], platform: Platform): Verdict {
  const stale: Change[] = [];
  const notes: Array<{ cause: VerdictCause; reason: string }> = [];
  for (const change of changes) {
    const refs = run.references.filter((ref) => refersTo(ref.target, change));
    if (refs.length === 0) continue;
    const affected = refs.map((ref) => relevance(ref.target, change)).find((r) => r.affected);
    if (!affected) {
      const why = relevance((refs[0] as (typeof refs)[0]).target, change).reason;
      notes.push({ cause: 'unaffected', reason: why });
      continue;
    }
    if (platform === 'batch' && JOB_NOT_STARTED.has(run.status)) {
      notes.push({
        cause: 'not-started',
        reason: `${run.status.toLowerCase()}, no container yet: it will read the current value`,
      });
      continue;
    }
    const gone = change.effect === 'deleted' ? ' — the value is gone; a restart would fail' : '';
    if (!run.createdAt) {
      stale.push(change);
      notes.unshift({
        cause: 'time-unknown',
        reason: `creation time unknown (AWS gave none), counted as stale: ${describeChange(change)}${gone}`,
      });
    } else if (run.createdAt < change.changedAt) {
      stale.push(change);
      const started =
        run.startedAt && run.startedAt >= change.changedAt
          ? ` and started ${run.startedAt}, after it: it may have fetched either value`
          : '';
      notes.unshift({
        cause: 'created-before',
        reason: `${run.stopping ? 'being stopped; ' : ''}created ${run.createdAt}, before ${describeChange(change)}${started}${gone}`,
      });
    } else {
      notes.push({
        cause: 'created-after',
        reason: `created ${run.createdAt}, after ${describeChange(change)}`,
      });
    }
  }
  const first = notes[0] ?? { cause: 'unaffected', reason: 'no change touches its references' };
  return {
    stale: stale.length > 0,
    cause: first.cause,
    reason: first.reason,
    changes: withDeletions(stale, run, changes),
    staleRuns: stale.length > 0 ? 1 : 0,
    stuckRollout: null,
  };
}

/** Adds the deletions of values the run references to `stale`, each once. */
function withDeletions(stale: Change[], run: Run, changes: Change[]): Change[] {
  const deleted = touching(run, changes).filter((change) => change.effect === 'deleted');
  return [...new Set([...stale, ...deleted])];
}

/**
 * Whether a consumer holds an old value, from its runs' verdicts: a standalone task or a plain
 * job is its one run; an array or multi-node job is stale when any child or node is; a service is
 * stale when any task is, unless a deployment begun after the change is replacing them.
 */
export function assessConsumer(
  kind: ConsumerKind,
  runs: Run[],
  changes: Change[],
  service: ServiceDetails | null,
  now: Date,
): Verdict {
  const platform: Platform = kind === 'batch-job' ? 'batch' : 'ecs';
  const verdicts = runs.map((run) => assessRun(run, changes, platform));
  const deletions = unique(
    verdicts.flatMap((v) => v.changes.filter((change) => change.effect === 'deleted')),
  );
  const staleRuns = verdicts.filter((v) => v.stale);
  if (staleRuns.length === 0) {
    const first = verdicts[0];
    return first
      ? { ...first, changes: deletions, staleRuns: 0 }
      : {
          stale: false,
          cause: 'no-run',
          reason: nothingRuns(kind),
          changes: deletions,
          staleRuns: 0,
          stuckRollout: null,
        };
  }
  const staleChanges = unique(staleRuns.flatMap((v) => v.changes));
  const first = staleRuns[0] as Verdict;
  const count = `${staleRuns.length} of ${runs.length} running ${unit(kind, runs.length)}`;
  if (kind !== 'ecs-service') {
    return runs.length === 1
      ? { ...first, changes: staleChanges }
      : {
          ...first,
          reason: `${count} may hold the old value; first: ${first.reason}`,
          changes: staleChanges,
          staleRuns: staleRuns.length,
        };
  }
  // Tasks ECS is stopping still run on what they read, but need no restart: they are going.
  const going = runs.filter((run, i) => verdicts[i]?.stale && run.stopping).length;
  if (going === staleRuns.length) {
    return {
      stale: false,
      cause: 'replaced',
      reason: `${count} may hold the old value, but ECS is stopping ${going === 1 ? 'it' : 'them'}`,
      changes: deletions,
      staleRuns: staleRuns.length,
      stuckRollout: null,
    };
  }
  const latest = staleChanges
    .map((change) => change.changedAt)
    .sort()
    .at(-1);
  const newest = service?.deployments[0];
  const replacing = latest && newest ? replacement(newest, latest, now) : null;
  if (replacing?.replaces) {
    return {
      stale: false,
      cause: 'replaced',
      reason: `${count} may hold the old value, but ${replacing.reason}`,
      changes: deletions,
      staleRuns: staleRuns.length,
      stuckRollout: null,
    };
  }
  return {
    stale: true,
    stuckRollout: replacing && newest ? newest.id : null,
    cause: first.cause,
    reason: `${count} may hold the old value; first: ${first.reason}${replacing ? `; ${replacing.reason}` : ''}`,
    changes: unique([...staleChanges, ...deletions]),
    staleRuns: staleRuns.length,
  };
}

/**
 * Whether a deployment begun after the change (`latest`) is replacing the tasks started before
 * it: only while its rollout is in progress and moving, or once it completed. A failed or stalled
 * rollout leaves the old tasks serving on the old value. `null` when it began before the change.
 */
export function replacement(
  deployment: DeploymentState,
  latest: string,
  now: Date,
): { replaces: boolean; reason: string } | null {
  if (!deployment.createdAt || deployment.createdAt <= latest) return null;
  const named = `deployment ${deployment.id} began ${deployment.createdAt}, after the change,`;
  if (deployment.rolloutState === 'FAILED')
    return { replaces: false, reason: `${named} but its rollout FAILED: it replaces nothing` };
  if (deployment.rolloutState === 'COMPLETED')
    return { replaces: true, reason: `${named} and COMPLETED: its tasks read the new value` };
  const moved = Date.parse(deployment.updatedAt ?? deployment.createdAt);
  const idle = now.getTime() - moved;
  const state = deployment.rolloutState ?? 'rolling out (no rollout state reported)';
  if (idle > STALLED_AFTER_MS) {
    return {
      replaces: false,
      reason: `${named} but has made no progress for ${Math.round(idle / 60_000)} minutes (${state}): it is not replacing them`,
    };
  }
  return { replaces: true, reason: `${named} and is replacing them (${state})` };
}

export function describeChange(change: Change): string {
  // A secret's label move is dated by the tightest time provably not earlier: say which.
  const basis = describeBasis(change.timeBasis);
  const source =
    change.timeSource === 'aws'
      ? basis
        ? `, ${basis}`
        : ''
      : change.eventTime
        ? ", by the event's time: AWS's record could not be read"
        : ', AWS recorded no time: the time the watcher looked';
  return `the change of ${change.name} at ${change.changedAt} (${change.operation}${source})`;
}

function unit(kind: ConsumerKind, count: number): string {
  const noun = kind === 'batch-job' ? 'job' : 'task';
  return count === 1 ? noun : `${noun}s`;
}

function nothingRuns(kind: ConsumerKind): string {
  return kind === 'batch-job' ? 'no child or node of it runs yet' : 'no running task';
}

function unique(changes: Change[]): Change[] {
  return [...new Set(changes)];
}

/** How the reason names the basis of a change's time. */
export function describeBasis(basis: TimeBasis | undefined): string {
  switch (basis) {
    case 'event':
      return 'as the event of the move records it';
    case 'last-changed':
      return "by the secret's LastChangedDate, later than the version's creation";
    case 'first-sight':
      return 'when the watcher first saw this version current: AWS records no earlier proof of the move';
    case 'look':
      return 'when the watcher looked: AWS records no proof of when the label moved';
    default:
      return '';
  }
}
