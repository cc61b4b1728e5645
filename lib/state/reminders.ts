import {
  ACTION_KINDS,
  type ActionKind,
  type Consumer,
  DECISION_BASES,
  type DecisionBasis,
} from '../domain/index.js';
import { valueKey } from '../events/index.js';
import type { Decision } from '../plan.js';
import { batchGet, batchPut, type TableRef } from './batch.js';
import { parseBody } from './body.js';

/** What the watcher decided for a consumer, and on what basis, as a reminder keeps it. */
export interface Decided {
  action: ActionKind;
  basis: DecisionBasis;
}

/** What the watcher last told people about one stale consumer. */
export interface Reminder {
  arn: string;
  /**
   * What the watcher decided for it, and on what basis, sorted (`notify`/`policy`,
   * `notify`/`rollout-stuck`); one for each consumer of the ARN (two services of one name in two
   * clusters share an old-format ARN).
   */
  decisions: Decided[];
  /** The changes it was told it holds old (`VALUE-KEY@VERSION`), the latest 50. */
  changes: string[];
  /** When it was first told of as stale. */
  firstSeen: string;
  lastTold: string;
}

/** What about a stale consumer a person is told: see `factsOf`. */
export interface Facts {
  decisions: Decided[];
  changes: string[];
}

/**
 * Why a stale consumer is (or is not) in a run's notification: `first` time seen stale, its facts
 * `changed` since it was last told of, a reminder is `due`, or it stays `quiet`.
 */
export type ReminderWhy = 'first' | 'changed' | 'due' | 'quiet';

/**
 * The sweep's memory: a stale consumer nobody restarts is told of when it is first seen stale,
 * when something about it changes (another decision or basis; a change it holds old that it was
 * not told of), and then at most once per `everyMs` (WATCHER_REMIND_EVERY; 0: on every run). Pure.
 */
export function remindRule(
  previous: Reminder | null,
  facts: Facts,
  now: Date,
  everyMs: number,
): ReminderWhy {
  if (!previous) return 'first';
  const told = new Set(previous.changes);
  if (
    !sameDecisions(previous.decisions, facts.decisions) ||
    facts.changes.some((change) => !told.has(change))
  )
    return 'changed';
  return now.getTime() - Date.parse(previous.lastTold) >= everyMs ? 'due' : 'quiet';
}

/**
 * What about a consumer is worth telling again when it changes: what the watcher decided and on
 * what basis (a tag, a stuck rollout, a deleted value), and which change of which value makes it
 * stale (a value and its version, not the time: a secret's LastChangedDate also moves on tags).
 * Not how many of its tasks are old: scaling would remind on every sweep. An event's run sees
 * only the event's values, a sweep all of them: a change counts as new only when it was never
 * told, so the sweep after an event does not tell again what the event's run told.
 */
export function factsOf(consumer: Consumer, decision: Decision | undefined): Facts {
  return {
    decisions: [{ action: decision?.action ?? 'none', basis: decision?.basis ?? 'fresh' }],
    changes: [
      ...new Set(
        consumer.changes.map(
          (change) => `${valueKey(change)}@${change.version ?? change.changedAt}`,
        ),
      ),
    ].sort(),
  };
}

/** The reminder saved after a telling: what was told now, with what was told before. */
export function toldNow(arn: string, facts: Facts, previous: Reminder | null, now: Date): Reminder {
  return {
    arn,
    decisions: facts.decisions,
    changes: [...new Set([...facts.changes, ...(previous?.changes ?? [])])].slice(0, 50),
    firstSeen: previous?.firstSeen ?? now.toISOString(),
    lastTold: now.toISOString(),
  };
}

/** An item outlives its last telling by the interval and this margin, then expires. */
const MARGIN_MS = 7 * 86_400_000;

/**
 * Reminders in the state table: one item per consumer (`pk = remind#ARN`, `sk = told`) holding
 * a Reminder as JSON and `expiresAt` (TTL). An item past `expiresAt` that DynamoDB has not yet
 * deleted counts as absent.
 */
