/** AWS console addresses, so a person on call can click through to what a message names. */
import { lastPart, partitionOf, splitArn } from './arn.js';

/** The console of the region's partition: China and GovCloud have consoles of their own. */
export function consoleUrl(region: string, path: string): string {
  const partition = partitionOf(region);
  if (partition === 'aws-cn') return `https://console.amazonaws.cn/${path}`;
  if (partition === 'aws-us-gov') return `https://console.amazonaws-us-gov.com/${path}`;
  return `https://${region}.console.aws.amazon.com/${path}`;
}

/** The `/` parts after `TYPE/` in an ARN's resource: `service/prod/web` → ['prod', 'web']. */
export function resourcePath(arn: string, type: string): string[] {
  const parts = splitArn(arn);
  if (typeof parts === 'string' || !parts.resource.startsWith(`${type}/`)) return [];
  return parts.resource.slice(type.length + 1).split('/');
}

/** A page of the ECS console's cluster view: `services/NAME/health`, `tasks/ID/configuration`. */
export function clusterLink(region: string, cluster: string, rest: string): string {
  return consoleUrl(
    region,
    `ecs/v2/clusters/${encodeURIComponent(cluster)}/${rest}?region=${region}`,
  );
}

/**
 * A consumer's console page: a service's health, a task's configuration, a Batch job's detail (a
 * kind this version does not know is linked as a job). `parent` is the cluster ARN of ECS
 * consumers: old-format ARNs (`service/NAME`) do not name it. Pure, so that messages link
 * consumers without depending on the code that reads them.
 */
export function consumerLink(
  kind: string,
  region: string,
  arn: string,
  parent: string | null = null,
): string {
  if (kind === 'ecs-service') return ecsLink(region, arn, parent, 'service', 'services', 'health');
  if (kind === 'ecs-task') return ecsLink(region, arn, parent, 'task', 'tasks', 'configuration');
  return consoleUrl(
    region,
    `batch/home?region=${region}#jobs/detail/${encodeURIComponent(lastPart(arn))}`,
  );
}

/** The cluster's page of a service or task, through the cluster `parent` names, else its ARN's. */
function ecsLink(
  region: string,
  arn: string,
  parent: string | null,
  type: string,
  page: string,
  tab: string,
): string {
  const cluster = parent ? resourcePath(parent, 'cluster')[0] : undefined;
  if (cluster)
    return clusterLink(region, cluster, `${page}/${encodeURIComponent(lastPart(arn))}/${tab}`);
  const [ofArn = '', name = ''] = resourcePath(arn, type);
  return clusterLink(region, ofArn, `${page}/${encodeURIComponent(name)}/${tab}`);
}
