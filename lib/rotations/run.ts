import type { ActionOutcome } from '../actions/index.js';
import { type AwsClients, describeError } from '../aws/index.js';
import type { Settings } from '../config.js';
import { type DefinitionCache, discover } from '../discovery/index.js';
import type {
  ActionKind,
  Consumer,
  DiscoveryResult,
  MoveMemory,
  Outcome,
} from '../domain/index.js';
import { type RecordResult, valueKey } from '../events/index.js';
import type { PostOptions } from '../notify/slack.js';
import { followUp, recordRun } from './follow.js';
import { changeOf, observationsOf } from './observations.js';
import type { RotationStore } from './store.js';
import type { FollowDeps } from './types.js';

/** What keeping a run's records needs: the pipeline's own dependencies, with the store. */
export interface RunDeps {
  clients: AwsClients;
  cache: DefinitionCache;
  settings: Settings;
  /** Regions whose consumers are scanned. */
  regions: string[];
  /** The watcher's own region (its topic, bus and webhook parameter). */
  home: string;
  now?: () => Date;
  slack?: PostOptions;
  /** When each secret version's move was first established (the functions, with the table). */
  moves?: MoveMemory;
  /** Rotation records, and the queue for follow-ups. */
  rotations: { store: RotationStore; queueUrl: string | null };
}

/**
 * Records the run's rotations and takes the follow-up records of the batch; the sweep also
 * follows up every record still tracked (open, or closed and not yet told) that it did not see.
 */
export async function followRun(
  records: RecordResult[],
  result: DiscoveryResult,
  actions: ActionOutcome[],
  deps: RunDeps,
  options: {
    open: boolean;
    actBy?: number;
    decided: ReadonlyMap<Consumer, ActionKind>;
    /** Records the waves' gate opened before the run acted (`PK SK`). */
    opened?: ReadonlySet<string>;
  },
): Promise<{ outcomes: Outcome[]; retry: string[] }> {
  const followDeps: FollowDeps = {
    clients: deps.clients,
    store: deps.rotations.store,
    settings: deps.settings,
    home: deps.home,
    regions: deps.regions,
    queueUrl: deps.rotations.queueUrl,
    now: deps.now,
    slack: deps.slack,
    lookWhole: async (record) => {
      const change = changeOf(record);
      const found = await discover(
        { changes: [change] },
        {
          regions: deps.regions,
          clients: deps.clients,
          cache: deps.cache,
          now: deps.now,
          moves: deps.moves,
        },
      );
      return {
        observations: observationsOf(found.consumers, change, undefined, deps.now?.()),
        complete: found.complete,
      };
    },
  };
  const recorded = await recordRun(result, actions, followDeps, {
    open: options.open,
    decided: options.decided,
    ...(options.opened ? { opened: options.opened } : {}),
  });
  const { outcomes } = recorded;
  // A record that could not be opened: its event comes back, as only events open records.
  const retry = records.flatMap((record) =>
    record.recordId && record.changes.some((change) => recorded.failed.has(valueKey(change)))
      ? [record.recordId]
      : [],
  );
  for (const record of records) {
    if (!record.followUp) continue;
    // Past the run's time limit a look would be cut off mid-way: its message comes back instead
    // (its chain is intact: the record still names it).
    if (options.actBy !== undefined && Date.now() > options.actBy - TRACKED_MARGIN_MS) {
      if (record.recordId) retry.push(record.recordId);
      continue;
    }
    const { pk, sk, chain } = record.followUp;
    try {
      outcomes.push(
        ...(await deps.clients.until(options.actBy, () =>
          followUp(pk, sk, followDeps, { schedule: true, ...(chain ? { chain } : {}) }),
        )),
      );
    } catch (error) {
      // The follow-up's message comes back: it is the only thing that looks at this record again.
      if (record.recordId) retry.push(record.recordId);
      outcomes.push(followUpFailure(record.followUp.pk, error));
    }
  }
  if (!options.open) outcomes.push(...(await sweepTracked(recorded.looked, followDeps, options)));
  return { outcomes, retry };
}

const followUpFailure = (target: string, error: unknown): Outcome => ({
  kind: 'follow-up',
  target,
  status: 'failed',
  detail: describeError(error),
});

/** What a sweep keeps for notifying and saving after it stops following up listed records. */
const TRACKED_MARGIN_MS = 30_000;

/**
 * The sweep's look at records no event, follow-up or running consumer brought back: consumers
 * replaced or stopped while the follow-ups had stopped (a lost message, no queue) close their
 * record here, and a signal that was never told is told. Starts no new chain of follow-ups.
 */
async function sweepTracked(
  looked: Set<string>,
  deps: FollowDeps,
  options: { actBy?: number },
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let tracked: Array<{ pk: string; sk: string }>;
  try {
    tracked = await deps.store.tracked();
  } catch (error) {
    return [
      {
        kind: 'follow-up',
        target: 'open rotation records',
        status: 'failed',
        detail: `could not be listed: ${describeError(error)}`,
      },
    ];
  }
  await deps.clients.until(options.actBy, async () => {
    for (const { pk, sk } of tracked) {
      if (looked.has(`${pk} ${sk}`)) continue;
      // Telling and saving the run need time after this: the next sweep takes the rest.
      if (options.actBy !== undefined && Date.now() > options.actBy - TRACKED_MARGIN_MS) break;
      try {
        outcomes.push(...(await followUp(pk, sk, deps, { schedule: false })));
      } catch (error) {
        outcomes.push(followUpFailure(pk, error));
      }
    }
  });
  return outcomes;
}
