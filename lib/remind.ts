import { describeError } from './aws/index.js';
import type { Settings } from './config.js';
import type { DiscoveryResult } from './discovery/index.js';
import type { Plan } from './plan.js';
import type { Outcome, RunReport } from './report.js';
import { fingerprintOf, type Reminder, type ReminderStore, remindRule } from './state/reminders.js';

export interface Sorted {
  /** The report to notify with: quiet consumers left out, and counted in `quiet`. */
  report: RunReport;
  /** Reminders to save once a channel has told people. */
  told: Reminder[];
  outcomes: Outcome[];
}

/**
 * Sorts the stale consumers a notification would list only for being stale (nobody restarts
 * them, nothing failed) into those to tell and those to leave quiet (see `remindRule`). Consumers
 * with an outcome (restarted, failed, held back) and deleted values (an alarm) are always told.
 * Without a memory (the table unreadable), everyone is told.
 */
export async function sortOut(
  draft: RunReport,
  result: DiscoveryResult,
  planned: Plan,
  store: ReminderStore,
  settings: Settings,
): Promise<Sorted> {
  const now = store.now();
  const acted = new Set(draft.actions.map((action) => action.target));
  const listed = draft.consumers.filter(
    (consumer) =>
      !consumer.alarm &&
      !acted.has(consumer.arn) &&
      ((consumer.stale && consumer.action !== 'ignore') || consumer.action === 'notify'),
  );
  if (listed.length === 0) return { report: draft, told: [], outcomes: [] };
  let memory: Map<string, Reminder>;
  try {
    memory = await store.load(listed.map((consumer) => consumer.arn));
  } catch (error) {
    return {
      report: draft,
      told: [],
      outcomes: [
        {
          kind: 'reminders',
          target: settings.stateTable ?? 'state table',
          status: 'failed',
          detail: `could not read when consumers were last told of, so all are told: ${describeError(error)}`,
        },
      ],
    };
  }
  const found = new Map(result.consumers.map((consumer) => [consumer.arn, consumer]));
  const decisions = new Map(planned.decisions.map((d) => [d.consumer.arn, d]));
  const quiet = new Set<string>();
  const told: Reminder[] = [];
  for (const { arn } of listed) {
    const consumer = found.get(arn);
    if (!consumer) continue;
    const fingerprint = fingerprintOf(consumer, decisions.get(arn));
    const previous = memory.get(arn) ?? null;
    const why = remindRule(previous, fingerprint, now, settings.remindEveryMs);
    if (why === 'quiet') quiet.add(arn);
    else
      told.push({
        arn,
        fingerprint,
        firstSeen: previous?.firstSeen ?? now.toISOString(),
        lastTold: now.toISOString(),
      });
  }
  return {
    report:
      quiet.size === 0
        ? draft
        : {
            ...draft,
            consumers: draft.consumers.filter((consumer) => !quiet.has(consumer.arn)),
            quiet: quiet.size,
          },
    told,
    outcomes: [],
  };
}

/** Remembers who was told, once a channel told them; a failure is an outcome (they are told again). */
export async function remember(
  store: ReminderStore,
  told: Reminder[],
  notifications: Outcome[],
  settings: Settings,
): Promise<Outcome[]> {
  if (told.length === 0 || !notifications.some((outcome) => outcome.status === 'done')) return [];
  try {
    await store.save(told, settings.remindEveryMs);
    return [];
  } catch (error) {
    return [
      {
        kind: 'reminders',
        target: settings.stateTable ?? 'state table',
        status: 'failed',
        detail: `could not remember who was told (they are told again next run): ${describeError(error)}`,
      },
    ];
  }
}
