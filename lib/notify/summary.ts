import type { Gap, Outcome, Target } from '../domain/index.js';
import { isRestart } from '../plan.js';
import { parameterKey, refersTo, secretNamesOfArn } from '../refs/index.js';
import type { RunReport } from '../report.js';

import { oneLine } from './fit.js';

export { oneLine };

export type Severity = 'alarm' | 'action' | 'info';

type ReportedConsumer = RunReport['consumers'][number];
type ReportedChange = RunReport['changes'][number];

/** Why an item comes where it does, most urgent first. */
export const RANKS = [
  'failed',
  'alarm',
  'notify',
  'restarted',
  'skipped',
  'stale',
  'other',
] as const;
export type Rank = (typeof RANKS)[number];

/** One line of a notification: a consumer with what was done to it, or an action on another target. */
export interface Item {
  rank: Rank;
  consumer: ReportedConsumer | null;
  /** The consumer's outcomes (or the one action of an item without a consumer). */
  outcomes: Outcome[];
  /** The outcome a line shows: a failure before anything else. */
  shown: Outcome | null;
  /** Whether a person is told of it (Slack lists only these): stale and not ignored, notified or acted on. */
  told: boolean;
}

export interface Counts {
  changes: number;
  consumers: number;
  stale: number;
  restarted: number;
  failed: number;
  skipped: number;
  gaps: number;
}

/**
 * Everything a run's notifications say, built once from the report: how bad, in one line, the
 * counts, and the lists in the order a person on call needs them. Channels render this, never
 * the report, so they cannot disagree.
 */
export interface Summary {
  severity: Severity;
  title: string;
  stale: number;
  failed: number;
  /** The changed names, each once. */
  names: string[];
  counts: Counts;
  complete: boolean;
  /** Failed actions, deleted values, notified, restarted, skipped, other stale, the rest. */
  items: Item[];
  /** How many of `items` lead as urgent (failed or alarm): they are the last to be left out. */
  urgent: number;
  /** Changes that stale consumers reference first. */
  changes: ReportedChange[];
  gaps: Gap[];
  calls?: RunReport['calls'];
  /** Stale consumers left out: told of before, nothing changed, no reminder due. */
  quiet: number;
}

/** Whether a run has anything a person should hear about. */
export function worthTelling(report: RunReport): boolean {
  return (
    // A consumer tagged ignore is not news, stale or not.
    report.consumers.some(
      (consumer) =>
        (consumer.stale && consumer.action !== 'ignore') || consumer.action === 'notify',
    ) ||
    report.actions.some((action) => action.status !== 'planned') ||
    !report.complete
  );
}

export function summarize(report: RunReport): Summary {
  const count = (status: Outcome['status']) =>
    report.actions.filter((action) => action.status === status).length;
  const stale = report.consumers.filter((consumer) => consumer.stale).length;
  const failed = count('failed');
  // Restarts only: a rotation signal sent or a record written is done too, but restarts nothing.
  const restarted = report.actions.filter(
    (action) => action.status === 'done' && isRestart(action.kind),
  ).length;
  const alarm = report.consumers.some((consumer) => consumer.alarm);
  const names = [...new Set(report.changes.map((change) => change.name))];
  const severity: Severity =
    alarm || failed > 0 || !report.complete ? 'alarm' : restarted > 0 ? 'action' : 'info';
  const what =
    names.length === 1
      ? `the old ${oneLine(names[0] as string, 200)}`
      : `old values (${names.length} changed)`;
  const parts = [`${stale} consumer${stale === 1 ? '' : 's'} still on ${what}`];
  if (restarted) parts.push(`${restarted} restarted`);
  if (failed) parts.push(`${failed} failed`);
  if (alarm) parts.push('a referenced value was deleted');
  if (!report.complete) parts.push('answer incomplete');
  const items = itemsOf(report);
  return {
    severity,
    title: `rotation-watcher: ${parts.join(', ')}`,
    stale,
    failed,
    names,
    counts: {
      changes: report.changes.length,
      consumers: report.consumers.length,
      stale,
      restarted,
      failed,
      skipped: count('skipped'),
      gaps: report.gaps.length,
    },
    complete: report.complete,
    items,
    urgent: items.filter((item) => item.rank === 'failed' || item.rank === 'alarm').length,
    changes: staleFirst(report),
    gaps: report.gaps,
    ...(report.calls ? { calls: report.calls } : {}),
    quiet: report.quiet ?? 0,
  };
}

