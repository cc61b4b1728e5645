import type { Change, PolicyAction } from '../domain/index.js';
import { valueKey } from '../events/index.js';
import { isRestart } from '../plan.js';
import type { Waves } from './waves.js';

/**
 * What became of one consumer that held the old value when the watcher first looked:
 * - `stale`: it still runs something created before the change;
 * - `being-replaced`: a rollout begun after the change is replacing it;
 * - `replaced-by-watcher`: nothing old runs any more, and the watcher restarted it;
 * - `replaced-by-deploy`: nothing old runs any more, replaced by its own deploy or by a person;
 * - `stopped`: it no longer runs at all;
 * - `stale-at-deadline`: it still held the old value when the record's deadline passed.
 */
export type ConsumerState =
  | 'stale'
  | 'being-replaced'
  | 'replaced-by-watcher'
  | 'replaced-by-deploy'
  | 'stopped'
  | 'stale-at-deadline';

/** States after which a consumer no longer holds the old value. */
export const CLEARED: ReadonlySet<ConsumerState> = new Set([
  'replaced-by-watcher',
  'replaced-by-deploy',
  'stopped',
]);

export interface RecordedConsumer {
  kind: string;
  arn: string;
  name: string;
  region: string;
  /** Its cluster or job queue. */
  parent: string | null;
  state: ConsumerState;
  /**
   * What the watcher did to it: `redeploy` or `resubmit` (a restart stays recorded), else what it
   * decided: `notify` (people were told), `ignore` (a tag), or none yet.
   */
  action: PolicyAction | null;
  history: Array<{ at: string; state: ConsumerState }>;
}

export type RotationStatus = 'open' | 'complete' | 'overdue' | 'superseded';

/** One change of one value, followed until no consumer holds the value from before it. */
export interface RotationRecord {
  pk: string;
  sk: string;
  value: {
    service: 'ssm' | 'secretsmanager';
    name: string;
    arn: string | null;
    region: string;
    account: string | null;
    /** The staging label whose move this record follows (secrets; AWSCURRENT unless pinned); null for parameters. */
    stage?: string | null;
    /** Parameter version, or the secret's AWSCURRENT version id. */
    version: string | null;
    /** AWS's time of the change. */
    changedAt: string;
  };
  status: RotationStatus;
  openedAt: string;
  /** When an open record becomes overdue. */
  deadline: string;
  closedAt: string | null;
  consumers: RecordedConsumer[];
  /** The record of the newer change that replaced this one, or of the older one this replaced. */
  supersededBy: string | null;
  supersedes: string | null;
  /**
   * When `Rotation Complete` or `Rotation Overdue` was told (every channel took it); null while
   * open, or closed and not yet told (a later look tells again). Absent in older records.
   */
  signalled?: string | null;
  /** The channels that took the signal (`eventbridge`, `sns`, `slack`; older records say `event`): a resend skips them. */
  told?: string[];
  /**
   * The follow-up message that carries the record's one chain of looks, and when it is due: a copy
   * of an older message (redelivered after a run that had already scheduled its successor timed
   * out) finds another id here and stops, so the chains never multiply. Absent: no chain yet.
   */
  nextLook?: string | null;
  nextLookAt?: string | null;
  /**
   * What its looks read: the regions scanned for consumers and the account. Replicas in other
   * regions, other accounts and consumers outside ECS and Batch are not in it. Absent in older records.
   */
  covered?: { regions: string[]; accounts: string[] };
  /**
   * Whether a look at the whole account for this value (discovery, with no part unread) has been
   * applied: until then a consumer the opening look could not see may be missing from the record,
   * and it cannot close complete. Absent in older records (counted as not read whole).
   */
  readWhole?: boolean;
  /**
   * The staged restarts of this change (WATCHER_WAVES): each wave, what each restart became, and
   * a halt. Absent when nothing was restarted for it, or the waves were `all`.
   */
  waves?: Waves;
  /**
   * When a follow-up last read the record's consumers while its waves were in flight: such looks
   * come every minute for the waves' sake, and read the consumers only every FOLLOW_UP_DELAY_S.
   */
  lookedAt?: string | null;
  /** Bumped by every write; a write succeeds only on the revision it read. */
  rev: number;
}

/** A consumer as a run sees it now (from discovery, or a follow-up's re-read). */
export interface Observation {
  arn: string;
  kind: string;
  name: string;
  region: string;
  parent: string | null;
  /** Runs created before the change still running (0: nothing old runs). */
  staleRuns: number;
  /** Whether it still runs at all. */
  running: boolean;
  /** A rollout begun after the change is under way. */
  replacing: boolean;
  /** What this run did to it (a restart), else what it decided (`notify`, `ignore`), if anything. */
  action: PolicyAction | null;
}

/** The partition key of a value's records: one value, any of its changes. */
export function recordPk(
  value: Pick<Change, 'service' | 'region' | 'account' | 'name' | 'versionStage'>,
): string {
  return `${PK_PREFIX}${valueKey(value as Change)}`;
}

/** The sort key of one change: its time first, so a Query reads a value's records in order. */
export function recordSk(change: Change): string {
  return `${SK_PREFIX}${change.changedAt}#${change.version ?? '-'}`;
}

/** Whether `pk` and `sk` are a rotation record's keys (a follow-up names them). */
export function isRecordKey(pk: string, sk: string): boolean {
  return pk.startsWith(PK_PREFIX) && pk.length > PK_PREFIX.length && sk.startsWith(SK_PREFIX);
}

