import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { ActionOutcome } from '../actions/index.js';
import { describeError } from '../aws/index.js';
import type { ActionKind, Change, Consumer, DiscoveryResult, Outcome } from '../domain/index.js';
import { valueKey } from '../events/index.js';
import { NotARecordError } from './errors.js';
import { changeOf, movesWhatIsRead, observationsOf } from './observations.js';
import {
  isRecordKey,
  newRecord,
  type Observation,
  observe,
  type RotationRecord,
  recordPk,
  recordSk,
  type Signal,
} from './record.js';
import { reread } from './reread.js';
import { tell } from './signal.js';
import { type FollowDeps, type FollowUpMessage, recordFailure } from './types.js';
import { inFlight, lookDelaySeconds } from './wave-progress.js';

/** SQS holds a message back 15 minutes at most: a follow-up looks again that often. */
export const FOLLOW_UP_DELAY_S = 900;

/**
 * A closed record whose signal did not reach every channel is told again by a later look (a
 * redelivery, a follow-up, the sweep), but not before this long after it closed: the run that
 * closed it is still telling.
 */
export const RESEND_AFTER_MS = 10 * 60_000;

export interface Recorded {
  outcomes: Outcome[];
  /** The records this run looked at (`PK SK`): the sweep does not follow them up again. */
  looked: Set<string>;
  /** Values (valueKey) whose record could not be opened: their events come back. */
  failed: Set<string>;
}

/**
 * After a run: one record per changed value (opened, or updated when a redelivery or a sweep sees
 * it again), older open records of the value superseded, a signal when a rotation is complete or
 * overdue, and a follow-up scheduled while one is open. Each step is an outcome, never a throw.
 */
export async function recordRun(
  result: DiscoveryResult,
  actions: ActionOutcome[],
  deps: FollowDeps,
  options: {
    open: boolean;
    decided?: ReadonlyMap<Consumer, ActionKind>;
    /** Records this run opened before it acted (`PK SK`, the waves' gate): opened, as if here. */
    opened?: ReadonlySet<string>;
  } = { open: true },
): Promise<Recorded> {
  const now = deps.now?.() ?? new Date();
  const acted = new Map(
    actions.filter((a) => a.status === 'done').map((a) => [a.consumer.arn, a.kind]),
  );
  // Without a restart done, what the plan decided when it was only to tell or to leave alone.
  const doneTo = (consumer: Consumer) => {
    const decided = options.decided?.get(consumer);
    return (
      acted.get(consumer.arn) ?? (decided === 'notify' || decided === 'ignore' ? decided : null)
    );
  };
  const recorded: Recorded = { outcomes: [], looked: new Set(), failed: new Set() };
  const { outcomes } = recorded;
  for (const change of result.changes.filter(
    (c) => c.effect === 'value' && c.timeSource === 'aws' && movesWhatIsRead(c, result.consumers),
  )) {
    const wanted = valueKey(change);
    // Judged by the record's own time of the change once it has one (a look may date it apart).
    const observing = (record: RotationRecord | null) =>
      observationsOf(result.consumers, record ? changeOf(record) : change, doneTo, now);
    const pk = recordPk(change);
    const sk = recordSk(change);
    recorded.looked.add(`${pk} ${sk}`);
    const openedBefore = options.opened?.has(`${pk} ${sk}`) ?? false;
    let seen = null as RotationRecord | null;
    try {
      const written = await deps.store.update(pk, sk, (current) => {
        seen = current;
        if (!current) {
          // Only events open records: the sweep sees every value's last change, however old, and
          // only follows up what an event began (or what it restarts: see lib/rotations/stage.ts).
          if (!options.open) return null;
          const first = openRecord(change, observing(null), result.complete, deps, now);
          return { record: first.record, result: { signal: first.signal, opened: true } };
        }
        // Discovery read the whole account for the value: it may add consumers an earlier,
        // partial look missed.
        const next = observe(current, observing(current), now, result.complete, true);
        return next.record === current
          ? null
          : { record: next.record, result: { signal: next.signal, opened: false } };
      });
      const record: RotationRecord | null = written?.record ?? seen;
      // An event's run keeps its record on the sweep's list while it needs looking at (also on
      // a redelivery: the run that opened it may have stopped before listing it); when that
      // fails, the event comes back.
      if ((options.open || openedBefore) && record && needsLooking(record))
        await deps.store.track(record).catch((error: unknown) => {
          recorded.failed.add(wanted);
          outcomes.push(recordFailure(change.name, 'could not be listed for the sweep', error));
        });
      const opened = Boolean(written?.result.opened) || openedBefore;
      if (!written && !opened) {
        // Unchanged: a closed record whose signal was never told is told now.
        if (seen) outcomes.push(...(await settle(seen, deps, now)));
        continue;
      }
      if (!record) continue;
      if (opened) {
        await supersede(record, deps, now).catch((error: unknown) => {
          outcomes.push(
            recordFailure(change.name, 'the older record could not be marked superseded', error),
          );
        });
      }
      if (written?.result.signal)
        outcomes.push(...(await tell(written.record, written.result.signal, deps)));
      // One chain of follow-ups per record, begun when it opens: a redelivery, another event of
      // the same rotation or the sweep only updates it (and signals, if it closes).
      else if (opened) outcomes.push(...(await startChain(record, deps, now)));
    } catch (error) {
      if (options.open) recorded.failed.add(wanted);
      outcomes.push(recordFailure(change.name, 'could not be written', error));
    }
  }
  return recorded;
}

