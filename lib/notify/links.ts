/** AWS console addresses for what a notification names, so a person on call can click through. */
import { lastPart, partitionOf, splitArn } from '../refs/index.js';

/** The console of the region's partition: China and GovCloud have consoles of their own. */
function consoleUrl(region: string, path: string): string {
  const partition = partitionOf(region);
  if (partition === 'aws-cn') return `https://console.amazonaws.cn/${path}`;
  if (partition === 'aws-us-gov') return `https://console.amazonaws-us-gov.com/${path}`;
  return `https://${region}.console.aws.amazon.com/${path}`;
}

export function serviceLink(region: string, serviceArn: string): string {
  const [cluster = '', service = ''] = resourcePath(serviceArn, 'service');
  return consoleUrl(
    region,
    `ecs/v2/clusters/${enc(cluster)}/services/${enc(service)}/health?region=${region}`,
  );
}

export function taskLink(region: string, taskArn: string): string {
  const [cluster = '', task = ''] = resourcePath(taskArn, 'task');
  return consoleUrl(
    region,
    `ecs/v2/clusters/${enc(cluster)}/tasks/${enc(task)}/configuration?region=${region}`,
  );
}

export function jobLink(region: string, jobArn: string): string {
  const id = lastPart(jobArn);
  return consoleUrl(region, `batch/home?region=${region}#jobs/detail/${enc(id)}`);
}

export function parameterLink(region: string, name: string): string {
  const path = name.replace(/^\//, '').split('/').map(enc).join('/');
  return consoleUrl(region, `systems-manager/parameters/${path}/description?region=${region}`);
}

export function secretLink(region: string, name: string): string {
  return consoleUrl(region, `secretsmanager/secret?name=${enc(name)}&region=${region}`);
}

/** `parent` is the cluster ARN of ECS consumers: old-format ARNs (`service/NAME`) do not name it. */
export function consumerLink(
  kind: string,
  region: string,
  arn: string,
  parent: string | null = null,
): string {
  const cluster = parent ? resourcePath(parent, 'cluster')[0] : undefined;
  const last = lastPart(arn);
  if (kind === 'ecs-service')
    return cluster
      ? clusterLink(region, cluster, `services/${enc(last)}/health`)
      : serviceLink(region, arn);
  if (kind === 'ecs-task')
    return cluster
      ? clusterLink(region, cluster, `tasks/${enc(last)}/configuration`)
      : taskLink(region, arn);
  return jobLink(region, arn);
}

function clusterLink(region: string, cluster: string, rest: string): string {
  return consoleUrl(region, `ecs/v2/clusters/${enc(cluster)}/${rest}?region=${region}`);
}

/** The `/` parts after `TYPE/` in an ARN's resource: `service/prod/web` → ['prod', 'web']. */
function resourcePath(arn: string, type: string): string[] {
  const parts = splitArn(arn);
  if (typeof parts === 'string' || !parts.resource.startsWith(`${type}/`)) return [];
  return parts.resource.slice(type.length + 1).split('/');
}

function enc(part: string): string {
  return encodeURIComponent(part);
}
