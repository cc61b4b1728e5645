import { describeError } from './aws/index.js';
import type { Settings } from './config.js';
import type { DiscoveryResult, Outcome } from './domain/index.js';
import type { Plan } from './plan.js';
import type { RunReport } from './report.js';
import {
  type Facts,
  factsOf,
  type Reminder,
  type ReminderStore,
  remindRule,
  toldNow,
  withDecisions,
} from './state/reminders.js';

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
  // Consumers by ARN: two services of one name in two clusters share an old-format ARN, and
  // are remembered as one (told of when either is).
  const facts = new Map<string, Facts>();
  const decisions = new Map(planned.decisions.map((d) => [d.consumer, d]));
  const wanted = new Set(listed.map((consumer) => consumer.arn));
  for (const consumer of result.consumers) {
    if (!wanted.has(consumer.arn)) continue;
    const mine = factsOf(consumer, decisions.get(consumer));
    const other = facts.get(consumer.arn);
    facts.set(
      consumer.arn,
      other
        ? {
            decisions: withDecisions(other, mine),
            changes: [...new Set([...other.changes, ...mine.changes])].sort(),
          }
        : mine,
    );
  }
  const quiet = new Set<string>();
  const told: Reminder[] = [];
  for (const [arn, seen] of facts) {
    const previous = memory.get(arn) ?? null;
    if (remindRule(previous, seen, now, settings.remindEveryMs) === 'quiet') quiet.add(arn);
    else told.push(toldNow(arn, seen, previous, now));
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

/**
 * Remembers who was told, once a channel for people (SNS or Slack; the bus when it is the only
 * channel) told them; a failure is an outcome (they are told again next run).
 */
export async function remember(
  store: ReminderStore,
  told: Reminder[],
  notifications: Outcome[],
  settings: Settings,
): Promise<Outcome[]> {
  const people = notifications.filter((o) => o.kind === 'sns' || o.kind === 'slack');
  const reached = (people.length > 0 ? people : notifications).some((o) => o.status === 'done');
  if (told.length === 0 || !reached) return [];
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