/**
 * A new record for `change` with what the opening look observed (complete at once when nobody
 * holds the old value and the look read the whole account).
 */
export function openRecord(
  change: Change,
  observations: Observation[],
  whole: boolean,
  deps: Pick<FollowDeps, 'settings' | 'regions'>,
  now: Date,
): { record: RotationRecord; signal: Signal } {
  const record = newRecord(change, observations, now, deps.settings.completeDeadlineMs, whole);
  const covered = {
    regions: deps.regions ?? [change.region],
    accounts: change.account ? [change.account] : [],
  };
  return observeOrKeep({ ...record, covered }, observations, now, whole);
}

/** Open, or closed and its signal not yet told (`undefined`: from before signals were noted). */
const needsLooking = (record: RotationRecord) =>
  record.status === 'open' || (record.status !== 'superseded' && record.signalled === null);

/**
 * A follow-up: re-reads the record's consumers (or, for a record no look has read whole, the
 * whole account for its value), updates it, signals or schedules the next look. With `schedule`
 * it is a link of the record's delayed-message chain (`chain`): a link the record no longer names
 * (a copy redelivered after its successor was scheduled) does nothing, and the one that does
 * names its successor in the same conditional write that records the look. Without (the sweep),
 * it only looks, unless the chain has lapsed (its next look long overdue: a message lost, a run
 * stopped between the write and the send), when it takes the chain over. A closed record is
 * settled: told if it never was, and dropped from the sweep's list.
 */
export async function followUp(
  pk: string,
  sk: string,
  deps: FollowDeps,
  options: { schedule: boolean; chain?: string } = { schedule: true },
): Promise<Outcome[]> {
  // The keys come from a message or the sweep's list: only a record's are read.
  if (!isRecordKey(pk, sk)) throw new NotARecordError(pk, sk);
  const now = deps.now?.() ?? new Date();
  const current = await deps.store.get(pk, sk);
  if (!current) {
    await deps.store.untrack(pk, sk);
    return [];
  }
  if (current.status !== 'open') return settle(current, deps, now);
  const takeOver = !options.schedule && deps.queueUrl !== null && lapsed(current, now);
  const link = takeOver ? (current.nextLook ?? undefined) : options.chain;
  const schedule = options.schedule || takeOver;
  if (schedule && !owns(current, link)) return [];
  // While a wave of its restarts is in flight, links come every minute for the waves' own look;
  // they read the consumers at the usual pace (and when the deadline has come), not on each. The
  // sweep's look always reads them.
  const waves = inFlight(current.waves);
  const waiting =
    options.schedule &&
    waves &&
    now.toISOString() < current.deadline &&
    Boolean(current.lookedAt) &&
    now.getTime() - Date.parse(current.lookedAt ?? '') < FOLLOW_UP_DELAY_S * 1000;
  const whole = !waiting && !current.readWhole && deps.lookWhole !== undefined;
  const { observations, complete } = waiting
    ? { observations: [], complete: false }
    : whole && deps.lookWhole
      ? await deps.lookWhole(current)
      : await reread(current, changeOf(current), deps.clients, now);
  // The next link goes out before the record names it: if the send fails, this link's message
  // comes back (the error reaches the caller) and the chain lives on; if the record then cannot
  // name it (another copy of this link won), the sent link finds it does not own the record.
  const stays = observe(current, observations, now, complete, whole).record.status === 'open';
  const next = schedule && stays ? await sendLink(current, deps, now) : null;
  const written = await deps.store.update(pk, sk, (latest) => {
    // Closed, or another copy of this link took the chain meanwhile: nothing more to do here.
    if (!latest || (schedule && !owns(latest, link))) return null;
    const seen = observe(latest, observations, now, complete, whole);
    const looked =
      waves && !waiting ? { ...seen.record, lookedAt: now.toISOString() } : seen.record;
    const record = next && looked.status === 'open' ? chained(looked, next, now) : looked;
    return record === latest ? null : { record, result: seen.signal };
  });
  if (!written?.result) return [];
  return tell(written.record, written.result, deps);
}

