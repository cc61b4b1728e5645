import { createHash } from 'node:crypto';
import type { Consumer } from '../discovery/index.js';
import { valueKey } from '../events/index.js';
import type { Decision } from '../plan.js';
import { batchGet, batchPut, type TableRef } from './batch.js';
import { parseBody } from './body.js';

/** What the watcher last told people about one stale consumer. */
export interface Reminder {
  arn: string;
  /** The facts a person was told (see `fingerprintOf`), hashed. */
  fingerprint: string;
  /** When the consumer was first told of as stale with these facts or others. */
  firstSeen: string;
  lastTold: string;
}

/**
 * Why a stale consumer is (or is not) in a run's notification: `first` time seen stale, its facts
 * `changed` since it was last told of, a reminder is `due`, or it stays `quiet`.
 */
export type ReminderWhy = 'first' | 'changed' | 'due' | 'quiet';

/**
 * The sweep's memory: a stale consumer nobody restarts is told of when it is first seen stale,
 * when something about it changes, and then at most once per `everyMs` (WATCHER_REMIND_EVERY; 0:
 * on every run). Pure.
 */
export function remindRule(
  previous: Reminder | null,
  fingerprint: string,
  now: Date,
  everyMs: number,
): ReminderWhy {
  if (!previous) return 'first';
  if (previous.fingerprint !== fingerprint) return 'changed';
  return now.getTime() - Date.parse(previous.lastTold) >= everyMs ? 'due' : 'quiet';
}

/**
 * What about a consumer is worth telling again when it changes: what the watcher decided and why
 * (a tag changed, a rollout stuck, a value deleted) and which changes of which values make it
 * stale (a new rotation of a value it already held old). Not how many of its tasks are old:
 * scaling would remind on every sweep.
 */
export function fingerprintOf(consumer: Consumer, decision: Decision | undefined): string {
  const changes = consumer.changes
    .map(
      (change) =>
        `${valueKey(change)}@${change.version ?? ''}@${change.changedAt}@${change.effect}`,
    )
    .sort();
  const facts = [decision?.action ?? 'none', decision?.basis ?? 'fresh', ...changes].join('\n');
  return createHash('sha256').update(facts).digest('hex').slice(0, 32);
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
      const reminder = parseBody<Reminder>(
        item.body?.S,
        (value) => typeof value.arn === 'string' && typeof value.lastTold === 'string',
      );
      if (reminder && Number(item.expiresAt?.N ?? Number.POSITIVE_INFINITY) > now)
        found.set(reminder.arn, reminder);
    }
    return found;
  }

  async save(reminders: Reminder[], everyMs: number): Promise<void> {
    await batchPut(
      this.#ref,
      reminders.map((reminder) => ({
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