export class ReminderStore {
  readonly #ref: TableRef;
  readonly #now: () => Date;

  constructor(ref: TableRef, now: () => Date = () => new Date()) {
    this.#ref = ref;
    this.#now = now;
  }

  /** The memory's clock: when a telling happens, and which items have expired. */
  now(): Date {
    return this.#now();
  }

  async load(arns: string[]): Promise<Map<string, Reminder>> {
    const found = new Map<string, Reminder>();
    const now = this.#now().getTime() / 1000;
    const items = await batchGet(this.#ref, [...new Set(arns)].map(key), 'pk, body, expiresAt');
    for (const item of items) {
      const reminder = readReminder(item.body?.S);
      if (reminder && Number(item.expiresAt?.N ?? Number.POSITIVE_INFINITY) > now)
        found.set(reminder.arn, reminder);
    }
    return found;
  }

  async save(reminders: Reminder[], everyMs: number): Promise<void> {
    // One item per key: BatchWriteItem refuses a request that names a key twice.
    const unique = [...new Map(reminders.map((reminder) => [reminder.arn, reminder])).values()];
    await batchPut(
      this.#ref,
      unique.map((reminder) => ({
        ...key(reminder.arn),
        body: { S: JSON.stringify(reminder) },
        expiresAt: {
          N: String(Math.ceil((Date.parse(reminder.lastTold) + everyMs + MARGIN_MS) / 1000)),
        },
      })),
    );
  }
}

const key = (arn: string) => ({ pk: { S: `remind#${arn}` }, sk: { S: 'told' } });

/** Both consumers' decisions, sorted, as one consumer of the ARN (see `Reminder.decisions`). */
export function withDecisions(facts: Facts, other: Facts): Decided[] {
  return sortDecisions([...facts.decisions, ...other.decisions]);
}

/** Whether two lists of decisions name the same actions on the same bases, as many times. */
function sameDecisions(told: Decided[], now: Decided[]): boolean {
  const [a, b] = [sortDecisions(told), sortDecisions(now)];
  return (
    a.length === b.length &&
    a.every((decided, i) => decided.action === b[i]?.action && decided.basis === b[i]?.basis)
  );
}

function sortDecisions(decisions: Decided[]): Decided[] {
  return [...decisions].sort(
    (x, y) => x.action.localeCompare(y.action) || x.basis.localeCompare(y.basis),
  );
}

/**
 * A reminder from its item's `body`, or null when it is not one. Items written before decisions
 * were typed hold `decision: "action|basis"` (two consumers of one ARN: `"a|b,c|d"`): read once
 * here, so a deployed table's reminders keep their meaning. A decision this version does not
 * know reads as none, which differs from any decision a run makes: people are told again.
 */
function readReminder(body: string | undefined): Reminder | null {
  const stored = parseBody<Reminder & { decision?: unknown }>(
    body,
    (value) =>
      typeof value.arn === 'string' &&
      typeof value.lastTold === 'string' &&
      Array.isArray(value.changes),
  );
  if (!stored) return null;
  const { decision, decisions, ...rest } = stored;
  return {
    ...rest,
    decisions: Array.isArray(decisions)
      ? knownDecisions(decisions)
      : typeof decision === 'string'
        ? knownDecisions(
            decision.split(',').map((pair) => {
              const [action, basis] = pair.split('|');
              return { action, basis };
            }),
          )
        : [],
  };
}

/** The decisions, if every one names a known action and basis; else none. */
function knownDecisions(values: Array<{ action?: unknown; basis?: unknown }>): Decided[] {
  const known = values.every(
    (value) =>
      ACTION_KINDS.includes(value?.action as ActionKind) &&
      DECISION_BASES.includes(value?.basis as DecisionBasis),
  );
  return known ? (values as Decided[]) : [];
}
