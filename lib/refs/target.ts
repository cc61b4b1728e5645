import type { RefContext, Target } from '../domain/index.js';
import { isAccount, isPartition, isRegion, partitionOf, splitArn } from './arn.js';
import { clip, InvalidReferenceError } from './errors.js';

/** The Parameter Store path that reads a Secrets Manager secret instead of a parameter. */
export const SECRETS_MANAGER_REFERENCE_PREFIX = '/aws/reference/secretsmanager/';

const PARAMETER_NAME = /^[A-Za-z0-9_.\-/]+$/;
// Secrets Manager names are letters, digits and /_+=.@-, but names that services create for
// themselves go beyond that (RDS: `rds!db-…`), so only what breaks the ARN form is refused.
const SECRET_NAME = /^[^\s:]+$/;
const SECRET_SUFFIX = /^(.+)-[A-Za-z0-9]{6}$/;
const MAX_PARAMETER_NAME = 2048;
const MAX_SECRET_NAME = 512;
const MAX_REFERENCE = 2048;

/**
 * Resolves a `valueFrom` to the parameter or secret it names. Bare Parameter Store names resolve
 * against `context` (the consumer's own region and account).
 *
 * @example resolveReference('/prod/db', { region: 'eu-west-1', account: '123456789012' }).arn
 *   // 'arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db'
 * @throws InvalidReferenceError when the string names neither.
 */
export function resolveReference(valueFrom: string, context: RefContext): Target {
  if (valueFrom.length === 0) throw new InvalidReferenceError(valueFrom, 'it is empty');
  if (valueFrom.length > MAX_REFERENCE) {
    throw new InvalidReferenceError(
      valueFrom,
      `it is ${valueFrom.length} characters long; AWS allows at most ${MAX_REFERENCE}`,
    );
  }
  if (valueFrom.startsWith('arn:')) return resolveArn(valueFrom);
  return resolveParameterName(valueFrom, context, valueFrom);
}

/** Parameter Store names: `/a/b` and `a/b` are the same parameter, so matching ignores the leading slash. */
export function parameterKey(name: string): string {
  return name.startsWith('/') ? name.slice(1) : name;
}

/** The ARN of a parameter: its name without the leading slash after `parameter/`. */
export function parameterArn(
  partition: string,
  region: string,
  account: string,
  name: string,
): string {
  return `arn:${partition}:ssm:${region}:${account}:parameter/${parameterKey(name)}`;
}

/**
 * The names a secret ARN may stand for. A full ARN ends in `-` and six random characters, but a
 * partial ARN of a secret whose own name ends that way looks the same, so both readings are kept.
 */
export function secretNamesOfArn(arn: string): string[] {
  const resource = arn.split(':')[6];
  if (resource === undefined) return [];
  const suffixed = SECRET_SUFFIX.exec(resource);
  if (!suffixed?.[1]) return [resource];
  // AWS's suffix is random letters and digits; one of only lowercase letters (`-tokens`) is more
  // likely the end of the name itself, so that reading comes first (it is the name shown).
  const random = /[A-Z0-9]/.test(resource.slice(-6));
  return random ? [suffixed[1], resource] : [resource, suffixed[1]];
}

function resolveParameterName(name: string, context: RefContext, original: string): Target {
  if (name.startsWith(SECRETS_MANAGER_REFERENCE_PREFIX)) {
    return resolveSecretName(
      name.slice(SECRETS_MANAGER_REFERENCE_PREFIX.length),
      context,
      original,
    );
  }
  if (name.includes(':')) {
    throw new InvalidReferenceError(
      original,
      'Parameter Store version and label selectors (NAME:VERSION, NAME:LABEL) are rejected by ECS and Batch; reference the bare name or the ARN',
    );
  }
  checkParameterName(name, original);
  // SSM spells hierarchical names with a leading slash; `prod/db` and `/prod/db` are one parameter.
  const canonical = name.includes('/') && !name.startsWith('/') ? `/${name}` : name;
  const { region, account } = context;
  const partition = context.partition ?? (region ? partitionOf(region) : null);
  return {
    service: 'ssm',
    partition,
    region,
    account,
    name: canonical,
    arn:
      partition && region && account ? parameterArn(partition, region, account, canonical) : null,
    jsonKey: null,
    versionStage: null,
    versionId: null,
  };
}

