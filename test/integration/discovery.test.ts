import { beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { DefinitionCache, discover } from '../../lib/discovery/index.js';
import { resolveReference } from '../../lib/refs/index.js';
import { ACCOUNT } from '../../scripts/seed.js';
import { binary, cli } from '../helpers/cli.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const EAST = 'us-east-1';
const WEST = 'us-west-2';
const SECRET_VALUE = 'hunter2-do-not-leak-7f3a';
const DB = `arn:aws:ssm:${EAST}:${ACCOUNT}:parameter/prod/db/password`;

interface Seeded {
  checkout: string;
  worker: string;
  standalone: string;
  edge: string;
  secretArn: string;
}

/** Two regions, three clusters, every spelling of one parameter, a standalone task, tags. */
async function seedAccount(): Promise<Seeded> {
  const { seed } = env;
  await seed.parameter(EAST, '/prod/db/password', SECRET_VALUE);
  await seed.parameter(EAST, 'payments-api-key', SECRET_VALUE);
  await seed.parameter(WEST, '/prod/db/password', SECRET_VALUE);
  await seed.parameter(WEST, '/shared/token', SECRET_VALUE);
  const secretArn = await seed.secret(
    EAST,
    'prod/db-creds',
    JSON.stringify({ username: 'app', password: SECRET_VALUE }),
  );
  const payments = await seed.cluster(EAST, 'payments');
  const web = await seed.cluster(EAST, 'web');
  const edgeCluster = await seed.cluster(WEST, 'edge');
  const checkoutTd = await seed.taskDefinition(EAST, 'checkout', [
    {
      name: 'app',
      secrets: {
        DB_PASSWORD: '/prod/db/password',
        API_KEY: 'payments-api-key',
        SHARED: `arn:aws:ssm:${WEST}:${ACCOUNT}:parameter/shared/token`,
        DB_USER: `${secretArn}:username::`,
      },
      logSecrets: { apikey: DB },
    },
  ]);
  const workerTd = await seed.taskDefinition(EAST, 'worker', [
    { name: 'worker', secrets: { DB: 'prod/db/password' } },
  ]);
  const otherTd = await seed.taskDefinition(EAST, 'other', [
    { name: 'other', secrets: { X: '/other/missing' } },
  ]);
  const edgeTd = await seed.taskDefinition(WEST, 'edge', [
    { name: 'edge', secrets: { EAST_DB: DB, LOCAL_DB: '/prod/db/password' } },
  ]);
  const checkout = await seed.service(EAST, payments, 'checkout', checkoutTd, {
    tasks: 2,
    tags: { 'rotation-watcher:action': 'redeploy' },
  });
  const worker = await seed.service(EAST, web, 'worker', workerTd, { tasks: 1 });
  await seed.service(EAST, web, 'other', otherTd, { tasks: 1 });
  const standalone = await seed.standaloneTask(EAST, web, workerTd, {
    'rotation-watcher:action': 'redeploy',
  });
  const edge = await seed.service(WEST, edgeCluster, 'edge', edgeTd, { tasks: 1 });
  // The rotation: after every consumer started, so all of them hold the old value.
  await new Promise((resolve) => setTimeout(resolve, 20));
  await seed.parameter(EAST, '/prod/db/password', `${SECRET_VALUE}-rotated`);
  await seed.rotateSecret(
    EAST,
    'prod/db-creds',
    JSON.stringify({ username: 'app', password: `${SECRET_VALUE}-rotated` }),
  );
  return { checkout: checkout.arn, worker: worker.arn, standalone, edge: edge.arn, secretArn };
}

describe('discovery against moto', () => {
  let seeded: Seeded;
  beforeAll(async () => {
    await env.reset();
    seeded = await seedAccount();
  }, 60_000);

  it('finds exactly the consumers of a parameter, in both regions and in every spelling', async () => {
    const clients = new AwsClients();
    const result = await discover(
      { target: resolveReference('/prod/db/password', { region: EAST, account: null }) },
      { regions: [EAST, WEST], clients, cache: new DefinitionCache() },
    );
    expect(result.complete).toBe(true);
    expect(result.consumers.map((c) => [c.kind, c.arn]).sort()).toEqual(
      [
        ['ecs-service', seeded.checkout],
        ['ecs-service', seeded.worker],
        ['ecs-service', seeded.edge],
        ['ecs-task', seeded.standalone],
      ].sort(),
    );
    const checkout = result.consumers.find((c) => c.arn === seeded.checkout);
    expect(checkout?.references.map((r) => r.valueFrom).sort()).toEqual(['/prod/db/password', DB]);
    expect(checkout?.runs).toHaveLength(2);
    // us-west-2's own /prod/db/password is another parameter: only the ARN reference counts.
    expect(
      result.consumers.find((c) => c.arn === seeded.edge)?.references.map((r) => r.valueFrom),
    ).toEqual([DB]);
    clients.destroy();
  });

  it('reads service tags from DescribeServices and task tags from DescribeTasks', async () => {
    const clients = new AwsClients();
    const result = await discover(
      { target: resolveReference(DB, { region: EAST, account: null }) },
      { regions: [EAST], clients, cache: new DefinitionCache() },
    );
    const checkout = result.consumers.find((c) => c.arn === seeded.checkout);
    expect(checkout?.tags).toEqual([
      { level: 'service', tags: { 'rotation-watcher:action': 'redeploy' } },
    ]);
    expect(checkout?.service?.deploymentController).toBe('ECS');
    const standalone = result.consumers.find((c) => c.kind === 'ecs-task');
    expect(standalone?.tags[0]?.tags).toEqual({ 'rotation-watcher:action': 'redeploy' });
    expect(clients.counter.of('ecs:DescribeServices')).toBe(2);
    clients.destroy();
  });

  it('counts tasks without a creation time as stale, and says so', async () => {
    const clients = new AwsClients();
    const result = await discover(
      { target: resolveReference(DB, { region: EAST, account: null }) },
      { regions: [EAST], clients, cache: new DefinitionCache() },
    );
    for (const consumer of result.consumers) {
      expect(consumer.stale).toBe(true);
      expect(consumer.staleReason).toMatch(
        /creation time unknown \(AWS gave none\), counted as stale/,
      );
    }
    clients.destroy();
  });

  it('describes each task definition once per process, and reads no value', async () => {
    const clients = new AwsClients();
    const cache = new DefinitionCache();
    const query = { target: resolveReference(DB, { region: EAST, account: null }) };
    await discover(query, { regions: [EAST, WEST], clients, cache });
    expect(clients.counter.of('ecs:DescribeTaskDefinition')).toBe(4);
    await discover(query, { regions: [EAST, WEST], clients, cache });
    expect(clients.counter.of('ecs:DescribeTaskDefinition')).toBe(4);
    expect(cache.hits).toBe(4);
    const apis = Object.keys(clients.counter.byApi());
    expect(apis.filter((api) => /GetParameter|GetSecretValue|Decrypt/.test(api))).toEqual([]);
    clients.destroy();
  });

  it('finds the consumers of a secret by name', async () => {
    const { code, stdout } = await cli([
      'who-uses',
      'prod/db-creds',
      '--secret',
      '--region',
      EAST,
      '--json',
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.consumers.map((c: { arn: string }) => c.arn)).toEqual([seeded.checkout]);
    expect(report.changes[0]).toMatchObject({
      service: 'secretsmanager',
      name: 'prod/db-creds',
      arn: seeded.secretArn,
      operation: 'LastChanged',
    });
  });

  it('who-uses --json prints the contract shape, with the planned action from the tag', async () => {
    const { code, stdout, stderr } = await cli([
      'who-uses',
      '/prod/db/password',
      '--region',
      `${EAST},${WEST}`,
      '--json',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining(['changes', 'consumers', 'actions']),
    );
    expect(report.changes).toEqual([
      expect.objectContaining({
        service: 'ssm',
        name: '/prod/db/password',
        region: EAST,
        operation: 'LastModified',
        changedAt: expect.stringMatching(/^\d{4}-/),
      }),
    ]);
    const checkout = report.consumers.find((c: { arn: string }) => c.arn === seeded.checkout);
    expect(checkout).toMatchObject({
      kind: 'ecs-service',
      name: 'checkout',
      stale: true,
      action: 'redeploy',
    });
    expect(checkout.references[0]).toEqual({
      container: 'app',
      field: 'secrets',
      name: 'DB_PASSWORD',
      valueFrom: '/prod/db/password',
      target: expect.objectContaining({ service: 'ssm', name: '/prod/db/password', arn: DB }),
    });
    const standalone = report.consumers.find((c: { kind: string }) => c.kind === 'ecs-task');
    expect(standalone).toMatchObject({
      action: 'notify',
      reason: expect.stringMatching(/standalone tasks are never restarted/),
    });
    expect(report.actions).toEqual([
      { kind: 'redeploy', target: seeded.checkout, status: 'planned', detail: expect.any(String) },
    ]);
  });

  it('drift lists every stale consumer and raises an alarm for a missing parameter', async () => {
    const { code, stdout } = await cli(['drift', '--region', EAST, '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    const names = report.consumers.map((c: { name: string }) => c.name.replace(/ .*/, '')).sort();
    expect(names).toEqual(['checkout', 'family:worker', 'other', 'worker']);
    const other = report.consumers.find((c: { name: string }) => c.name === 'other');
    expect(other).toMatchObject({
      stale: true,
      action: 'notify',
      reason: expect.stringMatching(/alarm: \/other\/missing was deleted/),
    });
    expect(report.changes.find((c: { name: string }) => c.name === '/other/missing')).toMatchObject(
      { operation: 'NotFound', effect: 'deleted' },
    );
  });

  it('prints a readable table by default', async () => {
    const { code, stdout } = await cli(['who-uses', '/prod/db/password', '--region', EAST]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^KIND\s+NAME\s+RUNNING\s+STATE\s+ACTION\s+WHY/);
    expect(stdout).toMatch(/ecs-service\s+checkout\s+2\s+stale\s+redeploy/);
    expect(stdout).toMatch(/3 consumers, 3 stale/);
  });

  it('never prints a watched value, from the installed binary either', () => {
    const outputs = [
      binary(['who-uses', '/prod/db/password', '--region', `${EAST},${WEST}`, '--json']),
      binary(['who-uses', 'prod/db-creds', '--secret', '--region', EAST]),
      binary(['drift', '--region', `${EAST},${WEST}`, '--all', '--json']),
      binary(['drift', '--region', EAST]),
    ];
    for (const { code, stdout, stderr } of outputs) {
      expect(code).toBe(0);
      expect(stdout.length).toBeGreaterThan(50);
      expect(stdout + stderr).not.toContain(SECRET_VALUE);
    }
  });

  it('answers bad input with one line and exit 2', async () => {
    const bad = await cli(['who-uses', '/prod/db:3', '--region', EAST]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /^rotation-watcher: who-uses: invalid reference "\/prod\/db:3": Parameter Store version and label selectors/,
    );
    const none = await cli(['who-uses', '--region', EAST]);
    expect(none.code).toBe(2);
    const region = await cli(['drift', '--region', 'moon-1']);
    expect(region.stderr.trim()).toBe(
      'rotation-watcher: --region moon-1: not a region; a region looks like us-east-1',
    );
  });
});
