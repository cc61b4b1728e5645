import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler as createOnChange } from '../../functions/on-change.js';
import { createHandler as createSweep } from '../../functions/sweep.js';
import { ACCOUNT } from '../../scripts/seed.js';
import { type SlackStub, startSlackStub } from '../../scripts/slack-stub.js';
import { cli } from '../helpers/cli.js';
import { sqsBatch } from '../helpers/events.js';
import { useMoto } from '../helpers/moto.js';

let sweep = createSweep();
/** A cold start: the handler of a new Lambda container. */
const resetSweep = () => {
  sweep = createSweep();
};
let handler = createOnChange();
/** A cold start: the handler of a new Lambda container. */
const coldStart = () => {
  handler = createOnChange();
};

const env = useMoto();
const REGION = 'us-east-1';
let slack: SlackStub;

beforeAll(async () => {
  slack = await startSlackStub();
});
afterAll(async () => {
  await slack.stop();
});

/** A Parameter Store Change event as EventBridge delivers it. */
function parameterEvent(name: string, id: string, time = new Date().toISOString()) {
  return {
    version: '0',
    id,
    'detail-type': 'Parameter Store Change',
    source: 'aws.ssm',
    account: ACCOUNT,
    time,
    region: REGION,
    resources: [
      `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name.startsWith('/') ? name : `/${name}`}`,
    ],
    detail: { operation: 'Update', name, type: 'SecureString', description: '' },
  };
}

interface World {
  checkout: string;
  billing: string;
  legacy: string;
  cluster: string;
  topicQueue: string;
  busQueue: string;
  settings: Record<string, string>;
}

async function seedWorld(): Promise<World> {
  const { seed } = env;
  await seed.parameter(REGION, '/prod/db/password', 'old-value-1');
  await seed.parameter(REGION, '/ghost/token', 'old-value-2');
  const cluster = await seed.cluster(REGION, 'prod');
  const td = await seed.taskDefinition(REGION, 'app', [
    { name: 'app', secrets: { DB_PASSWORD: '/prod/db/password' } },
  ]);
  const ghostTd = await seed.taskDefinition(REGION, 'ghost', [
    { name: 'ghost', secrets: { TOKEN: '/ghost/token' } },
  ]);
  const checkout = await seed.service(REGION, cluster, 'checkout', td, {
    tasks: 2,
    tags: { 'rotation-watcher:action': 'redeploy' },
  });
  const billing = await seed.service(REGION, cluster, 'billing', td, { tasks: 1 });
  const legacy = await seed.service(REGION, cluster, 'legacy', td, {
    tasks: 1,
    tags: { 'rotation-watcher:action': 'ignore' },
  });
  // Tasks that claim a service which does not exist: redeploying it fails.
  await seed.runServiceTasksWithoutService(REGION, cluster, ghostTd, 'ghost');
  const topic = await seed.topicWithSubscriber(REGION, 'watcher-reports');
  const bus = await seed.busWithQueue(REGION, 'watcher-bus', 'rotation-watcher');
  return {
    checkout: checkout.arn,
    billing: billing.arn,
    legacy: legacy.arn,
    cluster,
    topicQueue: topic.queueUrl,
    busQueue: bus.queueUrl,
    settings: {
      WATCHER_SNS_TOPIC_ARN: topic.topicArn,
      WATCHER_SLACK_WEBHOOK_URL: slack.url,
      WATCHER_EVENT_BUS: bus.bus,
    },
  };
}

async function deploymentOf(world: World, service: string): Promise<string | undefined> {
  const ecs = new ECSClient({ region: REGION });
  const reply = await ecs.send(
    new DescribeServicesCommand({ cluster: world.cluster, services: [service] }),
  );
  ecs.destroy();
  return reply.services?.[0]?.deployments?.[0]?.id;
}

