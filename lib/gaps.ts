import type { Change, Consumer, Gap } from './domain/index.js';
import { valueKey } from './events/index.js';

/**
 * After this many receives of one SQS record, a gap that could concern any change (a cluster
 * that cannot be listed, a task definition that cannot be described) no longer keeps the record:
 * it is permanent, retrying would only park every unrelated change in the dead-letter queue, and
 * the stack alarms on it instead (`GapsPersistAlarm`: the `Gaps` metric above zero in every run
 * for 12 hours).
 */
export const RETRY_GAPS_FOR_RECEIVES = 3;

/**
 * Whether a gap could concern a record's change, so that the record should be retried. A gap
 * that could concern any change keeps records only while they are young (`receives`).
 */
export function concerns(
  gap: Gap,
  change: Change,
  consumers: Consumer[],
  receives: number,
): boolean {
  // The run handed its work back at its time limit: every change is looked at again, with what
  // was learned saved (a retry gets further; the dead-letter queue ends a run that never fits).
  if (gap.cause === 'time-limit') return true;
  const scope = gap.affects;
  if (scope.kind === 'values')
    return change.service === scope.service && change.region === scope.region;
  if (scope.kind === 'consumers') {
    const wanted = valueKey(change);
    return consumers.some(
      (consumer) =>
        consumer.region === scope.region &&
        (scope.parent === null ||
          consumer.parent === scope.parent ||
          consumer.arn === scope.parent) &&
        consumer.changes.some((other) => valueKey(other) === wanted),
    );
  }
  return receives < RETRY_GAPS_FOR_RECEIVES;
}
