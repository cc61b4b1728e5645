import type { AwsClients } from '../aws/index.js';
import type { Change, Gap, MoveMemory, Target } from '../domain/index.js';
import { partitionOf } from '../refs/index.js';
import { type Judging, judgeMoves } from './secret-times.js';
import {
  identity,
  type Named,
  parameterRecords,
  secretRecord,
  type ValueRecord,
} from './value-records.js';

/**
 * The latest change of each target, read from metadata only: DescribeParameters
 * (LastModifiedDate, Version) and DescribeSecret (the AWSCURRENT version, whose move is dated by
 * the tightest time provably not earlier: see moves.ts).
 * Never a value. A target that no longer exists becomes a `deleted` change: its consumers cannot
 * start again.
 */
export async function latestChanges(
  targets: Target[],
  clients: AwsClients,
  gaps: Gap[],
  now: Date,
  memory?: MoveMemory,
  clock: () => Date = () => now,
): Promise<Change[]> {
  const unique = new Map<string, Named>();
  for (const target of targets) if (target.region) unique.set(identity(target), target);
  const records = await readRecords([...unique.values()], clients, gaps, {
    memory,
    clock,
  });
  return [...unique].flatMap(([key, target]): Change[] => {
    const record = records.get(key);
    if (!record) return [];
    const region = target.region as string;
    return [
      {
        service: target.service,
        name: record.name,
        arn: record.arn,
        region,
        account: record.account,
        partition: target.partition ?? partitionOf(region),
        operation: record.deleted
          ? 'NotFound'
          : target.service === 'ssm'
            ? 'LastModified'
            : 'LastChanged',
        effect: record.deleted ? 'deleted' : 'value',
        changedAt: record.changedAt ?? now.toISOString(),
        timeSource: record.changedAt ? 'aws' : 'event',
        ...(record.basis ? { timeBasis: record.basis } : {}),
        eventTime: null,
        version: record.version,
        versionStage: null,
        versionId: null,
        eventId: 'metadata',
        detailType: target.service === 'ssm' ? 'DescribeParameters' : 'DescribeSecret',
        ...facts(record),
      },
    ];
  });
}

/**
 * The changes events told of, judged by AWS's record instead of the events' times: a late,
 * replayed or repeated event names the same version at the same time as the first, so it finds
 * already replaced consumers fresh; a newer change than the event's is judged as the newer one.
 * Where the record cannot be read, the event's time stands (and says so).
 */
export async function withRecordedTimes(
  changes: Change[],
  clients: AwsClients,
  gaps: Gap[],
  judging: { memory?: MoveMemory; clock?: () => Date } = {},
): Promise<Change[]> {
  // Labels and notices alter nothing a container reads: their times do not matter.
  const timed = changes.filter(
    (change) => change.effect === 'value' || change.effect === 'deleted',
  );
  const unique = new Map<string, Named>();
  for (const change of timed) unique.set(identity(change), change);
  const records = await readRecords([...unique.values()], clients, gaps, {
    memory: judging.memory,
    clock: judging.clock ?? (() => new Date()),
    eventMove: (key, version) => moveInHand(timed, key, version),
  });
  return changes.map((change): Change => {
    const record = timed.includes(change) ? records.get(identity(change)) : undefined;
    if (!record) return change;
    // A deletion the record does not show yet: a read that lags behind the event, not a value
    // created again (that would carry a time after the deletion).
    const lagging =
      change.effect === 'deleted' &&
      !record.deleted &&
      change.eventTime !== null &&
      (record.changedAt ?? '') < change.eventTime;
    if (lagging) return change;
    if (record.deleted)
      return {
        ...change,
        effect: 'deleted',
        changedAt: record.changedAt ?? change.changedAt,
        timeSource: record.changedAt ? 'aws' : change.timeSource,
      };
    // A custom label's move is its own: the event of the move dates it and names its version
    // (AWSCURRENT's record says nothing about it).
    if (!followsCurrent(change))
      return change.eventTime && change.versionId
        ? {
            ...change,
            effect: 'value',
            arn: change.arn ?? record.arn,
            changedAt: change.eventTime,
            timeSource: 'aws',
            timeBasis: 'event',
            version: change.versionId,
          }
        : change;
    return {
      ...change,
      // A value deleted and created again is a new value, not a deletion.
      effect: 'value',
      arn: change.arn ?? record.arn,
      changedAt: record.changedAt ?? change.changedAt,
      timeSource: record.changedAt ? 'aws' : change.timeSource,
      ...(record.basis ? { timeBasis: record.basis } : {}),
      version: record.version,
      ...facts(record),
    };
  });
}

