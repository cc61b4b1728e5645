import { type AwsClients, classifyAwsError, describeError } from '../aws/index.js';
import {
  ConsumerError,
  ConsumerGoneError,
  MayHaveChanged,
  NotRestartableError,
  type Restarted,
  strategyFor,
} from '../consumers/index.js';
import type { Consumer, Outcome, RestartKind } from '../domain/index.js';
import type { PlannedAction } from '../plan.js';
import type { Leases } from '../state/lease.js';

export interface ExecuteOptions {
  clients: AwsClients;
  /** Change nothing: every planned action is reported as skipped. */
  dryRun: boolean;
  /** Claims on consumers shared by concurrent runs; absent in a lone process (the CLI). */
  leases?: Leases;
}

/** The result of one action, with the consumer it was for (to map failures back to SQS records). */
export interface ActionOutcome extends Outcome {
  kind: RestartKind;
  consumer: Consumer;
  /** Not done now, but not failed either: the records of its changes are kept for a retry. */
  retry?: boolean;
  /** What a restart done began: the new deployment's id, or the job submitted in its place. */
  ref?: string | null;
}

/**
 * Carries out the planned actions, each on its own: one failure never stops the others. The
 * outcome of each is `done` (with what changed), `failed` (with the error) or `skipped` (why).
 */
export async function execute(
  actions: PlannedAction[],
  options: ExecuteOptions,
): Promise<ActionOutcome[]> {
  return Promise.all(
    actions.map(async (action): Promise<ActionOutcome> => {
      const base = { kind: action.kind, target: action.consumer.arn, consumer: action.consumer };
      if (action.status === 'skipped') return { ...base, status: 'skipped', detail: action.detail };
      if (options.dryRun)
        return {
          ...base,
          status: 'skipped',
          detail: 'dry run (WATCHER_DRY_RUN=true): nothing was changed',
        };
      const lease = `${action.kind}#${action.consumer.arn}`;
      try {
        if (options.leases && !(await options.leases.acquire(lease)))
          return {
            ...base,
            status: 'skipped',
            detail: 'another run acted on it moments ago; its records come back after it',
            retry: true,
          };
      } catch (error) {
        // The state table could not be asked: act on nothing blindly, keep the records.
        return {
          ...base,
          status: 'failed',
          detail: `the lease could not be taken: ${describeError(error)}`,
        };
      }
      try {
        const restarted = await restart(action.consumer, options.clients);
        return { ...base, status: 'done', detail: restarted.detail, ref: restarted.ref };
      } catch (error) {
        // Give the consumer back only when nothing can have changed, so that a retry may act at
        // once; after a partial or unknown outcome the lease keeps concurrent runs off it.
        if (!(error instanceof MayHaveChanged))
          await options.leases?.release(lease).catch(() => undefined);
        if (error instanceof ConsumerGoneError)
          return { ...base, status: 'skipped', detail: error.message };
        // The consumers' own errors are written for people; AWS's are named by describeError.
        const detail = error instanceof ConsumerError ? error.message : describeError(error);
        return { ...base, status: 'failed', detail };
      }
    }),
  );
}

/**
 * Restarts a consumer by its kind's strategy (a redeploy for a service, a resubmit for a job),
 * each change sent once.
 */
async function restart(consumer: Consumer, clients: AwsClients): Promise<Restarted> {
  const strategy = strategyFor(consumer.kind);
  if (!strategy.restart) throw new NotRestartableError(`a ${consumer.kind} is never restarted`);
  return strategy.restart(consumer, clients, changeOnce);
}

/** Sends of one throttled change at the most (a throttled call was refused: nothing was done). */
const SENDS = 3;

/**
 * Sends a call that changes something, never blindly twice. A throttled call was refused, so it
 * is sent again after a pause. After a failure that may hide a success (no answer, a 5xx),
 * `madeSince` reads AWS back: what it finds is the result; if it finds nothing the call is not
 * sent again (AWS may still be carrying it out, and its reads may lag): the action fails with
 * `MayHaveChanged`, its records come back, and the next run sees what AWS did.
 */
async function changeOnce<T>(
  send: () => Promise<T>,
  madeSince: (since: number, error: unknown) => Promise<T | null>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const sentAt = Date.now();
    try {
      return await send();
    } catch (error) {
      const failure = classifyAwsError(error).kind;
      if (failure === 'throttled' && attempt < SENDS) {
        await pause(attempt);
        continue;
      }
      if (failure !== 'ambiguous') throw error;
      // A read-back that fails tells nothing either: AWS may still have done it.
      const made = await madeSince(sentAt, error).catch((readBack: unknown) => {
        throw new MayHaveChanged(
          `${describeError(error)}; reading it back failed too (${describeError(readBack)}): the next run looks again`,
          { cause: error },
        );
      });
      if (made !== null) return made;
      throw new MayHaveChanged(
        `${describeError(error)}; AWS shows no result yet, so it is not sent again: the next run looks again`,
        { cause: error },
      );
    }
  }
}

function pause(attempt: number): Promise<void> {
  const ms = 100 * 2 ** attempt * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}
