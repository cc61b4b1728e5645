import type { ApiCount } from './aws/index.js';
import type { Change, Consumer, DiscoveryResult, Gap, Outcome } from './domain/index.js';
import { dedupeChanges } from './events/index.js';

import type { Decision, Plan } from './plan.js';

/** The JSON the CLI prints and the notifications carry (the CLI's contract, plus `complete`, `gaps`, `calls`). */
export interface RunReport {
  changes: ReturnType<typeof changeJson>[];
  consumers: ReturnType<typeof consumerJson>[];
  actions: Outcome[];
  complete: boolean;
  gaps: Gap[];
  calls?: Record<string, ApiCount>;
  /**
   * Stale consumers left out of this notification: told of within WATCHER_REMIND_EVERY, and
   * nothing about them changed since.
   */
  quiet?: number;
}

export function changeJson(change: Change) {
  return {
    service: change.service,
    name: change.name,
    arn: change.arn,
    region: change.region,
    account: change.account,
    operation: change.operation,
    changedAt: change.changedAt,
    /** `aws`: changedAt is AWS's record of the value; `event`: only the event's time was known. */
    timeSource: change.timeSource,
    eventTime: change.eventTime,
    version: change.version,
    effect: change.effect,
    versionStage: change.versionStage,
  };
}

export function consumerJson(consumer: Consumer, decision: Decision | undefined) {
  return {
    kind: consumer.kind,
    arn: consumer.arn,
    name: consumer.name,
    references: consumer.references.map(({ container, field, name, valueFrom, target }) => ({
      container,
      field,
      name,
      valueFrom,
      target,
    })),
    stale: consumer.stale,
    staleReason: consumer.staleReason,
    action: decision?.action ?? 'none',
    reason: decision?.reason ?? consumer.staleReason,
    region: consumer.region,
    parent: consumer.parent,
    running: consumer.runs.length,
    /** Of the running tasks or jobs, how many may hold an old value. */
    staleRunning: consumer.staleRuns,
    /** Why it is (or is not) stale: `created-before`, `time-unknown`, `created-after`, ... */
    cause: consumer.cause,
    /** What the decision rests on: `policy`, `value-deleted`, `service-gone`, ... */
    basis: decision?.basis ?? 'fresh',
    /** A referenced value was deleted: the consumer cannot start again. */
    alarm: decision?.severity === 'alarm',
  };
}

/** The planned actions as outcomes, for runs that change nothing (who-uses, drift, dry runs). */
export function plannedOutcomes(plan: Plan): Outcome[] {
  return plan.actions.map((action) => ({
    kind: action.kind,
    target: action.consumer.arn,
    status: action.status,
    detail: action.detail,
  }));
}

export function buildReport(
  result: DiscoveryResult,
  plan: Plan,
  actions: Outcome[],
  calls?: Record<string, ApiCount>,
): RunReport {
  const decisions = new Map(plan.decisions.map((decision) => [decision.consumer, decision]));
  return {
    changes: dedupeChanges(result.changes).map(changeJson),
    consumers: result.consumers.map((consumer) => consumerJson(consumer, decisions.get(consumer))),
    actions,
    complete: result.complete,
    gaps: result.gaps,
    ...(calls ? { calls } : {}),
  };
}
