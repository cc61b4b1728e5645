import { strategyFor } from '../consumers/index.js';
import type { Change, Consumer, PolicyAction } from '../domain/index.js';
import { partitionOf, refersTo } from '../refs/index.js';
import type { Observation, RotationRecord } from './record.js';

/**
 * What a look at the whole account (discovery) saw of each consumer of one changed value, each
 * judged against `change` (the record's own time of it, once there is a record) by its kind's
 * one rule: a consumer stale for another value, or judged by another time, is judged again here.
 */
export function observationsOf(
  consumers: Consumer[],
  change: Change,
  doneTo: (consumer: Consumer) => PolicyAction | null = () => null,
  now: Date = new Date(),
): Observation[] {
  return consumers
    .filter((consumer) => consumer.references.some((ref) => refersTo(ref.target, change)))
    .map((consumer) => observation(consumer, change, doneTo(consumer), now));
}

/** The change a record follows, as discovery takes it (its time is read again from AWS). */
export function changeOf(record: RotationRecord): Change {
  const { value } = record;
  return {
    service: value.service,
    name: value.name,
    arn: value.arn,
    partition: partitionOf(value.region),
    region: value.region,
    account: value.account,
    operation: 'Recorded',
    effect: 'value',
    changedAt: value.changedAt,
    timeSource: 'aws',
    eventTime: null,
    version: value.version,
    versionStage: value.stage ?? null,
    versionId: null,
    eventId: 'record',
    detailType: 'Rotation record',
  };
}

function observation(
  consumer: Consumer,
  change: Change,
  action: PolicyAction | null,
  now: Date,
): Observation {
  const verdict = strategyFor(consumer.kind).judge(consumer.runs, [change], now, consumer.service);
  // A parent whose children could not be listed may have any of them on the old value.
  const unknown = Boolean(consumer.job?.childrenUnknown);
  return {
    arn: consumer.arn,
    kind: consumer.kind,
    name: consumer.name,
    region: consumer.region,
    parent: consumer.parent,
    staleRuns: unknown ? Math.max(1, verdict.staleRuns) : verdict.staleRuns,
    running: unknown || consumer.runs.length > 0,
    replacing: verdict.cause === 'replaced',
    action,
  };
}

/**
 * Whether a change moves what some consumer reads, and so opens (or updates) a record: a new
 * parameter version, a secret's AWSCURRENT (AWSPREVIOUS follows it), or a label a reference pins.
 * A rotation's first step writes its new version under AWSPENDING, which nothing reads: announcing
 * that as a rotation (complete at once, as nobody reads it) would be announcing its start as its end.
 */
export function movesWhatIsRead(change: Change, consumers: Consumer[]): boolean {
  const stage = change.versionStage ?? 'AWSCURRENT';
  if (change.service === 'ssm' || stage === 'AWSCURRENT') return true;
  return consumers.some((consumer) =>
    consumer.references.some(
      (ref) => ref.target.versionStage === stage && refersTo(ref.target, change),
    ),
  );
}
