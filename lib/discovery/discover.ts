import type { AwsClients } from '../aws/index.js';
import type { DefinitionCache } from '../consumers/definitions.js';
import {
  CONSUMER_STRATEGIES,
  joinScans,
  type Scanned,
  scannedReferences,
  scanRegion,
} from '../consumers/index.js';
import type {
  Change,
  DiscoveryResult,
  Gap,
  MoveMemory,
  Progress,
  Target,
} from '../domain/index.js';
import { dedupeChanges } from '../events/index.js';
import { latestChanges, withRecordedTimes } from './metadata.js';

/** What to look for: consumers of given changes, of one target, or every stale consumer. */
export type Query = { changes: Change[] } | { target: Target } | { drift: true };

export interface DiscoverOptions {
  regions: string[];
  clients: AwsClients;
  cache: DefinitionCache;
  now?: () => Date;
  onProgress?: (progress: Progress) => void;
  /** Which parameter and secret names count (WATCHER_NAME_PREFIX); all when absent. */
  watch?: (name: string) => boolean;
  /** When each secret version's move was first established (the state table's memory). */
  moves?: MoveMemory;
}

/**
 * Finds the running consumers (ECS services, standalone tasks, Batch jobs) in every region that
 * reference the query's parameters or secrets, and says whether each one holds an old value.
 * Parts of the account that cannot be read are listed as gaps; the rest is still answered.
 */
export async function discover(query: Query, options: DiscoverOptions): Promise<DiscoveryResult> {
  const { regions, clients, cache, onProgress } = options;
  const now = options.now?.() ?? new Date();
  const gaps: Gap[] = [];
  const scanned = joinScans(
    await Promise.all(
      regions.map((region) => scanRegion(region, { clients, cache, onProgress }, gaps)),
    ),
  );
  const changes = await changesFor(
    query,
    scanned,
    clients,
    gaps,
    now,
    options.watch ?? (() => true),
    options.moves,
    options.now ?? (() => new Date()),
  );
  const found = await Promise.all(
    Object.values(CONSUMER_STRATEGIES).map((strategy) =>
      strategy.find(scanned, changes, { clients, gaps, now }),
    ),
  );
  const consumers = found.flat();
  consumers.sort((a, b) => a.kind.localeCompare(b.kind) || a.arn.localeCompare(b.arn));
  return { changes, consumers, gaps, complete: gaps.length === 0 };
}

async function changesFor(
  query: Query,
  scanned: Scanned,
  clients: AwsClients,
  gaps: Gap[],
  now: Date,
  watch: (name: string) => boolean,
  moves: MoveMemory | undefined,
  clock: () => Date,
): Promise<Change[]> {
  if ('changes' in query) {
    const recorded = await withRecordedTimes(
      query.changes.filter((change) => watch(change.name)),
      clients,
      gaps,
      { memory: moves, clock },
    );
    // Several events of one rotation (PutSecretValue, UpdateSecretVersionStage, RotationSucceeded)
    // name the same recorded change once their times are AWS's.
    return dedupeChanges(recorded);
  }
  if ('target' in query) return latestChanges([query.target], clients, gaps, now, moves, clock);
  // Unwatched values are left out before their metadata is read, not after.
  const targets = scannedReferences(scanned)
    .map((ref) => ref.target)
    .filter((target) => watch(target.name));
  return latestChanges(targets, clients, gaps, now, moves, clock);
}
