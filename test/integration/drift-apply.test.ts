// `drift --apply` is the sweep run by hand: the same runPipeline on a sweep, from the same
// composition root, so the same plan, cap, leases and rotation records. Against moto.
import { DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DescribeServicesCommand, ECSClient, TagResourceCommand } from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../../lib/cli/io.js';
import { run } from '../../lib/cli/main.js';
import { buildDeps } from '../../lib/compose.js';
import { readSettings } from '../../lib/config.js';
import { runPipeline } from '../../lib/pipeline.js';
import { cli } from '../helpers/cli.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const REGION = 'us-east-1';
const PARAM = '/drift/db/password';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let table: string;
let topic: string;
let api: string;
let web: string;
let quiet: string;

beforeAll(async () => {
  const { seed } = env;
  await seed.parameter(REGION, PARAM, 'v0');
  const cluster = await seed.cluster(REGION, 'drift');
  const td = await seed.taskDefinition(REGION, 'drift', [{ name: 'app', secrets: { DB: PARAM } }]);
  const redeploy = { 'rotation-watcher:action': 'redeploy' };
  api = (await seed.service(REGION, cluster, 'api', td, { tasks: 2, tags: redeploy })).arn;
  web = (await seed.service(REGION, cluster, 'web', td, { tasks: 1, tags: redeploy })).arn;
  quiet = (
    await seed.service(REGION, cluster, 'quiet', td, {
      tasks: 1,
      tags: { 'rotation-watcher:action': 'notify' },
    })
  ).arn;
  table = await seed.stateTable(REGION, 'drift-state');
  topic = (await seed.topicWithSubscriber(REGION, 'drift-alerts')).topicArn;
  await pause(1_100);
  await seed.parameter(REGION, PARAM, 'v1');
}, 90_000);

// All at once: what is checked here is drift --apply's own contract (the waves, below, once).
const settings = () => ({
  WATCHER_STATE_TABLE: table,
  WATCHER_SNS_TOPIC_ARN: topic,
  WATCHER_WAVES: 'all',
});

async function leases(): Promise<Array<{ pk: string; owner: string }>> {
  const db = new DynamoDBClient({ region: REGION });
  const reply = await db.send(new ScanCommand({ TableName: table }));
  db.destroy();
  return (reply.Items ?? [])
    .map((item) => ({ pk: item.pk?.S ?? '', owner: item.owner?.S ?? '' }))
    .filter((item) => item.pk.startsWith('lease#'));
}

/** The CLI on a terminal: `answer` is what the person types at the question. */
async function onTerminal(args: string[], answer: boolean, extra: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const asked: string[] = [];
  const io: Io = {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    interactive: false,
    confirm: async (question) => {
      asked.push(question);
      return answer;
    },
  };
  const code = await run(args, io, { env: { ...process.env, ...settings(), ...extra } });
  return { code, stdout, stderr, asked };
}

