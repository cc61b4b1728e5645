/** AWS console addresses for what a notification names, so a person on call can click through. */
import { consoleUrl } from '../refs/index.js';

export { consumerLink } from '../refs/index.js';

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
