import { randomUUID } from 'node:crypto';
import { AwsClients, type ClientOptions } from './aws/index.js';
import type { Settings } from './config.js';
import { DefinitionCache } from './consumers/definitions.js';
import { webhookProvider } from './notify/index.js';
import type { PipelineDeps } from './pipeline.js';
import { RotationStore } from './rotations/index.js';
import { tableDefinitions } from './state/definitions.js';
import { tableLeases } from './state/lease.js';
import { readOnlyMoves, tableMoves } from './state/moves.js';
import { ReminderStore } from './state/reminders.js';

/**
 * The one composition root: everything a run needs, for the functions and for the CLI's
 * `simulate` alike, so that with the state table both claim consumers with leases, keep rotation
 * records, reminders and move times, and never restart a consumer the other is restarting.
 */
export function buildDeps(
  settings: Settings,
  where: Where & {
    /** The changes queue, for delayed follow-ups (the functions); none: the sweep follows up. */
    queueUrl?: string | null;
    /** The clock every part reads (tests and the demo move their own); the system's by default. */
    now?: () => Date;
  },
): PipelineDeps {
  const { clients, cache, ...read } = buildReadDeps(settings, where);
  const table = settings.stateTable;
  // The table's own region when its ARN says it; else the watcher's.
  const at = settings.stateTableRegion ?? read.home;
  return {
    settings,
    regions: read.regions,
    home: read.home,
    clients,
    cache,
    // The Slack webhook's SecureString, decrypted once per container and cached by its provider.
    slack: { webhooks: webhookProvider(clients, read.home) },
    // Runs overlap (several on-change batches at once, the sweep, simulate --apply): a consumer
    // is claimed in the state table before it is restarted, so it is restarted once.
    leases: table ? tableLeases({ table, region: at, clients, owner: randomUUID() }) : undefined,
    // A record per rotation, followed up through the changes queue until it is complete.
    rotations: table
      ? {
          store: new RotationStore({
            table,
            region: at,
            clients,
            ...(where.now ? { now: where.now } : {}),
          }),
          queueUrl: where.queueUrl ?? null,
        }
      : undefined,
    // When each secret version's AWSCURRENT moved, as first established: every look alike.
    moves: table ? tableMoves({ table, region: at, clients }) : undefined,
    // When each stale consumer was last told of: reminders once per WATCHER_REMIND_EVERY.
    reminders: table ? new ReminderStore({ table, region: at, clients }) : undefined,
    ...(where.now ? { now: where.now } : {}),
  };
}

/** Where a run is: the watcher's region, the regions it scans, how its clients are built. */
export interface Where {
  /** The watcher's own region (the CLI: the first region scanned): its table, topic, bus, queue. */
  home: string;
  /** Where consumers are scanned: WATCHER_REGIONS, else `home`. */
  regions?: string[];
  clientOptions?: ClientOptions;
}

/** What the CLI's read-only commands (status, wait, drift, who-uses) read the account with. */
export type ReadDeps = Pick<
  PipelineDeps,
  'settings' | 'regions' | 'home' | 'clients' | 'cache' | 'moves'
>;

/**
 * The parts of `buildDeps` that only read: clients paced by the same budget, the reference
 * index, and the move times the stack keeps, read but never written. No leases, records or
 * reminders: nothing here changes the account or the table. One set serves every check of a
 * `wait`, so its budget's buckets last across checks instead of starting full on each.
 */
export function buildReadDeps(settings: Settings, where: Where): ReadDeps {
  const { home } = where;
  const clients = new AwsClients({ apiShare: settings.apiShare, ...where.clientOptions });
  const table = settings.stateTable;
  // The table's own region when its ARN says it; else the watcher's.
  const at = settings.stateTableRegion ?? home;
  return {
    settings,
    regions: where.regions ?? settings.regions ?? [home],
    home,
    clients,
    // The reference index: a cold container reads the references of revisions it has never
    // described from the state table instead of describing them again.
    cache: definitionCache(table, at, clients),
    // The stack's memory of when each secret version moved: the functions replace it with one
    // they write.
    moves: table ? readOnlyMoves(tableMoves({ table, region: at, clients })) : undefined,
  };
}

/** A definition cache backed by the state table when `table` is set, else by the process alone. */
export function definitionCache(
  table: string | null,
  region: string,
  clients: AwsClients,
): DefinitionCache {
  return new DefinitionCache(table ? tableDefinitions({ table, region, clients }) : undefined);
}
