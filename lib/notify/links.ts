/** AWS console addresses for what a notification names, so a person on call can click through. */

const consoleUrl = (region: string, path: string) =>
  `https://${region}.console.aws.amazon.com/${path}`;

export function serviceLink(region: string, serviceArn: string): string {
  const [cluster = '', service = ''] = serviceArn.split(':service/')[1]?.split('/') ?? [];
  return consoleUrl(
    region,
    `ecs/v2/clusters/${enc(cluster)}/services/${enc(service)}/health?region=${region}`,
  );
}

export function taskLink(region: string, taskArn: string): string {
  const [cluster = '', task = ''] = taskArn.split(':task/')[1]?.split('/') ?? [];
  return consoleUrl(
    region,
    `ecs/v2/clusters/${enc(cluster)}/tasks/${enc(task)}/configuration?region=${region}`,
  );
}

export function jobLink(region: string, jobArn: string): string {
  const id = jobArn.split(':job/')[1] ?? jobArn;
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
  const cluster = parent?.split(':cluster/')[1];
  const last = arn.split('/').pop() ?? '';
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

function enc(part: string): string {
  return encodeURIComponent(part);
}
