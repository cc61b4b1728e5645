import type { Consumer, OutcomeKind, RestartKind } from './domain/index.js';
import {
  type ActionKind,
  type DecisionBasis,
  POLICY_ACTIONS,
  type PolicyAction,
} from './domain/index.js';

export const ACTION_TAG = 'rotation-watcher:action';

/** Whether an action (or an outcome's kind, or a recorded action) restarts a consumer. */
export function isRestart(kind: ActionKind | OutcomeKind | null | undefined): kind is RestartKind {
  return kind === 'redeploy' || kind === 'resubmit';
}

/** Where the action a consumer's policy asks for came from. */
export type PolicySource =
  | { kind: 'tag'; level: string }
  | { kind: 'default' }
  /** A tag with a value that is not an action: the default applies. */
  | { kind: 'invalid-tag'; level: string; value: string };

/** What the watcher decided for one consumer, and why. */
export interface Decision {
  consumer: Consumer;
  action: ActionKind;
  basis: DecisionBasis;
  /** `alarm`: a referenced value was deleted, so the consumer cannot start again. */
  severity: 'alarm' | 'normal';
  /** Where the policy came from, when the policy was consulted. */
  source: PolicySource | null;
  reason: string;
}

/** One thing to do: restart a consumer, or tell people about it. */
export interface PlannedAction {
  kind: RestartKind;
  consumer: Consumer;
  /** `skipped` when the cap on actions per run, or the waves, held it back. */
  status: 'planned' | 'skipped';
  detail: string;
  /** What held a skipped restart back: WATCHER_MAX_ACTIONS, or its change's waves (WATCHER_WAVES). */
  heldBy?: 'max-actions' | 'waves';
}

export interface Policy {
  defaultAction: PolicyAction;
  maxActions: number;
  /** Services whose images are pulled by tag: redeploy anyway (default), or only notify. */
  mutableImages?: 'redeploy' | 'notify';
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
        heldBy: 'max-actions',
        detail: `held back: WATCHER_MAX_ACTIONS allows ${policy.maxActions} redeploys and resubmits a run; the next run or the sweep takes it up`,
      });
    }
  }
  return { decisions, actions };
}