/**
 * Begins the chain of a record that has none: its first link sent, then named by the record
 * (conditionally: only if it still names no other). A failed send is an outcome: the sweep takes
 * the chain over once it has lapsed.
 */
async function startChain(record: RotationRecord, deps: FollowDeps, now: Date): Promise<Outcome[]> {
  if (record.status !== 'open' || !deps.queueUrl || record.nextLook) return [];
  try {
    const link = await sendLink(record, deps, now);
    if (link)
      await deps.store.update(record.pk, record.sk, (latest) =>
        latest?.status === 'open' && !latest.nextLook
          ? { record: chained(latest, link, now), result: null }
          : null,
      );
    return [];
  } catch (error) {
    return [
      {
        kind: 'follow-up',
        target: record.value.name,
        status: 'failed',
        detail: `the first look could not be scheduled (the sweep takes the chain over): ${describeError(error)}`,
      },
    ];
  }
}

/** Whether a follow-up of link `chain` may look: the record names it, or names no chain yet. */
function owns(record: RotationRecord, chain: string | undefined): boolean {
  return !record.nextLook || record.nextLook === chain;
}

/** Its next look overdue by a whole delay: the chain's message was lost or never sent. */
function lapsed(record: RotationRecord, now: Date): boolean {
  const due = record.nextLookAt ? Date.parse(record.nextLookAt) : Number.NaN;
  return !(due + FOLLOW_UP_DELAY_S * 1000 > now.getTime());
}

/** The record naming `chain` as the link that looks next, one delay from now. */
function chained(record: RotationRecord, chain: string | null, now: Date): RotationRecord {
  if (!chain) return record;
  const at = new Date(now.getTime() + delayOf(record, now) * 1000).toISOString();
  return { ...record, nextLook: chain, nextLookAt: at };
}

/**
 * A closed record seen again: told, if its signal never reached every channel and the run that
 * closed it has had its time; off the sweep's list once told (or superseded).
 */
async function settle(record: RotationRecord, deps: FollowDeps, now: Date): Promise<Outcome[]> {
  if (record.status === 'open') return [];
  if (!needsLooking(record)) {
    await deps.store.untrack(record.pk, record.sk);
    return [];
  }
  const closed = Date.parse(record.closedAt ?? record.openedAt);
  if (now.getTime() - closed < RESEND_AFTER_MS) return [];
  return tell(record, record.status === 'complete' ? 'complete' : 'overdue', deps);
}

function observeOrKeep(
  record: RotationRecord,
  observations: Observation[],
  now: Date,
  complete: boolean,
): { record: RotationRecord; signal: Signal } {
  // Opened with nobody on the old value (and the account read whole): complete at once.
  return record.consumers.length === 0
    ? observe(record, observations, now, complete, true)
    : { record, signal: null };
}

/** Marks the value's older open records superseded by this one, and says so in both. */
async function supersede(record: RotationRecord, deps: FollowDeps, now: Date): Promise<void> {
  const older = (await deps.store.list(record.pk)).filter(
    (other) => other.status === 'open' && other.sk < record.sk,
  );
  for (const other of older) {
    const written = await deps.store.update(other.pk, other.sk, (latest) =>
      latest && latest.status === 'open'
        ? {
            record: {
              ...latest,
              status: 'superseded',
              closedAt: now.toISOString(),
              supersededBy: record.sk,
            },
            result: null,
          }
        : null,
    );
    // Closed meanwhile by another run: it stays listed until its own signal is told.
    if (written) await deps.store.untrack(other.pk, other.sk);
  }
  if (older.length > 0) {
    const newest = older
      .map((other) => other.sk)
      .sort()
      .at(-1) as string;
    await deps.store.update(record.pk, record.sk, (latest) =>
      latest ? { record: { ...latest, supersedes: newest }, result: null } : null,
    );
  }
}

/** How long the record's next look waits: shorter while a wave of its restarts is in flight. */
const delayOf = (record: RotationRecord, now: Date) =>
  lookDelaySeconds(record.waves, now, FOLLOW_UP_DELAY_S);

/** Sends a new link of the record's chain, delayed one look; its id, or null with no queue. */
async function sendLink(
  record: RotationRecord,
  deps: FollowDeps,
  now: Date,
): Promise<string | null> {
  if (!deps.queueUrl) return null;
  const chain = randomUUID();
  const message: FollowUpMessage = {
    'rotation-watcher': 'follow-up',
    pk: record.pk,
    sk: record.sk,
    chain,
  };
  await deps.clients.get('sqs', deps.home).send(
    new SendMessageCommand({
      QueueUrl: deps.queueUrl,
      MessageBody: JSON.stringify(message),
      DelaySeconds: delayOf(record, now),
    }),
  );
  return chain;
}