/** The line saying how many stale consumers a notification leaves out as told of before. */
export function quietNote(summary: Summary): string | null {
  const { quiet } = summary;
  return quiet > 0
    ? `${quiet} more stale consumer${quiet === 1 ? '' : 's'} already told of (nothing changed; reminded every WATCHER_REMIND_EVERY)`
    : null;
}

/** Consumers with their outcomes, and actions on targets that are no consumer, by rank (stable). */
function itemsOf(report: RunReport): Item[] {
  const byTarget = new Map<string, Outcome[]>();
  for (const action of report.actions) {
    const outcomes = byTarget.get(action.target);
    if (outcomes) outcomes.push(action);
    else byTarget.set(action.target, [action]);
  }
  const items = report.consumers.map((consumer): Item => {
    const outcomes = byTarget.get(consumer.arn) ?? [];
    byTarget.delete(consumer.arn);
    const has = (status: Outcome['status']) => outcomes.some((o) => o.status === status);
    const rank: Rank = has('failed')
      ? 'failed'
      : consumer.alarm
        ? 'alarm'
        : consumer.action === 'notify'
          ? 'notify'
          : has('done')
            ? 'restarted'
            : has('skipped')
              ? 'skipped'
              : consumer.stale && consumer.action !== 'ignore'
                ? 'stale'
                : 'other';
    return {
      rank,
      consumer,
      outcomes,
      shown: shownOf(outcomes),
      told: rank !== 'other' || outcomes.length > 0,
    };
  });
  for (const outcome of [...byTarget.values()].flat()) {
    const rank: Rank =
      outcome.status === 'failed'
        ? 'failed'
        : outcome.status === 'done' && isRestart(outcome.kind)
          ? 'restarted'
          : outcome.status === 'skipped'
            ? 'skipped'
            : 'other';
    items.push({ rank, consumer: null, outcomes: [outcome], shown: outcome, told: true });
  }
  const order = (item: Item) => RANKS.indexOf(item.rank);
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => order(a.item) - order(b.item) || a.index - b.index)
    .map(({ item }) => item);
}

function shownOf(outcomes: Outcome[]): Outcome | null {
  return outcomes.find((outcome) => outcome.status === 'failed') ?? outcomes[0] ?? null;
}

/**
 * The changes, those a stale consumer references first (each list in report order). Targets are
 * indexed by name so that matching stays linear for a sweep of thousands of values; `refersTo`
 * then decides, as discovery did.
 */
function staleFirst(report: RunReport): ReportedChange[] {
  // name → the distinct targets of that name (thousands of consumers often share one value)
  const byName = new Map<string, Map<string, Target>>();
  for (const consumer of report.consumers) {
    if (!consumer.stale) continue;
    for (const { target } of consumer.references) {
      if (!target) continue;
      const where = `${target.partition}|${target.region}|${target.account}|${target.arn}`;
      for (const key of keysOf(target)) {
        const targets = byName.get(key) ?? new Map<string, Target>();
        targets.set(where, target);
        byName.set(key, targets);
      }
    }
  }
  const referenced = (change: ReportedChange) =>
    keysOf(change).some((key) =>
      [...(byName.get(key)?.values() ?? [])].some((target) => refersTo(target, change)),
    );
  const first: ReportedChange[] = [];
  const rest: ReportedChange[] = [];
  for (const change of report.changes) (referenced(change) ? first : rest).push(change);
  return [...first, ...rest];
}

/** The names a parameter or secret may be matched by (see `refersTo`). */
function keysOf(value: { service: string; name: string; arn: string | null }): string[] {
  if (value.service === 'ssm') return [`ssm|${parameterKey(value.name)}`];
  const names = [value.name, ...(value.arn ? secretNamesOfArn(value.arn) : [])];
  return names.map((name) => `secretsmanager|${name}`);
}
