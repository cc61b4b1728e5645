/** A restart the watcher sends: a service's redeploy, a job's resubmit. */
export type RestartKind = 'redeploy' | 'resubmit';

/** The channels a run's report or a rotation's signal is sent on. */
export const CHANNEL_KINDS = ['sns', 'slack', 'eventbridge'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/**
 * A step of keeping the state table that can fail on its own: a rotation `record` written, a
 * `follow-up` look, the `reminders` of who was told.
 */
export type StateKind = 'record' | 'follow-up' | 'reminders';

/** What an outcome is about: the closed set the CLI contract names. */
export type OutcomeKind = RestartKind | ChannelKind | StateKind;

/** What became of one action: the closed set of outcomes the CLI contract names. */
export interface Outcome {
  kind: OutcomeKind;
  target: string;
  status: 'planned' | 'done' | 'failed' | 'skipped';
  detail: string;
}