/** A change AWSCURRENT's record dates: a parameter's, or a secret's AWSCURRENT or AWSPREVIOUS. */
function followsCurrent(change: Change): boolean {
  const stage = change.versionStage ?? 'AWSCURRENT';
  return change.service === 'ssm' || stage === 'AWSCURRENT' || stage === 'AWSPREVIOUS';
}

/** The record's optional facts, set only where they say something (events' changes lack them). */
function facts(record: ValueRecord): Pick<Change, 'pendingVersion' | 'replicas' | 'missing'> {
  return {
    ...(record.pendingVersion ? { pendingVersion: record.pendingVersion } : {}),
    ...(record.replicas.length ? { replicas: record.replicas } : {}),
    ...(record.missing ? { missing: true } : {}),
  };
}

/**
 * The earliest time of an event in hand that moved the value's AWSCURRENT to `version`: the move's
 * own record (Secret Label Updated, UpdateSecretVersionStage, a PutSecretValue or UpdateSecret
 * that wrote it as AWSCURRENT). RotationSucceeded names no version, so it proves nothing here.
 */
function moveInHand(changes: Change[], key: string, version: string): string | null {
  const times = changes
    .filter(
      (change) =>
        change.service === 'secretsmanager' &&
        identity(change) === key &&
        (change.versionStage ?? 'AWSCURRENT') === 'AWSCURRENT' &&
        change.versionId === version &&
        MOVES.has(change.operation) &&
        change.eventTime !== null,
    )
    .map((change) => change.eventTime as string)
    .sort();
  return times[0] ?? null;
}

const MOVES = new Set([
  'LabelUpdated',
  'UpdateSecretVersionStage',
  'PutSecretValue',
  'UpdateSecret',
]);

/** The record of each named value, by identity; values whose record could not be read are absent. */
async function readRecords(
  named: Named[],
  clients: AwsClients,
  gaps: Gap[],
  judging: Judging,
): Promise<Map<string, ValueRecord>> {
  const byRegion = new Map<string, Named[]>();
  for (const target of named.filter((t) => t.service === 'ssm' && t.region))
    byRegion.set(target.region as string, [
      ...(byRegion.get(target.region as string) ?? []),
      target,
    ]);
  const secrets = named.filter((t) => t.service === 'secretsmanager' && t.region);
  const [parameters, secretRecords] = await Promise.all([
    Promise.all(
      [...byRegion].map(([region, group]) => parameterRecords(region, group, clients, gaps)),
    ),
    Promise.all(
      secrets.map(async (target) => [identity(target), await secretRecord(target, clients, gaps)]),
    ),
  ]);
  const out = new Map<string, ValueRecord>();
  for (const map of parameters) for (const [key, record] of map) out.set(key, record);
  for (const [key, record] of secretRecords)
    if (record) out.set(key as string, record as ValueRecord);
  // When each secret's AWSCURRENT moved, as tightly as can be proven (see moves.ts).
  await judgeMoves(
    secrets.flatMap((target) => {
      const facts = out.get(identity(target));
      return facts ? [{ identity: identity(target), region: target.region as string, facts }] : [];
    }),
    clients,
    gaps,
    judging,
  );
  return out;
}