/** The action for one consumer. Rules that no tag overrides come first. */
export function decide(consumer: Consumer, policy: Policy): Decision {
  const made = (
    action: ActionKind,
    basis: DecisionBasis,
    reason: string,
    source: PolicySource | null = null,
  ): Decision => ({
    consumer,
    action,
    basis,
    severity: basis === 'value-deleted' ? 'alarm' : 'normal',
    source,
    reason,
  });
  const deleted = consumer.changes.find((change) => change.effect === 'deleted');
  if (deleted) {
    return made(
      'notify',
      'value-deleted',
      `alarm: ${deleted.name} was deleted (${deleted.operation}); restarting would fail, so nothing is restarted`,
    );
  }
  const gone = consumer.service && consumer.service.status !== 'ACTIVE';
  if (gone) {
    return made(
      'none',
      'service-gone',
      `the service was deleted (${consumer.service?.status}): nothing can redeploy it, and its remaining tasks are stopping`,
    );
  }
  if (!consumer.stale) return made('none', 'fresh', consumer.staleReason);
  const source = policyFor(consumer);
  const wanted = source.kind === 'tag' ? (source.action as PolicyAction) : policy.defaultAction;
  const by = describeSource(source);
  const decided = (action: ActionKind, basis: DecisionBasis, reason: string) =>
    made(
      action,
      basis,
      reason,
      source.kind === 'tag' ? { kind: 'tag', level: source.level } : source,
    );
  if (wanted === 'ignore') return decided('ignore', 'policy', `ignored by ${by}`);
  if (wanted === 'notify') return decided('notify', 'policy', `notify by ${by}`);
  // A secret whose rotation is under way (AWSPENDING on a version AWSCURRENT has not reached):
  // a restart now reads the value being replaced, and the rotation's end restarts it again.
  const rotating = consumer.changes.find((change) => change.pendingVersion);
  if (rotating && isRestart(wanted)) {
    return decided(
      'notify',
      'rotation-in-progress',
      `${wanted} by ${by}, but a rotation of ${rotating.name} is in progress (AWSPENDING on version ${rotating.pendingVersion}): a restart now would read the value it replaces; the rotation's end restarts it`,
    );
  }
  // Restarted once for this change and still on the old value (a circuit breaker rolled the
  // deployment back, or a resubmitted job never replaced it): another restart would end the same.
  if (consumer.restarted && isRestart(wanted)) {
    const done = consumer.restarted === 'redeploy' ? 'redeployed' : 'resubmitted';
    return decided(
      'notify',
      'restart-undone',
      `${wanted} by ${by}, but the watcher already ${done} it for this change and it still runs what it ran before (a rolled-back deployment?): people must look at it`,
    );
  }
  // Old tags may lack an opt-out added since: they never decide a restart.
  const outdated = consumer.tags.find((level) => level.outdated);
  if (outdated && isRestart(wanted)) {
    return decided(
      'notify',
      'tags-outdated',
      `${wanted} by ${by}, but the ${outdated.level}'s tags could not be read again (see the warnings): an opt-out added since may be missing, so it is not restarted`,
    );
  }
  if (consumer.kind === 'ecs-task') {
    return decided(
      'notify',
      'standalone-task',
      `${wanted} by ${by}, but standalone tasks are never restarted: whoever started it must`,
    );
  }
  if (consumer.kind === 'ecs-service') {
    if (!consumer.service) {
      return decided(
        'notify',
        'service-unreadable',
        `${wanted} by ${by}, but DescribeServices failed: its tags and deployment controller are unknown, so it is not restarted`,
      );
    }
    if (wanted !== 'redeploy')
      return decided(
        'notify',
        'wrong-kind',
        `${wanted} by ${by} does not apply to an ECS service (use redeploy)`,
      );
    const controller = consumer.service.deploymentController;
    if (controller !== 'ECS') {
      return decided(
        'notify',
        'controller',
        `redeploy by ${by}, but its ${controller} deployment controller does not accept a forced new deployment`,
      );
    }
    if (consumer.stuckRollout) {
      return decided(
        'notify',
        'rollout-stuck',
        `redeploy by ${by}, but deployment ${consumer.stuckRollout}, begun after the change, failed or stalled: another forced deployment would not get further, so people must look at it`,
      );
    }
    if (consumer.mutableImages.length > 0) {
      const images = consumer.mutableImages.slice(0, 3).join(', ');
      const more =
        consumer.mutableImages.length > 3 ? ` and ${consumer.mutableImages.length - 3} more` : '';
      const risk = `a forced deployment pulls ${images}${more} by tag again, so it may ship new code with the new value`;
      if (policy.mutableImages === 'notify')
        return decided(
          'notify',
          'mutable-image',
          `redeploy by ${by}, but ${risk} (WATCHER_MUTABLE_IMAGES=notify)`,
        );
      return decided('redeploy', 'policy', `redeploy by ${by}; note: ${risk}`);
    }
    return decided('redeploy', 'policy', `redeploy by ${by}`);
  }
  if (wanted !== 'resubmit')
    return decided(
      'notify',
      'wrong-kind',
      `${wanted} by ${by} does not apply to a Batch job (use resubmit)`,
    );
  if (consumer.job?.childrenUnknown) {
    return decided(
      'notify',
      'children-unknown',
      `resubmit by ${by}, but its children could not be listed: a resubmit would restart all of them on a guess`,
    );
  }
  const parent = consumer.job?.arraySize
    ? 'an array job'
    : consumer.job?.numNodes
      ? 'a multi-node job'
      : null;
  if (parent && source.kind !== 'tag') {
    return decided(
      'notify',
      'untagged-array',
      `resubmit by ${by}, but it is ${parent}: resubmitting one restarts every child, so it needs its own rotation-watcher:action tag`,
    );
  }
  const unauthorised = resubmitBlocked(consumer, source);
  if (unauthorised)
    return decided('notify', 'not-authorised', `resubmit by ${by}, but ${unauthorised}`);
  // Submitted before, but the old job still runs (its TerminateJob failed or has not taken
  // effect): the resubmit is finished by terminating it, never by submitting again.
  if (consumer.job?.replacedBy)
    return decided(
      'resubmit',
      'already-resubmitted',
      `already resubmitted as job ${consumer.job.replacedBy}, but this job still runs on the old value: it is terminated`,
    );
  return decided('resubmit', 'policy', `resubmit by ${by}`);
}

type Found =
  | { kind: 'tag'; level: string; action: PolicyAction }
  | Exclude<PolicySource, { kind: 'tag' }>;

/** The most specific tag wins; a tag with an unknown value is reported and the default applies. */
function policyFor(consumer: Consumer): Found {
  for (const { level, tags } of consumer.tags) {
    const value = tags[ACTION_TAG];
    if (value === undefined) continue;
    // Exactly as IAM's StringEquals conditions compare it, or a restart would be planned and then denied.
    const action = POLICY_ACTIONS.find((candidate) => candidate === value);
    if (action) return { kind: 'tag', level, action };
    return { kind: 'invalid-tag', level, value };
  }
  return { kind: 'default' };
}

function describeSource(source: Found): string {
  if (source.kind === 'tag') return `the ${source.level} tag`;
  if (source.kind === 'default') return 'the default';
  return `the default (the ${source.level} tag's value ${JSON.stringify(source.value.slice(0, 40))} is not one of ${POLICY_ACTIONS.join(', ')})`;
}

/**
 * The packaged role lets a tag authorise a resubmit only when the job definition carries it
 * (SubmitJob) and so does the job (TerminateJob). A job carries only the tags given to SubmitJob:
 * `propagateTags` copies tags to the job's ECS task, not to the job.
 * With the default action `resubmit` the role allows every job.
 */
function resubmitBlocked(consumer: Consumer, source: Found): string | null {
  if (source.kind !== 'tag') return null;
  const tagOf = (level: string) => consumer.tags.find((t) => t.level === level)?.tags[ACTION_TAG];
  if (tagOf('job-definition') !== 'resubmit')
    return 'the job definition is not tagged resubmit, which SubmitJob needs';
  if (tagOf('job') !== 'resubmit')
    return 'the job itself is not tagged resubmit, which TerminateJob needs (tag it when submitting: propagateTags copies tags to its ECS task, not to the job)';
  return null;
}
