/** AWS console addresses, so a person on call can click through to what a message names. */
import { partitionOf, splitArn } from './arn.js';

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
