/** Helpers for the account, region and partition parts of ARNs. */

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
const PARTITIONS = new Set([
  'aws',
  'aws-cn',
  'aws-us-gov',
  'aws-iso',
  'aws-iso-b',
  'aws-iso-e',
  'aws-iso-f',
  'aws-eusc',
]);

export function isRegion(value: string): boolean {
  return REGION.test(value);
}

export function isAccount(value: string): boolean {
  return ACCOUNT.test(value);
}

export function isPartition(value: string): boolean {
  return PARTITIONS.has(value);
}

/** The partition a region belongs to: `cn-north-1` → `aws-cn`, `us-gov-west-1` → `aws-us-gov`. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eusc-')) return 'aws-eusc';
  return 'aws';
}

export interface ArnParts {
  partition: string;
  service: string;
  region: string;
  account: string;
  /** Everything after the account, colons included. */
  resource: string;
}

/** Splits an ARN into its parts, or returns a reason it is not one. */
export function splitArn(arn: string): ArnParts | string {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn')
    return 'an ARN has the form arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE';
  const [, partition = '', service = '', region = '', account = ''] = parts;
  return { partition, service, region, account, resource: parts.slice(5).join(':') };
}

/** The region, account and partition of a resource ARN such as a task definition's; nulls if it is not one. */
export function contextOfArn(arn: unknown): {
  region: string | null;
  account: string | null;
  partition: string | null;
} {
  if (typeof arn === 'string') {
    const parts = splitArn(arn);
    if (typeof parts !== 'string' && isRegion(parts.region) && isAccount(parts.account)) {
      return { region: parts.region, account: parts.account, partition: parts.partition };
    }
  }
  return { region: null, account: null, partition: null };
}

/** The account of an ARN, or null when it is not an ARN or names none. */
export function accountOf(arn: string): string | null {
  const parts = splitArn(arn);
  return typeof parts !== 'string' && parts.account ? parts.account : null;
}

/** The region of an ARN, or null when it is not an ARN or names none. */
export function regionOf(arn: string): string | null {
  const parts = splitArn(arn);
  return typeof parts !== 'string' && parts.region ? parts.region : null;
}

/**
 * The last `/`-separated part of an ARN's resource: a cluster's, service's or task's name or id.
 *
 * @example lastPart('arn:aws:ecs:us-east-1:123456789012:service/prod/web') // 'web'
 */
export function lastPart(arn: string): string {
  const parts = splitArn(arn);
  const resource = typeof parts === 'string' ? arn : parts.resource;
  return resource.split('/').pop() ?? resource;
}

/**
 * The ARN of a resource beside another of the same service, partition, region and account.
 *
 * @example siblingArn('arn:aws-cn:ecs:cn-north-1:123456789012:cluster/prod', 'service/prod/web')
 *   // 'arn:aws-cn:ecs:cn-north-1:123456789012:service/prod/web'
 */
export function siblingArn(arn: string, resource: string): string {
  const parts = splitArn(arn);
  if (typeof parts === 'string') return resource;
  return `arn:${parts.partition}:${parts.service}:${parts.region}:${parts.account}:${resource}`;
}