function resolveSecretName(name: string, context: RefContext, original: string): Target {
  if (name.startsWith('arn:')) return resolveArn(name);
  checkSecretName(name, original);
  const { region, account } = context;
  return {
    service: 'secretsmanager',
    partition: context.partition ?? (region ? partitionOf(region) : null),
    region,
    account,
    name,
    arn: null,
    jsonKey: null,
    versionStage: null,
    versionId: null,
  };
}

function resolveArn(arn: string): Target {
  const parts = splitArn(arn);
  if (typeof parts === 'string') throw new InvalidReferenceError(arn, parts);
  const { partition, service, region, account, resource } = parts;
  if (!isPartition(partition))
    throw new InvalidReferenceError(
      arn,
      `unknown partition ${JSON.stringify(clip(partition, 30))}`,
    );
  if (!isRegion(region))
    throw new InvalidReferenceError(arn, `${JSON.stringify(clip(region, 30))} is not a region`);
  if (!isAccount(account))
    throw new InvalidReferenceError(
      arn,
      `${JSON.stringify(clip(account, 30))} is not a 12-digit account id`,
    );
  if (service === 'ssm') return resolveParameterArn(arn, partition, region, account, resource);
  if (service === 'secretsmanager')
    return resolveSecretArn(arn, partition, region, account, resource);
  throw new InvalidReferenceError(
    arn,
    `service ${JSON.stringify(clip(service, 30))} is neither ssm nor secretsmanager`,
  );
}

function resolveParameterArn(
  arn: string,
  partition: string,
  region: string,
  account: string,
  resource: string,
): Target {
  if (!resource.startsWith('parameter/') || resource.length === 'parameter/'.length) {
    throw new InvalidReferenceError(arn, 'a Parameter Store ARN ends in :parameter/NAME');
  }
  const rest = resource.slice('parameter/'.length);
  // The ARN drops the leading slash of a hierarchical name: `parameter/a/b` is the parameter `/a/b`.
  const name = rest.includes('/') ? `/${rest}` : rest;
  const target = resolveParameterName(name, { region, account, partition }, arn);
  return target.service === 'ssm' ? { ...target, arn } : target;
}

function resolveSecretArn(
  arn: string,
  partition: string,
  region: string,
  account: string,
  resource: string,
): Target {
  const parts = resource.split(':');
  if (parts[0] !== 'secret' || (parts.length !== 2 && parts.length !== 5)) {
    throw new InvalidReferenceError(
      arn,
      'a Secrets Manager ARN ends in :secret:NAME, or :secret:NAME:JSON-KEY:VERSION-STAGE:VERSION-ID with all three colons',
    );
  }
  const [, withSuffix = '', jsonKey = '', versionStage = '', versionId = ''] = parts;
  checkSecretName(withSuffix, arn);
  if (versionStage && versionId) {
    throw new InvalidReferenceError(arn, 'version-stage and version-id cannot both be set');
  }
  const names = secretNamesOfArn(arn);
  const base = `arn:${partition}:secretsmanager:${region}:${account}:secret:${withSuffix}`;
  return {
    service: 'secretsmanager',
    partition,
    region,
    account,
    name: names[0] ?? withSuffix,
    arn: base,
    jsonKey: jsonKey || null,
    versionStage: versionStage || null,
    versionId: versionId || null,
  };
}

function checkParameterName(name: string, original: string): void {
  checkName(
    name === '/' ? '' : name,
    original,
    'parameter',
    MAX_PARAMETER_NAME,
    PARAMETER_NAME,
    'has only letters, digits and . - _ /',
  );
}

function checkSecretName(name: string, original: string): void {
  checkName(name, original, 'secret', MAX_SECRET_NAME, SECRET_NAME, 'has no spaces or colons');
}

function checkName(
  name: string,
  original: string,
  kind: string,
  max: number,
  pattern: RegExp,
  rule: string,
): void {
  if (name === '') throw new InvalidReferenceError(original, `the ${kind} name is empty`);
  if (name.length > max) {
    throw new InvalidReferenceError(original, `the ${kind} name is longer than ${max} characters`);
  }
  if (!pattern.test(name)) throw new InvalidReferenceError(original, `a ${kind} name ${rule}`);
}
