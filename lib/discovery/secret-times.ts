import { ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { type AwsClients, allPages } from '../aws/index.js';
import { guarded, isoTime } from '../aws/reads.js';
import type { Gap, MoveMemory, MoveTime, TimeBasis } from '../domain/index.js';
import { moveKey, moveTime } from './moves.js';

/** What judging a secret's move needs besides AWS: the memory, the look's time, events in hand. */
export interface Judging {
  memory?: MoveMemory;
  /** The look's clock: read once each secret's record has come back. */
  clock: () => Date;
  /** The time of an event in hand that moved AWSCURRENT of this value to `version`, if any. */
  eventMove?: (identity: string, version: string) => string | null;
}

/** The facts of one secret's DescribeSecret that judging reads, and the time it sets. */
export interface SecretFacts {
  arn: string | null;
  version: string | null;
  deleted: boolean;
  /** DescribeSecret's LastChangedDate. */
  lastChanged: string | null;
  /** The version holding AWSPREVIOUS: which move this is. */
  previousVersion: string | null;
  changedAt: string | null;
  basis?: TimeBasis;
}

/**
 * Sets each live secret's `changedAt` to the time its AWSCURRENT moved to the current version, as
 * tightly as it can be proven not earlier than the move (see moves.ts): the time kept in the
 * memory for that version, else the event in hand, else LastChangedDate when later than the
 * version's creation (ListSecretVersionIds: metadata, never a value), else this look's time; a
 * time established here is kept in the memory, first writer wins.
 */
export async function judgeMoves(
  secrets: Array<{ identity: string; region: string; facts: SecretFacts }>,
  clients: AwsClients,
  gaps: Gap[],
  judging: Judging,
): Promise<void> {
  const live = secrets.filter(({ facts }) => !facts.deleted && facts.arn && facts.version);
  if (live.length === 0) return;
  const keyOf = (facts: SecretFacts) =>
    moveKey(facts.arn as string, facts.version as string, facts.previousVersion);
  // A memory that cannot be read costs only a later time (a restart), never an earlier one.
  const kept: Map<string, MoveTime> = judging.memory
    ? await judging.memory.recall(live.map(({ facts }) => keyOf(facts))).catch(() => new Map())
    : new Map();
  await Promise.all(
    live.map(async ({ identity, region, facts }) => {
      const key = keyOf(facts);
      const known = kept.get(key);
      if (known) return set(facts, known);
      const version = facts.version as string;
      // The move's own record is exact: with it in hand, LastChangedDate (which AWS need not
      // update on a move, and which an older write may have set) is not asked.
      const eventMove = judging.eventMove?.(identity, version) ?? null;
      const created = eventMove
        ? null
        : await versionCreated(region, facts.arn as string, version, clients, gaps);
      // The look is after the reply that showed this version current, so after the move (by
      // the function's clock, which Lambda keeps in step with AWS's).
      const time = moveTime({
        eventMove,
        lastChanged: facts.lastChanged,
        created,
        lookedAt: judging.clock().toISOString(),
      });
      set(facts, judging.memory ? await judging.memory.keep(key, time).catch(() => time) : time);
    }),
  );
}

function set(facts: SecretFacts, time: MoveTime): void {
  facts.changedAt = time.at;
  facts.basis = time.basis;
}

/** When `version` of the secret was written (its AWSPENDING write, in a rotation). */
async function versionCreated(
  region: string,
  secretArn: string,
  version: string,
  clients: AwsClients,
  gaps: Gap[],
): Promise<string | null> {
  const client = clients.get('secretsmanager', region);
  const versions = await guarded(
    gaps,
    {
      region,
      scope: secretArn,
      api: 'secretsmanager:ListSecretVersionIds',
      affects: { kind: 'any' },
    },
    () =>
      allPages(async (NextToken) => {
        const reply = await clients.limited('secretsmanager', region, () =>
          client.send(
            new ListSecretVersionIdsCommand({ SecretId: secretArn, MaxResults: 100, NextToken }),
          ),
        );
        return { items: reply.Versions, next: reply.NextToken };
      }),
  );
  return isoTime(versions?.find((v) => v.VersionId === version)?.CreatedDate);
}
