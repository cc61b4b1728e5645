/**
 * The vocabulary of decisions, as values so that what is read back (a tag, a setting, an item of
 * the state table) can be checked against it.
 */

/** What a consumer's policy (its tag, else WATCHER_DEFAULT_ACTION) may ask for. */
export const POLICY_ACTIONS = ['redeploy', 'resubmit', 'notify', 'ignore'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

export type ActionKind = PolicyAction | 'none';

/** Every action a decision can name, for reading one back (a reminder kept in the state table). */
export const ACTION_KINDS: readonly ActionKind[] = [...POLICY_ACTIONS, 'none'];

/**
 * Why the decision is what it is, as a fact the summaries and the CLI read (the `reason` sentence
 * is written once, for people).
 */
export const DECISION_BASES = [
  'value-deleted',
  'service-gone',
  'fresh',
  'already-resubmitted',
  'policy',
  'standalone-task',
  'service-unreadable',
  'wrong-kind',
  'controller',
  'rollout-stuck',
  'mutable-image',
  'not-authorised',
  'untagged-array',
  'children-unknown',
  'tags-outdated',
  'restart-undone',
  'rotation-in-progress',
] as const;
export type DecisionBasis = (typeof DECISION_BASES)[number];
