import type { DescribeSecretResponse } from '@aws-sdk/client-secrets-manager';
import { DescribeSecretCommand, ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand } from '@aws-sdk/client-ssm';
import { type AwsClients, allPages, chunks } from '../aws/index.js';
import type { Change } from '../events/index.js';
import type { ReplicaValue } from '../events/types.js';
import {
  accountOf,
  parameterArn,
  parameterKey,
  partitionOf,
  splitArn,
  type Target,
} from '../refs/index.js';
import { guarded, isoTime } from './shared.js';
import type { Gap } from './types.js';

const NAMES_PER_FILTER = 50;

/** AWS's own record of one value: when it last changed, to which version, or that it is gone. */
interface ValueRecord {
  name: string;
  arn: string | null;
  account: string | null;
  /** `null` when the value does not exist (or is scheduled for deletion without a date). */
  changedAt: string | null;
  version: string | null;
  deleted: boolean;
  /** No such value at all (a secret scheduled for deletion still exists). */
  missing: boolean;
  /** Secrets: a version holding AWSPENDING and not AWSCURRENT (a rotation in progress). */
  pendingVersion: string | null;
  /** Secrets: the replicas the primary lists. */
  replicas: ReplicaValue[];
}

/** What a target or change names, for reading its record once. */
type Named = Pick<Target, 'service' | 'name' | 'arn' | 'region' | 'account' | 'partition'>;

/**
 * The latest change of each target, read from metadata only: DescribeParameters
 * (LastModifiedDate, Version) and DescribeSecret (LastChangedDate, the AWSCURRENT version).
 * Never a value. A target that no longer exists becomes a `deleted` change: its consumers cannot
 * start again.
 */
export async function latestChanges(
  targets: Target[],
  clients: AwsClients,
  gaps: Gap[],
  now: Date,
): Promise<Change[]> {
  const unique = new Map<string, Named>();
  for (const target of targets) if (target.region) unique.set(identity(target), target);
  const records = await readRecords([...unique.values()], clients, gaps);
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
): Promise<Change[]> {
  // Labels and notices alter nothing a container reads: their times do not matter.
  const timed = changes.filter(
    (change) => change.effect === 'value' || change.effect === 'deleted',
  );
  const unique = new Map<string, Named>();
  for (const change of timed) unique.set(identity(change), change);
  const records = await readRecords([...unique.values()], clients, gaps);
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
    return {
      ...change,
      // A value deleted and created again is a new value, not a deletion.
      effect: 'value',
      arn: change.arn ?? record.arn,
      changedAt: record.changedAt ?? change.changedAt,
      timeSource: record.changedAt ? 'aws' : change.timeSource,
      version: record.version,
    };
  });
}

/** The record's optional facts, set only where they say something (events' changes lack them). */
function facts(record: ValueRecord): Pick<Change, 'pendingVersion' | 'replicas' | 'missing'> {
  return {
    ...(record.pendingVersion ? { pendingVersion: record.pendingVersion } : {}),
    ...(record.replicas.length ? { replicas: record.replicas } : {}),
    ...(record.missing ? { missing: true } : {}),
  };
}

function identity(target: Named): string {
  const name = target.service === 'ssm' ? parameterKey(target.name) : (target.arn ?? target.name);
  return `${target.service}|${target.region}|${target.account ?? ''}|${name}`;
}

/** The record of each named value, by identity; values whose record could not be read are absent. */
async function readRecords(
  named: Named[],
  clients: AwsClients,
  gaps: Gap[],
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
  return out;
}

