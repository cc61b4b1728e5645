// What every restart shares, whatever the kind: the exactly-once sender it is handed (actions'
// `changeOnce`) and the clock skew its read-backs allow; the errors it throws are in errors.ts.

/**
 * Sends a call that changes something, never blindly twice; after a failure that may hide a
 * success, `madeSince` reads AWS back and what it finds is the result (see actions' `changeOnce`).
 */
export type ChangeOnce = <T>(
  send: () => Promise<T>,
  madeSince: (since: number, error: unknown) => Promise<T | null>,
) => Promise<T>;

/** What a restart did: the sentence for its outcome, and what it began (a deployment id, a job id). */
export interface Restarted {
  detail: string;
  /** The deployment the redeploy began, or the job submitted in the resubmitted one's place. */
  ref: string | null;
}

/** Clocks differ between this machine and AWS; a deployment or job this much older still counts as ours. */
export const CLOCK_SKEW_MS = 60_000;