describe('simulate --apply against moto, end to end', () => {
  let world: World;
  beforeAll(async () => {
    await env.reset();
    world = await seedWorld();
  }, 60_000);
  beforeEach(async () => {
    slack.received.length = 0;
    slack.replies.length = 0;
    await env.seed.drain(REGION, world.topicQueue);
    await env.seed.drain(REGION, world.busQueue);
  });

  it('redeploys the tagged service once, notifies SNS, Slack and EventBridge, and a repeat changes nothing', async () => {
    const before = {
      checkout: await deploymentOf(world, 'checkout'),
      billing: await deploymentOf(world, 'billing'),
      legacy: await deploymentOf(world, 'legacy'),
    };
    await env.seed.parameter(REGION, '/prod/db/password', 'new-value-1');
    const file = await writeEvent(parameterEvent('/prod/db/password', 'evt-1'));
    const first = await cli(
      ['simulate', file, '--apply', '--json', '--region', REGION],
      undefined,
      undefined,
      world.settings,
    );
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const report = JSON.parse(first.stdout);
    const byName = Object.fromEntries(report.consumers.map((c: { name: string }) => [c.name, c]));
    expect(byName.checkout).toMatchObject({ stale: true, action: 'redeploy' });
    expect(byName.billing).toMatchObject({ stale: true, action: 'notify' });
    expect(byName.legacy).toMatchObject({ stale: true, action: 'ignore' });
    expect(report.actions.filter((a: { kind: string }) => a.kind === 'redeploy')).toEqual([
      {
        kind: 'redeploy',
        target: world.checkout,
        status: 'done',
        detail: expect.stringMatching(/^new deployment ecs-svc\//),
      },
    ]);
    expect(
      report.actions
        .filter((a: { kind: string }) => ['sns', 'slack', 'eventbridge'].includes(a.kind))
        .map((a: { kind: string; status: string }) => `${a.kind}:${a.status}`)
        .sort(),
    ).toEqual(['eventbridge:done', 'slack:done', 'sns:done']);

    const after = {
      checkout: await deploymentOf(world, 'checkout'),
      billing: await deploymentOf(world, 'billing'),
      legacy: await deploymentOf(world, 'legacy'),
    };
    expect(after.checkout).not.toBe(before.checkout);
    expect(after.billing).toBe(before.billing);
    expect(after.legacy).toBe(before.legacy);

    const sns = await env.seed.drain(REGION, world.topicQueue);
    expect(sns).toHaveLength(1);
    const envelope = JSON.parse(sns[0]?.body ?? '{}');
    expect(envelope.Subject).toMatch(
      /^rotation-watcher: 3 consumers still on the old \/prod\/db\/password, 1 restarted/,
    );
    expect(envelope.MessageAttributes.severity.Value).toBe('action');
    expect(JSON.parse(envelope.MessageAttributes.parameter.Value)).toEqual(['/prod/db/password']);
    expect(JSON.parse(envelope.Message).consumers).toHaveLength(3);

    expect(slack.received).toHaveLength(1);
    const message = slack.received[0] as {
      text: string;
      blocks: Array<{ type: string; text?: { text: string } }>;
    };
    expect(message.blocks[0]?.type).toBe('header');
    const body = message.blocks.map((block) => block.text?.text ?? '').join('\n');
    expect(body).toMatch(/\*redeploy\* done: new deployment ecs-svc\//);
    expect(body).toContain(
      'https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/checkout/health?region=us-east-1',
    );

    const bus = await env.seed.drain(REGION, world.busQueue);
    expect(bus).toHaveLength(1);
    const event = JSON.parse(bus[0]?.body ?? '{}');
    expect(event).toMatchObject({
      source: 'rotation-watcher',
      'detail-type': 'Rotation Watcher Run',
      detail: { severity: 'action' },
    });

    const second = await cli(
      ['simulate', file, '--apply', '--json', '--region', REGION],
      undefined,
      undefined,
      world.settings,
    );
    expect(second.code).toBe(0);
    const again = JSON.parse(second.stdout);
    expect(again.consumers.find((c: { name: string }) => c.name === 'checkout')).toMatchObject({
      stale: false,
      action: 'none',
      reason: expect.stringMatching(/after the change/),
    });
    expect(again.actions.filter((a: { kind: string }) => a.kind === 'redeploy')).toEqual([]);
    expect(await deploymentOf(world, 'checkout')).toBe(after.checkout);
  });

  it('redeploys once for ten deliveries of one change, each later than the last (late events, replays, re-sends)', async () => {
    await env.seed.parameter(REGION, '/prod/db/password', 'new-value-replayed');
    const before = await deploymentOf(world, 'checkout');
    const redeploys: string[] = [];
    for (let n = 0; n < 10; n++) {
      const time = new Date(Date.now() + 1000 + n * 60_000).toISOString();
      const file = await writeEvent(parameterEvent('/prod/db/password', `evt-replay-${n}`, time));
      const { code, stdout } = await cli(
        ['simulate', file, '--apply', '--json', '--region', REGION],
        undefined,
        undefined,
        world.settings,
      );
      expect(code).toBe(0);
      const report = JSON.parse(stdout);
      // Every delivery is judged by AWS's record of the change, not by its own time.
      expect(report.changes[0]).toMatchObject({ timeSource: 'aws', eventTime: time });
      redeploys.push(
        ...report.actions
          .filter(
            (a: { kind: string; status: string }) => a.kind === 'redeploy' && a.status === 'done',
          )
          .map((a: { target: string }) => a.target),
      );
    }
    expect(redeploys).toEqual([world.checkout]);
    expect(await deploymentOf(world, 'checkout')).not.toBe(before);
  }, 120_000);

  it('plans only, without --apply: nothing changes and nobody is told', async () => {
    await env.seed.parameter(REGION, '/prod/db/password', 'new-value-2');
    const before = await deploymentOf(world, 'checkout');
    const file = await writeEvent(parameterEvent('/prod/db/password', 'evt-2'));
    const { code, stdout } = await cli(
      ['simulate', file, '--json', '--region', REGION],
      undefined,
      undefined,
      world.settings,
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout).actions).toEqual([
      {
        kind: 'redeploy',
        target: world.checkout,
        status: 'planned',
        // The seeded images are pulled by tag: the plan says a redeploy pulls them again.
        detail: expect.stringMatching(
          /^redeploy by the service tag; note: a forced deployment pulls .* by tag again/,
        ),
      },
    ]);
    expect(await deploymentOf(world, 'checkout')).toBe(before);
    expect(slack.received).toHaveLength(0);
    expect(await env.seed.drain(REGION, world.topicQueue)).toHaveLength(0);
  });
});

describe('functions/on-change with SQS batches against moto', () => {
  let world: World;
  beforeAll(async () => {
    await env.reset();
    world = await seedWorld();
  }, 60_000);
  beforeEach(() => {
    slack.received.length = 0;
    slack.replies.length = 0;
    coldStart();
  });

  function useSettings(extra: Record<string, string> = {}) {
    for (const [key, value] of Object.entries({ ...world.settings, AWS_REGION: REGION, ...extra }))
      process.env[key] = value;
  }

  it('coalesces duplicates into one plan, reports a deleted service without retrying it, and names only unreadable records', async () => {
    useSettings({ WATCHER_DEFAULT_ACTION: 'redeploy' });
    await env.seed.parameter(REGION, '/prod/db/password', 'new-value-2');
    await env.seed.parameter(REGION, '/ghost/token', 'new-value-2');
    const time = new Date(Date.now() + 1000).toISOString();
    const db = parameterEvent('/prod/db/password', 'evt-db', time);
    const ghost = parameterEvent('/ghost/token', 'evt-ghost', time);
    const batch = sqsBatch(db, db, ghost, '{not json');
    const reply = await handler(batch);
    const ids = batch.Records.map((record) => record.messageId);
    // The ghost service no longer exists: that is no failure of the watcher, so its record is done.
    expect(reply).toEqual({ batchItemFailures: [{ itemIdentifier: ids[3] }] });
    expect(slack.received).toHaveLength(1);
    const text = JSON.stringify(slack.received[0]);
    expect(text).toMatch(/the service was deleted \(MISSING\)/);
    expect(text).toMatch(/\*redeploy\* done/);
    const sns = await env.seed.drain(REGION, world.topicQueue);
    expect(sns).toHaveLength(1);
    const report = JSON.parse(JSON.parse(sns[0]?.body ?? '{}').Message);
    const ghostConsumer = report.consumers.find((c: { name: string }) => c.name === 'ghost');
    expect(ghostConsumer).toMatchObject({ action: 'none', basis: 'service-gone' });
    expect(report.actions.filter((a: { status: string }) => a.status === 'failed')).toEqual([]);
  });

  it('retries every record whose run could not be told when Slack answers 500', async () => {
    useSettings();
    await env.seed.parameter(REGION, '/prod/db/password', 'new-value-3');
    slack.replies.push({ status: 500 }, { status: 500 }, { status: 500 });
    const event = parameterEvent(
      '/prod/db/password',
      'evt-slack-down',
      new Date(Date.now() + 1000).toISOString(),
    );
    const batch = sqsBatch(event);
    const reply = await handler(batch);
    expect(reply).toEqual({ batchItemFailures: [{ itemIdentifier: batch.Records[0]?.messageId }] });
    expect(slack.received).toHaveLength(0);
    expect(await env.seed.drain(REGION, world.topicQueue)).toHaveLength(1);
  });
});

describe('functions/sweep against moto: the safety net for missed events', () => {
  let world: World;
  beforeAll(async () => {
    await env.reset();
    world = await seedWorld();
  }, 60_000);

  it('redeploys a tagged service whose value changed with no event, and only once', async () => {
    for (const [key, value] of Object.entries({ ...world.settings, AWS_REGION: REGION }))
      process.env[key] = value;
    delete process.env.WATCHER_DEFAULT_ACTION;
    slack.received.length = 0;
    resetSweep();
    const billing = await deploymentOf(world, 'billing');
    const before = await deploymentOf(world, 'checkout');
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The rotation whose event never arrived.
    await env.seed.parameter(REGION, '/prod/db/password', 'rotated-silently');
    const first = await sweep();
    expect(first).toMatchObject({ complete: true });
    expect(first.stale).toBeGreaterThanOrEqual(3);
    const after = await deploymentOf(world, 'checkout');
    expect(after).not.toBe(before);
    // Untagged, under the default action (notify): told about, not restarted.
    expect(await deploymentOf(world, 'billing')).toBe(billing);
    expect(slack.received).toHaveLength(1);
    expect(JSON.stringify(slack.received[0])).toMatch(/\*redeploy\* done/);
    await sweep();
    expect(await deploymentOf(world, 'checkout')).toBe(after);
  });
});

async function writeEvent(event: unknown): Promise<string> {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const path = join(mkdtempSync(join(tmpdir(), 'rw-event-')), 'event.json');
  writeFileSync(path, JSON.stringify(event));
  return path;
}
