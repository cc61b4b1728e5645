import type { Change } from '../events/index.js';
import { refersTo, relevance } from '../refs/index.js';
import type { ConsumerKind, Run, ServiceDetails } from './types.js';

/** Statuses of a task or job whose containers have not started: they will read the new value. */
const NOT_STARTED = new Set([
  'PROVISIONING',
  'PENDING',
  'ACTIVATING',
  'SUBMITTED',
  'RUNNABLE',
  'STARTING',
]);

export interface Verdict {
  stale: boolean;
  reason: string;
  /**
   * The changes that make it stale, and every deletion of a value it references: a deleted value
   * is an alarm whether or not the consumer started before it (new containers cannot start).
   */
  changes: Change[];
}

/** The changes that touch any of a run's references (whether or not they alter what it reads). */
export function touching(run: Pick<Run, 'references'>, changes: Change[]): Change[] {
  return changes.filter((change) => run.references.some((ref) => refersTo(ref.target, change)));
}

/**
 * Whether one run holds an old value: it started before a change that alters what one of its
 * references reads. Unknown start time counts as stale; a run not yet started is not.
 */
export function assessRun(run: Run, changes: Change[]): Verdict {
  const stale: Change[] = [];
  const notes: string[] = [];
  for (const change of changes) {
    const refs = run.references.filter((ref) => refersTo(ref.target, change));
    if (refs.length === 0) continue;
    const relevant = refs.map((ref) => relevance(ref.target, change));
    const affected = relevant.find((r) => r.affected);
    if (!affected) {
      notes.push(relevant[0]?.reason ?? 'not affected');
      continue;
    }
    if (NOT_STARTED.has(run.status) && !run.startedAt) {
      notes.push(`${run.status.toLowerCase()}, not started yet: it will read the new value`);
      continue;
    }
    if (!run.startedAt) {
      stale.push(change);
      notes.unshift(
        `start time unknown (AWS gave none), counted as stale: ${describeChange(change)}`,
      );
      continue;
    }
    if (run.startedAt < change.changedAt) {
      stale.push(change);
      const gone = change.effect === 'deleted' ? ' — the value is gone; a restart would fail' : '';
      notes.unshift(`started ${run.startedAt}, before ${describeChange(change)}${gone}`);
    } else {
      notes.push(`started ${run.startedAt}, after ${describeChange(change)}`);
    }
  }
  return {
    stale: stale.length > 0,
    reason: notes[0] ?? 'no change touches its references',
    changes: withDeletions(stale, run, changes),
  };
}

/** Adds the deletions of values the run references to `stale`, each once. */
function withDeletions(stale: Change[], run: Run, changes: Change[]): Change[] {
  const deleted = touching(run, changes).filter((change) => change.effect === 'deleted');
  return [...new Set([...stale, ...deleted])];
}

/** Whether a consumer (a service with its tasks, a standalone task, a job) holds an old value. */
export function assessConsumer(
  kind: ConsumerKind,
  runs: Run[],
  changes: Change[],
  service: ServiceDetails | null,
): Verdict {
  const verdicts = runs.map((run) => assessRun(run, changes));
  const deletions = [
    ...new Set(verdicts.flatMap((v) => v.changes.filter((change) => change.effect === 'deleted'))),
  ];
  if (kind !== 'ecs-service')
    return verdicts[0] ?? { stale: false, reason: 'no running task', changes: [] };
  const staleRuns = verdicts.filter((v) => v.stale);
  if (staleRuns.length === 0) {
    return { stale: false, reason: verdicts[0]?.reason ?? 'no running task', changes: deletions };
  }
  const staleChanges = unique(
    staleRuns.flatMap((v) => v.changes.filter((change) => change.effect !== 'deleted' || v.stale)),
  );
  const latest =
    staleChanges
      .map((change) => change.changedAt)
      .sort()
      .at(-1) ?? '';
  const deployment = service?.newestDeployment;
  if (deployment?.createdAt && deployment.createdAt > latest) {
    return {
      stale: false,
      reason: `deployment ${deployment.id} began ${deployment.createdAt}, after the change: its tasks read the new value`,
      changes: deletions,
    };
  }
  const first = staleRuns[0]?.reason ?? '';
  return {
    stale: true,
    reason: `${staleRuns.length} of ${runs.length} running task${runs.length === 1 ? '' : 's'} stale; first: ${first}`,
    changes: unique([...staleChanges, ...deletions]),
  };
}

export function describeChange(change: Change): string {
  return `the change of ${change.name} at ${change.changedAt} (${change.operation})`;
}

function unique(changes: Change[]): Change[] {
  return [...new Set(changes)];
}
