// `wait` checks the account again and again with one set of clients: the API budget's buckets
// carry over from check to check, so checks close together share the watcher's share of each
// bucket instead of each starting with a full one. On a fake clock: the pacing is behaviour.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cli } from '../helpers/cli.js';
import { type AwsRequest, awsError, RecordedAws } from '../helpers/recorded-aws.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };

beforeEach(() => {
  vi.useFakeTimers({ now: 1_800_000_000_000, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('wait', () => {
  it('keeps its budget across checks: a check waits for the token an earlier check took', async () => {
    const listed: number[] = [];
    // A parameter at version 2, nothing running: waiting for version 3 never completes.
    const recorded = new RecordedAws((request: AwsRequest) => {
      const api = `${request.service}:${request.operation}`;
      if (api === 'ecs:ListClusters') listed.push(Date.now());
      if (api === 'ssm:DescribeParameters')
        return {
          body: {
            Parameters: [
              {
                Name: '/app/db',
                Type: 'SecureString',
                Version: 2,
                LastModifiedDate: Date.now() / 1000 - 60,
              },
            ],
          },
        };
      if (api === 'ecs:ListClusters') return { body: { clusterArns: [] } };
      if (api === 'batch:DescribeJobQueues') return { body: { jobQueues: [] } };
      return awsError('UnknownOperationException', `not recorded: ${api}`);
    });
    // A share of 0.01 of ECS's cluster read bucket (50, 20 a second): one token, one more every 5 s.
    const running = cli(
      [
        'wait',
        '/app/db',
        '--version',
        '3',
        '--interval',
        '1s',
        '--timeout',
        '12s',
        '--region',
        'us-east-1',
        '--json',
      ],
      undefined,
      { requestHandler: recorded, credentials, maxAttempts: 1, apiShare: 0.01 },
      {},
      { clock: { now: Date.now, sleep: (ms) => new Promise((done) => setTimeout(done, ms)) } },
    );
    let settled = false;
    running.finally(() => {
      settled = true;
    });
    while (!settled) await vi.advanceTimersByTimeAsync(250);
    const { code, stdout } = await running;
    expect(code).toBe(5);
    expect(JSON.parse(stdout).checks).toBeGreaterThan(1);
    expect(listed.length).toBe(JSON.parse(stdout).checks);
    // Each check after the first waited for a token the one before it took, rather than
    // finding a full bucket a second after it: 5 s apart, not the 1 s interval.
    const gaps = listed.slice(1).map((at, i) => at - (listed[i] as number));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(5_000);
  });
});