const PK_PREFIX = 'rot#';
const SK_PREFIX = 'change#';

/**
 * A new open record for `change` with the consumers that held the old value when first seen;
 * `whole`: that look read the whole account for the value (see `RotationRecord.readWhole`).
 */
export function newRecord(
  change: Change,
  observations: Observation[],
  now: Date,
  deadlineMs: number,
  whole = true,
): RotationRecord {
  const at = now.toISOString();
  return {
    pk: recordPk(change),
    sk: recordSk(change),
    value: {
      service: change.service,
      name: change.name,
      arn: change.arn ?? null,
      region: change.region,
      account: change.account ?? null,
      stage: change.service === 'secretsmanager' ? (change.versionStage ?? 'AWSCURRENT') : null,
      version: change.version ?? null,
      changedAt: change.changedAt,
    },
    status: 'open',
    openedAt: at,
    deadline: new Date(now.getTime() + deadlineMs).toISOString(),
    closedAt: null,
    consumers: observations.filter((seen) => seen.staleRuns > 0).map((seen) => holding(seen, at)),
    supersededBy: null,
    supersedes: null,
    signalled: null,
    readWhole: whole,
    rev: 0,
  };
}

/** What a record's change means for the world when it is written. */
export type Signal = 'complete' | 'overdue' | 'halted' | null;

/**
 * The record after a look at its consumers: each one's new state (a consumer not seen by a
 * complete look no longer runs), consumers the record did not know yet that hold the old value
 * (a look that read more than an earlier one), then whether the rotation is complete or, past its
 * deadline, overdue. `complete`: nothing the look tried to read failed; `whole`: it read the
 * whole account for the value (discovery), not only the record's consumers. An incomplete look
 * never clears a consumer (what it could not read may be what holds the old value), and the
 * record closes complete only on a complete look once the whole account has been read. A closed
 * record does not change. Pure: the store writes the result.
 */
export function observe(
  record: RotationRecord,
  seen: Observation[],
  now: Date,
  complete: boolean,
  whole = false,
): { record: RotationRecord; signal: Signal } {
  if (record.status !== 'open') return { record, signal: null };
  const at = now.toISOString();
  const byArn = new Map(seen.map((observation) => [observation.arn, observation]));
  const known = new Set(record.consumers.map((consumer) => consumer.arn));
  const consumers = record.consumers.map((consumer) => {
    if (CLEARED.has(consumer.state)) return consumer;
    const now = byArn.get(consumer.arn);
    // Not seen in a complete read: it no longer runs. In an incomplete one: unknown, kept.
    if (!now && !complete) return consumer;
    // A restart stays what was done to it: a later run that only notifies does not undo it.
    const action =
      now?.action && !(isRestart(consumer.action) && !isRestart(now.action))
        ? now.action
        : consumer.action;
    const observed: ConsumerState = !now?.running
      ? 'stopped'
      : now.staleRuns > 0
        ? now.replacing
          ? 'being-replaced'
          : 'stale'
        : isRestart(action)
          ? 'replaced-by-watcher'
          : 'replaced-by-deploy';
    // Only a complete look may say that nothing old runs any more.
    const state = CLEARED.has(observed) && !complete ? consumer.state : observed;
    if (state === consumer.state && action === consumer.action) return consumer;
    return {
      ...consumer,
      state,
      action,
      history: state === consumer.state ? consumer.history : [...consumer.history, { at, state }],
    };
  });
  const added = seen
    .filter((observation) => observation.staleRuns > 0 && !known.has(observation.arn))
    .map((observation) => holding(observation, at));
  const readWhole = Boolean(record.readWhole) || (whole && complete);
  const unchanged =
    added.length === 0 &&
    readWhole === Boolean(record.readWhole) &&
    consumers.every((consumer, index) => consumer === record.consumers[index]);
  const all = [...consumers, ...added];
  const left = all.filter((consumer) => !CLEARED.has(consumer.state));
  if (left.length === 0 && complete && readWhole)
    return {
      record: {
        ...record,
        consumers: all,
        readWhole,
        status: 'complete',
        closedAt: at,
        // Nobody holds the old value: no wave is left to go.
        ...(record.waves?.status === 'rolling'
          ? { waves: { ...record.waves, status: 'done' } }
          : {}),
      },
      signal: 'complete',
    };
  if (at >= record.deadline)
    return {
      record: {
        ...record,
        readWhole,
        status: 'overdue',
        closedAt: at,
        consumers: all.map((consumer) =>
          CLEARED.has(consumer.state)
            ? consumer
            : {
                ...consumer,
                state: 'stale-at-deadline',
                history: [...consumer.history, { at, state: 'stale-at-deadline' as const }],
              },
        ),
      },
      signal: 'overdue',
    };
  // Nothing new: the same record, so that callers write (and follow up) nothing.
  return {
    record: unchanged ? record : { ...record, consumers: all, readWhole },
    signal: null,
  };
}

/** A consumer seen holding the old value, as the record first keeps it. */
function holding(seen: Observation, at: string): RecordedConsumer {
  const state: ConsumerState = seen.replacing ? 'being-replaced' : 'stale';
  return {
    kind: seen.kind,
    arn: seen.arn,
    name: seen.name,
    region: seen.region,
    parent: seen.parent,
    state,
    action: seen.action,
    history: [{ at, state }],
  };
}
