// `rotation-watcher wait` against moto (behind the fault proxy for the gap case): live checks,
// with a clock that does not sleep but lets the test replace consumers between checks.
import { StopTaskCommand } from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { useFaultyMoto } from '../helpers/faulty-moto.js';

const env = useFaultyMoto();
const REGION = 'us-east-1';
const CANARY = 'wait-canary-value';

interface Waited {
  code: number;
  stdout: string;
  stderr: string;
  checks: number;
  apis: string[];
}

/** Runs `wait` with a clock whose every sleep runs the next of `between` first. */
async function wait(args: string[], between: Array<() => Promise<void>> = []): Promise<Waited> {
  let now = 0;
  let sleeps = 0;
  const apis: string[] = [];
  const result = await cli(
    ['wait', ...args, '--region', REGION],
    undefined,
    { maxAttempts: 1, onCall: ({ service, api }) => apis.push(`${service}:${api}`) },
    undefined,
    {
      clock: {
        now: () => now,
        sleep: async (ms) => {
          await between[sleeps]?.();
          sleeps += 1;
          now += ms;
        },
      },
    },
  );
  return { ...result, checks: sleeps + 1, apis };
}

async function stop(cluster: string, task: string): Promise<void> {
  await env.seed
    .ecs(REGION)
    .send(new StopTaskCommand({ cluster, task, reason: 'replaced by hand' }));
}

describe('rotation-watcher wait', () => {
  let cluster = '';
  const tasks: Record<string, string> = {};
  beforeAll(async () => {
    const { seed } = env;
    cluster = await seed.cluster(REGION, 'wait');
    for (const name of ['/wait/done', '/wait/stuck']) await seed.parameter(REGION, name, CANARY);
    const done = await seed.taskDefinition(REGION, 'done', [
      { name: 'app', secrets: { DB: '/wait/done' } },
    ]);
    const stuck = await seed.taskDefinition(REGION, 'stuck', [
      { name: 'app', secrets: { DB: '/wait/stuck' } },
    ]);
    tasks.service = (await seed.service(REGION, cluster, 'done-svc', done, { tasks: 1 }))
      .tasks[0] as string;
    tasks.standalone = await seed.standaloneTask(REGION, cluster, done);
    tasks.stuck = await seed.standaloneTask(REGION, cluster, stuck);
    // The rotations, after every task was created.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    for (const name of ['/wait/done', '/wait/stuck'])
      await seed.parameter(REGION, name, `${CANARY}-2`);
  }, 60_000);

  it('exits 0 as soon as the last consumer on the old value is gone', async () => {
    const result = await wait(
      ['/wait/done', '--interval', '10s', '--timeout', '5m', '--json'],
      [
        () => stop(cluster, tasks.standalone as string),
        () => stop(cluster, tasks.service as string),
      ],
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Two still on it, then one, then none: the third check ends the wait.
    expect(result.checks).toBe(3);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({
      complete: true,
      value: '/wait/done',
      checks: 3,
      waitedSeconds: 20,
      left: [],
    });
  }, 60_000);

  it('exits 5 at the timeout, naming who is left', async () => {
    const result = await wait(['/wait/stuck', '--interval', '1m', '--timeout', '3m']);
    expect(result.code).toBe(5);
    // Checks at 0, 1, 2 and 3 minutes: the last one at the timeout.
    expect(result.checks).toBe(4);
    expect(result.stdout).toContain(
      'timed out after 3m00s: 1 consumer may still hold an older value of /wait/stuck',
    );
    expect(result.stdout).toContain('ecs-task family:stuck');
  }, 60_000);

  it('never reads a value: only metadata calls', async () => {
    const result = await wait(['/wait/stuck', '--interval', '1m', '--timeout', '1m']);
    expect(result.apis).toContain('ssm:DescribeParameters');
    expect(result.apis.filter((api) => /GetParameter|GetSecretValue|Decrypt/.test(api))).toEqual(
      [],
    );
    expect(result.stdout + result.stderr).not.toContain(CANARY);
  }, 60_000);

  it('exits 3 when no consumer is left among what could be read, but part of the account could not be', async () => {
    env.proxy.rules = [{ fault: 'denied', rate: 1, apis: ['batch:DescribeJobQueues'] }];
    try {
      const result = await wait(['/wait/done', '--interval', '10s', '--timeout', '1m']);
      expect(result.code).toBe(3);
      expect(result.checks).toBe(1);
      expect(result.stderr).toContain('batch:DescribeJobQueues');
      expect(result.stderr).toContain('cannot say the rotation is complete');
    } finally {
      env.proxy.rules = [];
    }
  }, 60_000);

  it.each([
    [
      ['--timeout', 'soon'],
      /--timeout soon: a duration must be a positive number with an optional unit s, m or h, such as 30s or 15m/,
    ],
    [['--interval', '500ms'], /--interval 500ms: a duration must be/],
    [['--interval', '0s'], /--interval 0s: must be at least 1s/],
  ])('rejects %j with one line', async (options, message) => {
    const result = await wait(['/wait/done', ...options]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