describe('drift --apply', () => {
  it('with waves, asks to restart the canary only and says how many wait for later waves', async () => {
    const result = await onTerminal(['drift', '--apply', '--region', REGION], false, {
      WATCHER_WAVES: '1,25%,100%',
    });
    // web has the fewest tasks: the canary; api waits for it.
    expect(result.asked).toEqual([
      'Redeploy 1 service in us-east-1 (1 more waiting for later waves)? [y/N] ',
    ]);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/redeploy skipped\s+\S+\/api — held back: it waits for/);
  });

  it('asks on a terminal what it is about to do, and changes nothing on a no', async () => {
    const result = await onTerminal(['drift', '--apply', '--region', REGION], false);
    expect(result.asked).toEqual(['Redeploy 2 services in us-east-1? [y/N] ']);
    expect(result.code).toBe(2);
    // First what it would do, in words that say it has not done it.
    expect(result.stdout.split('\n')[0]).toMatch(/^KIND\s+NAME\s+RUNNING\s+STATE\s+ACTION\s+WHY$/);
    expect(result.stdout).toMatch(/would redeploy {2}arn:aws:ecs:/);
    expect(result.stdout).not.toMatch(/planned/);
    expect(result.stderr.split('\n')[0]).toBe(
      'rotation-watcher: not confirmed: nothing was changed',
    );
    expect(await leases()).toEqual([]);
  }, 60_000);

  it('would restart exactly what the sweep would', async () => {
    const listed = await cli(
      ['drift', '--json', '--region', REGION],
      undefined,
      undefined,
      settings(),
    );
    expect(listed.code).toBe(0);
    const wouldRedeploy = JSON.parse(listed.stdout)
      .actions.filter((a: { status: string }) => a.status === 'planned')
      .map((a: { target: string }) => a.target)
      .sort();
    const deps = buildDeps(readSettings({ ...process.env, ...settings() }), { home: REGION });
    try {
      const sweep = await runPipeline({ sweep: true }, deps, { apply: false });
      const planned = sweep.plan.actions.map((action) => action.consumer.arn).sort();
      expect(wouldRedeploy).toEqual(planned);
      expect(planned).toEqual([api, web].sort());
    } finally {
      deps.clients.destroy();
    }
  }, 60_000);

  it('with --yes restarts what the sweep would, under leases, skipping a consumer another run holds', async () => {
    // Another run (a sweep at this moment) holds `web`.
    const db = new DynamoDBClient({ region: REGION });
    await db.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          pk: { S: `lease#redeploy#${web}` },
          sk: { S: 'lease' },
          owner: { S: 'a-sweep-elsewhere' },
          heldUntil: { N: String(Date.now() + 600_000) },
        },
      }),
    );
    db.destroy();
    const result = await cli(
      ['drift', '--apply', '--yes', '--json', '--region', REGION],
      undefined,
      undefined,
      settings(),
    );
    expect(result.code).toBe(0);
    const { actions } = JSON.parse(result.stdout);
    const restarts = actions.filter((a: { kind: string }) => a.kind === 'redeploy');
    expect(restarts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ target: api, status: 'done' }),
        expect.objectContaining({
          target: web,
          status: 'skipped',
          detail: expect.stringMatching(/another run acted on it/),
        }),
      ]),
    );
    expect(restarts).toHaveLength(2);
    expect(restarts.map((a: { target: string }) => a.target)).not.toContain(quiet);
    const held = await leases();
    expect(held.map((lease) => lease.pk).sort()).toEqual(
      [`lease#redeploy#${api}`, `lease#redeploy#${web}`].sort(),
    );
    expect(held.find((lease) => lease.pk.endsWith(web))?.owner).toBe('a-sweep-elsewhere');
    expect(held.find((lease) => lease.pk.endsWith(api))?.owner).not.toBe('a-sweep-elsewhere');
    // Where the notification went is in the JSON; stderr stays quiet.
    expect(actions).toContainEqual(
      expect.objectContaining({ kind: 'sns', target: topic, status: 'done' }),
    );
    expect(result.stderr).toBe('');
  }, 60_000);

  it('in text, says what it did and where it told, and never restarts a consumer twice', async () => {
    const result = await cli(
      ['drift', '--apply', '--yes', '--region', REGION],
      undefined,
      undefined,
      settings(),
    );
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(/^KIND\s+NAME\s+RUNNING\s+STATE\s+ACTION\s+WHY$/);
    // `api` is being replaced by the first apply's deployment: not stale, not restarted again.
    expect(result.stdout).not.toMatch(/^ecs-service\s+api\s/m);
    expect(result.stdout).toContain(`redeploy skipped  ${web} — another run acted on it`);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(`notified sns ${topic}`);
  }, 60_000);

  it('afterwards shows the redeployed service as replacing, at 100 columns', async () => {
    const result = await cli(
      ['drift', '--all', '--region', REGION],
      undefined,
      undefined,
      settings(),
    );
    expect(result.code).toBe(0);
    for (const line of result.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    expect(result.stdout).toMatch(
      /^ecs-service\s+api\s+2\s+replacing\s+none\s+2 of 2 running tasks may hold/m,
    );
    expect(result.stdout).toMatch(/^ecs-service\s+web\s+1\s+stale\s+redeploy\s/m);
    const wide = await cli(
      ['drift', '--all', '--wide', '--region', REGION],
      undefined,
      undefined,
      settings(),
    );
    expect(wide.code).toBe(0);
    expect(wide.stdout.split('\n')[0]).toMatch(/^KIND\s+NAME\s+RUNNING\s+STATE\s+ACTION\s+WHY$/);
    expect(wide.stdout).toMatch(/^ecs-service\s+api\s.*is replacing them \(IN_PROGRESS\)$/m);
  }, 60_000);

  it('does only what was confirmed: a consumer tagged to redeploy after the question is skipped', async () => {
    const ecs = new ECSClient({ region: REGION });
    const deployments = async () =>
      (await ecs.send(new DescribeServicesCommand({ cluster: 'drift', services: [quiet] })))
        .services?.[0]?.deployments?.length ?? 0;
    const before = await deployments();
    let stdout = '';
    const asked: string[] = [];
    const io: Io = {
      out: (text) => {
        stdout += text;
      },
      err: () => undefined,
      interactive: false,
      confirm: async (question) => {
        asked.push(question);
        // While the person reads the question, someone opts `quiet` in to redeploys.
        await ecs.send(
          new TagResourceCommand({
            resourceArn: quiet,
            tags: [{ key: 'rotation-watcher:action', value: 'redeploy' }],
          }),
        );
        return true;
      },
    };
    const code = await run(['drift', '--apply', '--json', '--region', REGION], io, {
      env: { ...process.env, ...settings() },
    });
    expect(asked.join('')).not.toContain('3 services');
    const report = JSON.parse(stdout) as {
      actions: Array<{ kind: string; target: string; status: string; detail: string }>;
    };
    expect(report.actions.find((action) => action.target === quiet)).toEqual({
      kind: 'redeploy',
      target: quiet,
      status: 'skipped',
      detail: 'not in what was confirmed (the account changed since): run it again to act',
    });
    expect(await deployments()).toBe(before);
    expect([0, 4]).toContain(code);
    ecs.destroy();
  }, 60_000);

  it('refuses to act without the state table, whose leases keep a sweep off the same consumers', async () => {
    const result = await cli(['drift', '--apply', '--yes', '--region', REGION]);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      "rotation-watcher: drift --apply needs the stack's state table for its leases and rotation records: pass --stack NAME or set WATCHER_STATE_TABLE",
    );
  });
});
