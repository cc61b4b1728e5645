import type { DescribeSecretResponse } from '@aws-sdk/client-secrets-manager';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand } from '@aws-sdk/client-ssm';
import { type AwsClients, allPages, chunks, classifyAwsError } from '../aws/index.js';
import { guarded, isoTime } from '../aws/reads.js';
import type { Gap, ReplicaValue, Target, TimeBasis } from '../domain/index.js';
import { accountOf, parameterArn, parameterKey, partitionOf, splitArn } from '../refs/index.js';

const NAMES_PER_FILTER = 50;

/** AWS's own record of one value: when it last changed, to which version, or that it is gone. */
export interface ValueRecord {
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
  /** Secrets: DescribeSecret's LastChangedDate (its `changedAt` is the judged time of the move). */
  lastChanged: string | null;
  /** Secrets: the version holding AWSPREVIOUS. */
  previousVersion: string | null;
  /** Which fact decided `changedAt`. */
  basis?: TimeBasis;
}

/** What a target or change names, for reading its record once. */
export type Named = Pick<Target, 'service' | 'name' | 'arn' | 'region' | 'account' | 'partition'>;

export function identity(target: Named): string {
  const name = target.service === 'ssm' ? parameterKey(target.name) : (target.arn ?? target.name);
  return `${target.service}|${target.region}|${target.account ?? ''}|${name}`;
}

export async function parameterRecords(
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
      {
        region,
        scope: 'parameters',
        api: 'ssm:DescribeParameters',
        affects: { kind: 'values', service: 'ssm', region },
      },
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
      ...(meta?.modified ? { basis: 'last-modified' as const } : {}),
      previousVersion: null,
      lastChanged: meta?.modified ?? null,
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
 * A secret's record from DescribeSecret: its AWSCURRENT version, LastChangedDate (the last
 * modification of any kind; nothing says a label's move updates it), a rotation in progress, its
 * replicas. When AWSCURRENT moved is judged afterwards (judgeMoves), for every secret at once.
 */
export async function secretRecord(
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
    {
      region,
      scope: id,
      api: 'secretsmanager:DescribeSecret',
      affects: { kind: 'values', service: 'secretsmanager', region },
    },
    async () => {
      try {
        return await clients.limited('secretsmanager', region, () =>
          client.send(new DescribeSecretCommand({ SecretId: id })),
        );
      } catch (error) {
        if (classifyAwsError(error, 'secretsmanager').kind === 'not-found') {
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
    // A deletion's own date; a live secret's move is judged after (judgeMoves).
    changedAt: isoTime(reply?.DeletedDate ?? reply?.LastChangedDate),
    lastChanged: isoTime(reply?.LastChangedDate),
    version: current ?? null,
    previousVersion: stages.find(([, labels]) => labels.includes('AWSPREVIOUS'))?.[0] ?? null,
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
