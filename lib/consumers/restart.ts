// What every restart shares, whatever the kind: the exactly-once sender it is handed (actions'
// `changeOnce`), the errors it throws, and the clock skew its read-backs allow.

/**
 * Sends a call that changes something, never blindly twice; after a failure that may hide a
 * success, `madeSince` reads AWS back and what it finds is the result (see actions' `changeOnce`).
 */
export type ChangeOnce = <T>(
  send: () => Promise<T>,
  madeSince: (since: number, error: unknown) => Promise<T | null>,
) => Promise<T>;

/** The consumer was deleted between discovery and the action: nothing to restart, nothing failed. */
export class ConsumerGoneError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConsumerGoneError';
  }
}

/**
 * A failure after which AWS may have changed something: the answer to a restart was lost and the
 * read-back did not show it, or a resubmit's job was submitted but the old one not terminated.
 */
export class MayHaveChanged extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MayHaveChanged';
  }
}

/** Clocks differ between this machine and AWS; a deployment or job this much older still counts as ours. */
export const CLOCK_SKEW_MS = 60_000;
