/** AWS console addresses for what a notification names, so a person on call can click through. */
import { isConsumerKind, strategyFor } from '../consumers/index.js';
import { consoleUrl } from '../refs/index.js';

export function parameterLink(region: string, name: string): string {
  const path = name.replace(/^\//, '').split('/').map(encodeURIComponent).join('/');
  return consoleUrl(region, `systems-manager/parameters/${path}/description?region=${region}`);
}

export function secretLink(region: string, name: string): string {
  return consoleUrl(
    region,
    `secretsmanager/secret?name=${encodeURIComponent(name)}&region=${region}`,
  );
}

/**
 * A consumer's console page, by its kind's strategy; a kind this version does not know is linked
 * as a job. `parent` is the cluster ARN of ECS consumers: old-format ARNs (`service/NAME`) do not
 * name it.
 */
export function consumerLink(
  kind: string,
  region: string,
  arn: string,
  parent: string | null = null,
): string {
  return strategyFor(isConsumerKind(kind) ? kind : 'batch-job').link(region, arn, parent);
}
