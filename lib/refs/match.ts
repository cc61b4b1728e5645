import type { ChangedValue, Target } from '../domain/index.js';
import { partitionOf } from './arn.js';
import { parameterKey, secretNamesOfArn } from './target.js';

export interface Relevance {
  affected: boolean;
  reason: string;
}

/**
 * True when `target` and `change` name the same parameter or secret: the bare name, the
 * leading-slash name and the ARN of a parameter are one, and a secret matches by full or
 * partial ARN or by name, in the same partition, region and account.
 */
export function refersTo(target: Target, change: ChangedValue): boolean {
  if (target.service !== change.service) return false;
  if (!same(target.region, change.region) || !same(target.account, change.account)) return false;
  const changePartition = change.region ? partitionOf(change.region) : null;
  if (!same(target.partition, changePartition)) return false;
  if (target.service === 'ssm') return parameterKey(target.name) === parameterKey(change.name);
  if (target.arn && change.arn && target.arn === change.arn) return true;
  const changeNames = new Set([change.name, ...(change.arn ? secretNamesOfArn(change.arn) : [])]);
  return secretNames(target).some((name) => changeNames.has(name));
}

/**
 * Whether a change alters the value a container reading `target` would get. A reference pinned to
 * a version id never changes; one pinned to a stage changes when that stage moves, and
 * AWSPREVIOUS moves with AWSCURRENT.
 */
export function relevance(target: Target, change: ChangedValue): Relevance {
  if (change.effect === 'label') {
    return {
      affected: false,
      reason:
        'a parameter label changed; ECS and Batch always read the latest version, not a label',
    };
  }
  if (change.effect === 'notice') {
    return { affected: false, reason: 'a policy notice; the value itself did not change' };
  }
  if (change.effect === 'deleted') {
    return {
      affected: true,
      reason: 'the referenced value was deleted: new containers will fail to start',
    };
  }
  if (target.service === 'ssm')
    return { affected: true, reason: 'the parameter has a new latest version' };
  if (target.versionId) {
    return {
      affected: false,
      reason: `pinned to version id ${target.versionId}, which a rotation does not change`,
    };
  }
  const pinned = target.versionStage ?? 'AWSCURRENT';
  const moved = change.versionStage ?? 'AWSCURRENT';
  if (pinned === moved)
    return { affected: true, reason: `the ${moved} version of the secret changed` };
  if (pinned === 'AWSPREVIOUS' && moved === 'AWSCURRENT') {
    return { affected: true, reason: 'AWSPREVIOUS moved with AWSCURRENT' };
  }
  return { affected: false, reason: `pinned to stage ${pinned}; the change moved ${moved}` };
}

function secretNames(target: Target): string[] {
  return target.arn ? [target.name, ...secretNamesOfArn(target.arn)] : [target.name];
}

/** Unknown on either side matches: a bare name read without context names any region's parameter. */
function same(a: string | null, b: string | null): boolean {
  return a === null || b === null || a === b;
}