async function parameterRecords(
  region: string,
  targets: Named[],
  clients: AwsClients,
  gaps: Gap[],
): Promise<Map<string, ValueRecord>> {
  const ssm = clients.get('ssm', region);
  const names = [...new Set(targets.map((t) => t.name))];
  const found = new Map<string, { modified: string | null; arn: string | null; version: string }>();
  let complete = true;
  for (const group of chunks(names, NAMES_PER_FILTER)) {
    const page = await guarded(
      gaps,
      { region, scope: 'parameters', api: 'ssm:DescribeParameters' },
      () =>
        allPages(async (NextToken) => {
          const reply = await clients.limited('ssm', region, () =>
            ssm.send(
              new DescribeParametersCommand({
                ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: group }],
                MaxResults: 50,
                NextToken,
              }),
            ),
          );
          return { items: reply.Parameters, next: reply.NextToken };
        }),
    );
    if (!page) complete = false;
    for (const parameter of page ?? []) {
      if (parameter.Name)
        found.set(parameterKey(parameter.Name), {
          modified: isoTime(parameter.LastModifiedDate),
          arn: parameter.ARN ?? null,
          version: String(parameter.Version ?? ''),
        });
    }
  }
  const out = new Map<string, ValueRecord>();
  for (const target of targets) {
    const meta = found.get(parameterKey(target.name));
    // Without a complete answer, absence proves nothing: report only what was seen.
    if (!meta && !complete) continue;
    const partition = target.partition ?? partitionOf(region);
    const account = target.account ?? (meta?.arn ? accountOf(meta.arn) : null);
    out.set(identity(target), {
      name: target.name,
      arn:
        meta?.arn ??
        target.arn ??
        (account ? parameterArn(partition, region, account, target.name) : null),
      account,
      changedAt: meta?.modified ?? null,
      version: meta?.version || null,
      deleted: !meta,
      missing: !meta,
      pendingVersion: null,
      replicas: [],
    });
  }
  return out;
}

/**
 * A secret's record. Secrets Manager keeps no time of a label's move, only the version's creation
 * and LastChangedDate, the last modification of any kind: the move happened at or before it, so it
 * is the bound that never calls a container fresh that may hold the old value.
 */
async function secretRecord(
  target: Named,
  clients: AwsClients,
  gaps: Gap[],
): Promise<ValueRecord | null> {
  const region = target.region as string;
  const client = clients.get('secretsmanager', region);
  const id = target.arn ?? target.name;
  let missing = false;
  const reply = await guarded(
    gaps,
    { region, scope: id, api: 'secretsmanager:DescribeSecret' },
    async () => {
      try {
        return await clients.limited('secretsmanager', region, () =>
          client.send(new DescribeSecretCommand({ SecretId: id })),
        );
      } catch (error) {
        if (error instanceof ResourceNotFoundException) {
          missing = true;
          return undefined;
        }
        throw error;
      }
    },
  );
  if (!reply && !missing) return null;
  const stages = Object.entries(reply?.VersionIdsToStages ?? {});
  const current = stages.find(([, labels]) => labels.includes('AWSCURRENT'))?.[0];
  // AWSPENDING left on the AWSCURRENT version is a finished rotation; on another, one under way.
  const pending = stages.find(
    ([, labels]) => labels.includes('AWSPENDING') && !labels.includes('AWSCURRENT'),
  )?.[0];
  const deleted = missing || Boolean(reply?.DeletedDate);
  const arn = reply?.ARN ?? target.arn;
  return {
    name: reply?.Name ?? target.name,
    arn,
    account: target.account ?? (reply?.ARN ? accountOf(reply.ARN) : null),
    changedAt: isoTime(reply?.DeletedDate ?? reply?.LastChangedDate ?? reply?.LastRotatedDate),
    version: current ?? null,
    deleted,
    missing,
    pendingVersion: pending ?? null,
    replicas: replicasOf(reply, arn),
  };
}

/**
 * The replicas a primary lists. ReplicationStatus gives no ARN: a replica keeps the primary's
 * name and suffix, so its ARN is the primary's in the replica's region.
 */
function replicasOf(reply: DescribeSecretResponse | undefined, arn: string | null): ReplicaValue[] {
  const parts = arn ? splitArn(arn) : null;
  return (reply?.ReplicationStatus ?? []).flatMap((replica) =>
    replica.Region
      ? [
          {
            region: replica.Region,
            arn:
              parts && typeof parts !== 'string'
                ? `arn:${parts.partition}:${parts.service}:${replica.Region}:${parts.account}:${parts.resource}`
                : null,
            status: replica.Status ?? null,
          },
        ]
      : [],
  );
}
