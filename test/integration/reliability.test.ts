import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACCOUNT } from '../../scripts/seed.js';
import { cli } from '../helpers/cli.js';
import { useFaultyMoto } from '../helpers/faulty-moto.js';

const env = useFaultyMoto();
const REGION = 'us-east-1';
// Short timeouts so that `slow` faults cost a second, not ten.
const CLIENT = { requestTimeoutMs: 1000 };

interface Consumer {
  arn: string;
  stale: boolean;
  action: string;
}
const summary = (stdout: string) =>
  (JSON.parse(stdout).consumers as Consumer[])
    .map((c) => `${c.arn} stale=${c.stale} action=${c.action}`)
    .sort();

let topicQueue = '';
let settings: Record<string, string> = {};

beforeAll(async () => {
  const { seed } = env;
  await seed.parameter(REGION, '/prod/db/password', 'v1');
  await seed.parameter(REGION, '/prod/api/key', 'v1');
  const clusters = [
    await seed.cluster(REGION, 'a'),
    await seed.cluster(REGION, 'b'),
    await seed.cluster(REGION, 'c'),
  ];
  const db = await seed.taskDefinition(REGION, 'db-user', [
    { name: 'app', secrets: { DB: '/prod/db/password' } },
  ]);
  const api = await seed.taskDefinition(REGION, 'api-user', [
    {
      name: 'app',
      secrets: {
        KEY: 'prod/api/key',
        DB: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/prod/db/password`,
      },
    },
  ]);
  for (const [i, cluster] of clusters.entries()) {
    await seed.service(REGION, cluster, `tagged-${i}`, db, {
      tasks: 2,
      tags: { 'rotation-watcher:action': 'redeploy' },
    });
    await seed.service(REGION, cluster, `plain-${i}`, api, { tasks: 1 });
    await seed.standaloneTask(REGION, cluster, api);
  }
  const topic = await seed.topicWithSubscriber(REGION, 'reports');
  topicQueue = topic.queueUrl;
  // All at once: what is checked is each restart sent exactly once through the faults.
  settings = { WATCHER_SNS_TOPIC_ARN: topic.topicArn, WATCHER_WAVES: 'all' };
  await seed.parameter(REGION, '/prod/db/password', 'v2');
}, 120_000);

beforeEach(() => {
  env.proxy.rules = [];
});

describe('with 20% of calls throttled, 5% failing with 500 and a few slow or dropped', () => {
  const READS = [
    'ecs:ListClusters',
    'ecs:ListTasks',
    'ecs:DescribeTasks',
    'ecs:DescribeTaskDefinition',
    'ecs:DescribeServices',
    'batch:DescribeJobQueues',
    'batch:ListJobs',
    'ssm:DescribeParameters',
    'secretsmanager:DescribeSecret',
  ];
  const faults = () => {
    env.proxy.rules = [
      { fault: 'throttle', rate: 0.2 },
      { fault: 'error500', rate: 0.05 },
      { fault: 'error503', rate: 0.02 },
      { fault: 'drop', rate: 0.02 },
      { fault: 'slow', rate: 0.01 },
    ];
    env.proxy.slowMs = 1500;
  };

  it('who-uses and drift give the same full answer as without faults', async () => {
    const cleanWho = await cli(
      ['who-uses', '/prod/db/password', '--region', REGION, '--json'],
      undefined,
      CLIENT,
    );
    const cleanDrift = await cli(
      ['drift', '--all', '--region', REGION, '--json'],
      undefined,
      CLIENT,
    );
    expect(summary(cleanWho.stdout)).toHaveLength(9);
    faults();
    const before = env.proxy.log.length;
    const who = await cli(
      ['who-uses', '/prod/db/password', '--region', REGION, '--json'],
      undefined,
      CLIENT,
    );
    const drift = await cli(['drift', '--all', '--region', REGION, '--json'], undefined, CLIENT);
    const injected = env.proxy.log.slice(before).filter((entry) => entry.fault !== null);
    expect(injected.length).toBeGreaterThan(5);
    const kinds = new Set(injected.map((entry) => entry.fault));
    expect(kinds.has('throttle')).toBe(true);
    expect(kinds.size).toBeGreaterThanOrEqual(2);
    expect(who.code).toBe(0);
    expect(drift.code).toBe(0);
    expect(JSON.parse(who.stdout).complete).toBe(true);
    expect(summary(who.stdout)).toEqual(summary(cleanWho.stdout));
    expect(summary(drift.stdout)).toEqual(summary(cleanDrift.stdout));
  }, 120_000);

  it('simulate --apply redeploys each tagged service exactly once and publishes one report', async () => {
    faults();
    // UpdateService itself only throttled (refused, so sent again): after a lost answer it is not
    // sent blindly again but left to the next run (test/unit/exactly-once.test.ts).
    env.proxy.rules = env.proxy.rules.map((rule) =>
      rule.fault === 'throttle' ? rule : { ...rule, apis: READS },
    );
    const file = join(mkdtempSync(join(tmpdir(), 'rw-rel-')), 'event.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: '0',
        id: 'rel-1',
        'detail-type': 'Parameter Store Change',
        source: 'aws.ssm',
        account: ACCOUNT,
        time: new Date().toISOString(),
        region: REGION,
        resources: [],
        detail: { operation: 'Update', name: '/prod/db/password' },
      }),
    );
    const updatesBefore = env.forwarded('ecs:UpdateService').length;
    const { code, stdout } = await cli(
      ['simulate', file, '--apply', '--json', '--region', REGION],
      undefined,
      CLIENT,
      settings,
    );
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.complete).toBe(true);
    const redeploys = report.actions.filter((a: { kind: string }) => a.kind === 'redeploy');
    expect(redeploys.map((a: { status: string }) => a.status)).toEqual(['done', 'done', 'done']);
    const updated = env
      .forwarded('ecs:UpdateService')
      .slice(updatesBefore)
      .map((entry) => String(entry.input.service).split('/').pop());
    expect(updated.sort()).toEqual(['tagged-0', 'tagged-1', 'tagged-2']);
    env.proxy.rules = [];
    expect(await env.seed.drain(REGION, topicQueue)).toHaveLength(1);
  }, 120_000);
});

describe('with one API failing hard', () => {
  it('says exactly what is missing and exits 3 when DescribeServices is denied', async () => {
    env.proxy.rules = [{ fault: 'denied', rate: 1, apis: ['ecs:DescribeServices'] }];
    const { code, stdout, stderr } = await cli(
      ['who-uses', '/prod/db/password', '--region', REGION, '--json'],
      undefined,
      CLIENT,
    );
    expect(code).toBe(3);
    const report = JSON.parse(stdout);
    expect(report.complete).toBe(false);
    expect(report.gaps.map((gap: { api: string }) => gap.api)).toEqual([
      'ecs:DescribeServices',
      'ecs:DescribeServices',
      'ecs:DescribeServices',
    ]);
    expect(report.gaps[0].error).toMatch(
      /^AccessDeniedException: .*not authorized to perform: ecs:DescribeServices/,
    );
    const service = report.consumers.find((c: { name: string }) => c.name === 'tagged-0');
    expect(service.staleReason).toMatch(/DescribeServices failed: deployments unknown/);
    expect(stderr).toMatch(/the answer is incomplete: 3 parts of the account could not be read/);
  });

  it('says first that nothing could be read when every call is denied, not that nothing uses it', async () => {
    // No apis: the rule applies to every call, as with missing credentials or an empty role.
    env.proxy.rules = [{ fault: 'denied', rate: 1 }];
    const { code, stdout, stderr } = await cli(
      ['who-uses', '/prod/db/password', '--region', REGION],
      undefined,
      CLIENT,
    );
    env.proxy.rules = [];
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr.split('\n')[0]).toMatch(
      /^rotation-watcher: nothing could be read: every AWS call failed \(first: AccessDeniedException: .*\); check the credentials/,
    );
    expect(stderr).not.toMatch(/no running consumer/);
  });

  it('names the one cluster it could not list, and answers for the others', async () => {
    env.proxy.rules = [
      { fault: 'error500', rate: 1, apis: ['ecs:ListTasks'], inputContains: 'cluster/b' },
    ];
    const { code, stdout } = await cli(
      ['who-uses', '/prod/db/password', '--region', REGION, '--json'],
      undefined,
      { ...CLIENT, maxAttempts: 2 },
    );
    expect(code).toBe(3);
    const report = JSON.parse(stdout);
    expect(report.gaps).toEqual([
      {
        region: REGION,
        scope: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/b`,
        api: 'ecs:ListTasks',
        error: expect.stringMatching(/InternalFailure/),
        affects: { kind: 'any' },
      },
    ]);
    // moto lists every cluster's tasks under each cluster, so tagged-1 may still show up through
    // cluster a; what matters is that the others are answered and the gap is named.
    const names = report.consumers.map((c: { name: string }) => c.name);
    expect(names).toEqual(expect.arrayContaining(['tagged-0', 'tagged-2']));
  });

  it('names Batch as unread when every Batch call fails', async () => {
    env.proxy.rules = [{ fault: 'error503', rate: 1, apis: ['batch:DescribeJobQueues'] }];
    const { code, stdout, stderr } = await cli(['drift', '--region', REGION, '--json'], undefined, {
      ...CLIENT,
      maxAttempts: 2,
    });
    expect(code).toBe(3);
    expect(JSON.parse(stdout).gaps).toEqual([
      {
        region: REGION,
        scope: 'batch',
        api: 'batch:DescribeJobQueues',
        error: expect.stringMatching(/ServiceUnavailable/),
        affects: { kind: 'any' },
      },
    ]);
    expect(stderr).toMatch(
      /warning: could not read batch in us-east-1 \(batch:DescribeJobQueues\)/,
    );
  });
});
