import { ACTIONS, type PolicyAction } from './config.js';
import type { Consumer } from './discovery/index.js';

export const ACTION_TAG = 'rotation-watcher:action';

export type ActionKind = PolicyAction | 'none';

/** What the watcher decided for one consumer, and why. */
export interface Decision {
  consumer: Consumer;
  action: ActionKind;
  reason: string;
}

/** One thing to do: restart a consumer, or tell people about it. */
export interface PlannedAction {
  kind: 'redeploy' | 'resubmit';
  consumer: Consumer;
  /** `skipped` when the cap on actions per run held it back. */
  status: 'planned' | 'skipped';
  detail: string;
}

export interface Policy {
  defaultAction: PolicyAction;
  maxActions: number;
}

export interface Plan {
  decisions: Decision[];
  actions: PlannedAction[];
}

/**
 * Decides one action per consumer from its tags and the policy, then caps the changing actions.
 * Pure: no I/O, so the Lambda, the sweep and `simulate` all decide alike.
 */
export function plan(consumers: Consumer[], policy: Policy): Plan {
  const decisions = consumers.map((consumer) => decide(consumer, policy));
  let budget = policy.maxActions;
  const actions: PlannedAction[] = [];
  for (const decision of decisions) {
    const { action, consumer } = decision;
    if (action !== 'redeploy' && action !== 'resubmit') continue;
    if (budget > 0) {
      budget -= 1;
      actions.push({ kind: action, consumer, status: 'planned', detail: decision.reason });
    } else {
      actions.push({
        kind: action,
        consumer,
        status: 'skipped',
        detail: `held back: WATCHER_MAX_ACTIONS allows ${policy.maxActions} redeploys and resubmits a run; the next run or the sweep takes it up`,
      });
    }
  }
  return { decisions, actions };
}

/** The action for one consumer. Rules that no tag overrides come first. */
export function decide(consumer: Consumer, policy: Policy): Decision {
  const deleted = consumer.changes.find((change) => change.effect === 'deleted');
  if (deleted) {
    return {
      consumer,
      action: 'notify',
      reason: `alarm: ${deleted.name} was deleted (${deleted.operation}); restarting would fail, so nothing is restarted`,
    };
  }
  if (!consumer.stale) return { consumer, action: 'none', reason: consumer.staleReason };
  if (consumer.job?.replacedBy) {
    return {
      consumer,
      action: 'none',
      reason: `already resubmitted as job ${consumer.job.replacedBy}`,
    };
  }
  const { action: wanted, source } = policyFor(consumer, policy);
  if (wanted === 'ignore') return { consumer, action: 'ignore', reason: `ignored by ${source}` };
  if (wanted === 'notify') return { consumer, action: 'notify', reason: `notify by ${source}` };
  if (consumer.kind === 'ecs-task') {
    return {
      consumer,
      action: 'notify',
      reason: `${wanted} by ${source}, but standalone tasks are never restarted: whoever started it must`,
    };
  }
  if (consumer.kind === 'ecs-service') {
    if (!consumer.service) {
      return {
        consumer,
        action: 'notify',
        reason: `${wanted} by ${source}, but DescribeServices failed: its tags and deployment controller are unknown, so it is not restarted`,
      };
    }
    if (wanted !== 'redeploy')
      return {
        consumer,
        action: 'notify',
        reason: `${wanted} by ${source} does not apply to an ECS service (use redeploy)`,
      };
    const controller = consumer.service?.deploymentController ?? 'ECS';
    if (controller !== 'ECS') {
      return {
        consumer,
        action: 'notify',
        reason: `redeploy by ${source}, but its ${controller} deployment controller does not accept a forced new deployment`,
      };
    }
    return { consumer, action: 'redeploy', reason: `redeploy by ${source}` };
  }
  if (wanted !== 'resubmit')
    return {
      consumer,
      action: 'notify',
      reason: `${wanted} by ${source} does not apply to a Batch job (use resubmit)`,
    };
  const unauthorised = resubmitBlocked(consumer, source);
  if (unauthorised)
    return { consumer, action: 'notify', reason: `resubmit by ${source}, but ${unauthorised}` };
  return { consumer, action: 'resubmit', reason: `resubmit by ${source}` };
}

/** The most specific tag wins; a tag with an unknown value is reported and the default applies. */
function policyFor(consumer: Consumer, policy: Policy): { action: PolicyAction; source: string } {
  for (const { level, tags } of consumer.tags) {
    const value = tags[ACTION_TAG];
    if (value === undefined) continue;
    // Exactly as IAM's StringEquals conditions compare it, or a restart would be planned and then denied.
    const action = ACTIONS.find((candidate) => candidate === value);
    if (action) return { action, source: `the ${level} tag` };
    return {
      action: policy.defaultAction,
      source: `the default (the ${level} tag's value ${JSON.stringify(value.slice(0, 40))} is not one of ${ACTIONS.join(', ')})`,
    };
  }
  return { action: policy.defaultAction, source: 'the default' };
}

/**
 * The packaged role lets a tag authorise a resubmit only when the job definition carries it
 * (SubmitJob) and so does the job (TerminateJob; `propagateTags` on the definition does that).
 * With the default action `resubmit` the role allows every job.
 */
function resubmitBlocked(consumer: Consumer, source: string): string | null {
  if (source.startsWith('the default')) return null;
  const tagOf = (level: string) => consumer.tags.find((t) => t.level === level)?.tags[ACTION_TAG];
  if (tagOf('job-definition') !== 'resubmit')
    return 'the job definition is not tagged resubmit, which SubmitJob needs';
  if (tagOf('job') !== 'resubmit')
    return 'the job itself is not tagged resubmit (set propagateTags on its definition), which TerminateJob needs';
  return null;
}
