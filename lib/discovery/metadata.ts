import { DescribeSecretCommand, ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand } from '@aws-sdk/client-ssm';
import { type AwsClients, allPages, chunks } from '../aws/index.js';
import type { Change } from '../events/index.js';
import { parameterArn, parameterKey, partitionOf, type Target } from '../refs/index.js';
import { accountOf, guarded, isoTime } from './shared.js';
import type { Gap } from './types.js';

const NAMES_PER_FILTER = 50;

/**
 * The latest change of each target, read from metadata only: DescribeParameters
 * (LastModifiedDate) and DescribeSecret (LastChangedDate). Never a value. A target that no
 * longer exists becomes a `deleted` change: its consumers cannot start again.
 */
export async function latestChanges(
  targets: Target[],
  clients: AwsClients,
  gaps: Gap[],
  now: Date,
): Promise<Change[]> {
  const unique = new Map<string, Target>();
  for (const target of targets) {
    if (!target.region) continue;
    unique.set(identity(target), target);
  }
  const parameters = [...unique.values()].filter((t) => t.service === 'ssm');
  const secrets = [...unique.values()].filter((t) => t.service === 'secretsmanager');
  const byRegion = new Map<string, Target[]>();
  for (const target of parameters)
    byRegion.set(target.region as string, [
      ...(byRegion.get(target.region as string) ?? []),
      target,
    ]);
  const [parameterChanges, secretChanges] = await Promise.all([
    Promise.all(
      [...byRegion].map(([region, group]) => parameterMetadata(region, group, clients, gaps, now)),
    ),
    Promise.all(secrets.map((target) => secretMetadata(target, clients, gaps, now))),
  ]);
  return [
    ...parameterChanges.flat(),
    ...secretChanges.flatMap((change) => (change ? [change] : [])),
  ];
}

function identity(target: Target): string {
  const name = target.service === 'ssm' ? parameterKey(target.name) : (target.arn ?? target.name);
  return `${target.service}|${target.region}|${target.account ?? ''}|${name}`;
}

async function parameterMetadata(
  region: string,
  targets: Target[],
  clients: AwsClients,
  gaps: Gap[],
  now: Date,
): Promise<Change[]> {
  const ssm = clients.get('ssm', region);
  const names = [...new Set(targets.map((t) => t.name))];
  const found = new Map<string, { modified: string | null; arn: string | null }>();
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
        });
    }
  }
  return targets.flatMap((target): Change[] => {
    const meta = found.get(parameterKey(target.name));
    // Without a complete answer, absence proves nothing: report only what was seen.
    if (!meta && !complete) return [];
    const partition = target.partition ?? partitionOf(region);
    const arn = meta?.arn ?? target.arn;
    const account = target.account ?? (arn ? accountOf(arn) : null);
    return [
      {
        service: 'ssm',
        name: target.name,
        arn: arn ?? (account ? parameterArn(partition, region, account, target.name) : null),
        region,
        account,
        partition,
        operation: meta ? 'LastModified' : 'NotFound',
        effect: meta ? 'value' : 'deleted',
        changedAt: meta?.modified ?? now.toISOString(),
        versionStage: null,
        versionId: null,
        eventId: 'metadata',
        detailType: 'DescribeParameters',
      },
    ];
  });
}

async function secretMetadata(
  target: Target,
  clients: AwsClients,
  gaps: Gap[],
  now: Date,
): Promise<Change | null> {
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
  const deleted = missing || Boolean(reply?.DeletedDate);
  return {
    service: 'secretsmanager',
    name: reply?.Name ?? target.name,
    arn: reply?.ARN ?? target.arn,
    region,
    account: target.account ?? (reply?.ARN ? accountOf(reply.ARN) : null),
    partition: target.partition ?? partitionOf(region),
    operation: missing ? 'NotFound' : deleted ? 'ScheduledForDeletion' : 'LastChanged',
    effect: deleted ? 'deleted' : 'value',
    changedAt:
      isoTime(reply?.DeletedDate ?? reply?.LastChangedDate ?? reply?.LastRotatedDate) ??
      now.toISOString(),
    versionStage: null,
    versionId: null,
    eventId: 'metadata',
    detailType: 'DescribeSecret',
  };
}
