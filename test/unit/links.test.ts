import { describe, expect, it } from 'vitest';
import { consumerLink, parameterLink, secretLink } from '../../lib/notify/links.js';

describe('console links, in each partition', () => {
  it.each([
    ['us-east-1', 'https://us-east-1.console.aws.amazon.com/'],
    ['cn-north-1', 'https://console.amazonaws.cn/'],
    ['us-gov-west-1', 'https://console.amazonaws-us-gov.com/'],
  ])('a service in %s links to %s', (region, host) => {
    const partition = region.startsWith('cn-')
      ? 'aws-cn'
      : region.startsWith('us-gov-')
        ? 'aws-us-gov'
        : 'aws';
    const arn = `arn:${partition}:ecs:${region}:123456789012:service/prod/web`;
    const cluster = `arn:${partition}:ecs:${region}:123456789012:cluster/prod`;
    const link = consumerLink('ecs-service', region, arn, cluster);
    expect(link).toBe(`${host}ecs/v2/clusters/prod/services/web/health?region=${region}`);
    expect(parameterLink(region, '/prod/db')).toMatch(
      new RegExp(`^${host.replace(/\./g, '\\.')}systems-manager/`),
    );
    expect(secretLink(region, 'prod/db')).toContain(`region=${region}`);
  });
});
