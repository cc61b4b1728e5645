// `npm run demo`: the whole product on a local emulated AWS account, in one command.
// Starts moto_server, seeds an account, rotates a parameter and a secret, hands the matching
// EventBridge events to the real on-change Lambda handler, shows what it found, did and said,
// runs `drift`, then follows the rotation to its end: the old tasks replaced, `wait` returning 0,
// the delayed follow-up, `Rotation Complete` on the bus, and `status` before and after. Then
// staged restarts: a healthy rotation goes out canary first, each wave only after the one before
// it completed and baked; a failing canary halts the waves with `Rotation Halted`, and putting
// the previous value back starts new waves. moto rolls nothing out: the demo does what ECS does
// (starts and stops tasks, ends rollouts on cue) and hands the watcher ECS's deployment events.
// Stops everything it started, also on Ctrl-C or failure.
import { randomUUID } from 'node:crypto';
import {
  DescribeServicesCommand,
  ECSClient,
  StopTaskCommand,
  TagResourceCommand,
} from '@aws-sdk/client-ecs';
import { AwsClients } from '../lib/aws/index.js';
import { RotationStore, recordPk } from '../lib/rotations/index.js';
import { type Moto, startMoto } from './moto.js';
import { ACCOUNT, Seeder, useEndpoint } from './seed.js';
import { type SlackStub, startSlackStub } from './slack-stub.js';

const REGION = 'us-east-1';
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const say = (text = '') => process.stdout.write(`${text}\n`);
const step = (n: number, text: string) => say(`\n${bold(`${n}. ${text}`)}`);

let moto: Moto | undefined;
let slack: SlackStub | undefined;
let seed: Seeder | undefined;
const failures: string[] = [];

async function cleanup(): Promise<void> {
  seed?.destroy();
  await slack?.stop().catch(() => undefined);
  await moto?.stop().catch(() => undefined);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`\n${signal}: stopping the emulator and the Slack stand-in.`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** Records a check the demo promises; the exit code is 0 only if every one held. */
function check(ok: boolean, what: string): void {
  say(`   ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

async function main(): Promise<void> {
  step(1, 'Start a local emulated AWS account');
  // ECS as AWS shows it where moto 5.2 does not (scripts/moto-ecs.py): tasks get the createdAt
  // AWS always returns, so that a task started after the rotation is fresh; StopTask says who
  // stopped a task; a forced deployment rolls out (IN_PROGRESS), and completes or fails on cue.
  moto = await startMoto({ ecs: true });
  useEndpoint(moto.endpoint, REGION);
  slack = await startSlackStub();
  say(
    `   moto_server on ${moto.endpoint} (account ${ACCOUNT}); a Slack webhook stand-in on ${new URL(slack.url).host}`,
  );

  step(2, 'Seed it: two clusters, four consumers, every spelling of a reference');
  seed = new Seeder();
  await seed.parameter(REGION, '/prod/db/password', 'demo-password-v1');
  await seed.parameter(REGION, 'payments-api-key', 'demo-key-v1');
  await seed.parameter(REGION, '/observability/datadog-key', 'demo-dd-v1');
  const secretArn = await seed.secret(
    REGION,
    'prod/db-creds',
    JSON.stringify({ username: 'app', password: 'demo-v1' }),
  );
  const payments = await seed.cluster(REGION, 'payments');
  const web = await seed.cluster(REGION, 'web');
  const checkoutTd = await seed.taskDefinition(REGION, 'checkout', [
    {
      name: 'checkout',
      secrets: {
        DB_PASSWORD: '/prod/db/password',
        API_KEY: 'payments-api-key',
        DB_USER: `${secretArn}:username::`,
      },
      logSecrets: {
        apikey: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/observability/datadog-key`,
      },
    },
  ]);
  const workerTd = await seed.taskDefinition(REGION, 'worker', [
    {
      name: 'worker',
      secrets: { DB_PASSWORD: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/prod/db/password` },
    },
  ]);
  const reportsTd = await seed.taskDefinition(REGION, 'reports', [
    { name: 'reports', secrets: { DB_PASSWORD: 'prod/db/password' } },
  ]);
  const checkout = await seed.service(REGION, payments, 'checkout', checkoutTd, {
    tasks: 2,
    tags: { 'rotation-watcher:action': 'redeploy' },
  });
  const worker = await seed.service(REGION, web, 'worker', workerTd, { tasks: 1 });
  const reports = await seed.service(REGION, web, 'reports', reportsTd, {
    tasks: 1,
    tags: { 'rotation-watcher:action': 'ignore' },
  });
  const cron = await seed.standaloneTask(REGION, web, workerTd);
  const queue = await seed.jobQueue(REGION, 'nightly');
  await seed.jobDefinition(REGION, 'nightly-report', {
    image: 'busybox',
    vcpus: 1,
    memory: 512,
    secrets: [{ name: 'DB_PASSWORD', valueFrom: '/prod/db/password' }],
  });
  const topic = await seed.topicWithSubscriber(REGION, 'rotation-watcher-reports');
  // The stack's state table, changes queue (for delayed follow-ups) and an event bus whose rule
  // sends the watcher's events to a queue, as a rotation pipeline would subscribe.
  const table = await seed.stateTable(REGION, 'rotation-watcher-state');
  const changes = await seed.queue(REGION, 'rotation-watcher-changes');
  const bus = await seed.busWithQueue(REGION, 'rotation-watcher', 'rotation-watcher');
  say('   cluster payments: service checkout (2 tasks, tagged rotation-watcher:action=redeploy)');
  say(
    '   cluster web:      service worker (untagged: the default action, notify), service reports (tagged ignore),',
  );
  say('                     and a standalone task started by a cron job');
  say(
    '   spellings: /prod/db/password, prod/db/password, the parameter ARN, a log-driver secretOption,',
  );
  say('              a bare name (payments-api-key), a Secrets Manager ARN with a JSON key');
  say(
    `   Batch queue ${queue.split('/').pop()} with job definition nightly-report (moto runs jobs to completion at once, so none is live)`,
  );
  say('   an SNS topic with a subscriber queue, and the Slack stand-in');
  say(
    '   the state table, the changes queue, and an event bus with a rule sending its events to a queue',
  );

  step(
    3,
    'Rotate /prod/db/password and the secret prod/db-creds; hand the events to functions/on-change',
  );
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  await seed.parameter(REGION, '/prod/db/password', 'demo-password-v2');
  const versionId = await seed.rotateSecret(
    REGION,
    'prod/db-creds',
    JSON.stringify({ username: 'app', password: 'demo-v2' }),
  );
  const now = new Date().toISOString();
  const events = [
    {
      version: '0',
      id: 'demo-parameter-change',
      'detail-type': 'Parameter Store Change',
      source: 'aws.ssm',
      account: ACCOUNT,
      time: now,
      region: REGION,
      resources: [`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/prod/db/password`],
      detail: {
        operation: 'Update',
        name: '/prod/db/password',
        type: 'SecureString',
        description: '',
      },
    },
    {
      version: '0',
      id: 'demo-secret-rotation',
      'detail-type': 'Secret Label Updated',
      source: 'aws.secretsmanager',
      account: ACCOUNT,
      time: now,
      region: REGION,
      resources: [secretArn],
      detail: { name: 'prod/db-creds', labelUpdated: 'AWSCURRENT', versionId },
    },
  ];
  const batch = sqsBatch(events, 'event');
  Object.assign(process.env, {
    WATCHER_SNS_TOPIC_ARN: topic.topicArn,
    WATCHER_SLACK_WEBHOOK_URL: slack.url,
    WATCHER_STATE_TABLE: table,
    WATCHER_QUEUE_URL: changes.url,
    WATCHER_EVENT_BUS: bus.bus,
    // How long a wave of staged restarts runs with no task failing before the next wave goes
    // (default 5m): 5 s, so that the demo's waves go out in seconds (steps 14 to 22).
    WATCHER_BAKE: `${BAKE_S}s`,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const before = await deploymentOf(payments, 'checkout');
  const { handler } = await import('../functions/on-change.js');
  const reply = (await handler(batch)) as { batchItemFailures: unknown[] };
  say(
    `   the handler took an SQS batch of ${batch.Records.length} events and answered ${JSON.stringify(reply)} (no record to retry)`,
  );
  check(reply.batchItemFailures.length === 0, 'every record was handled');

  const published = await seed.drain(REGION, topic.queueUrl);
  check(published.length === 1, 'one SNS message for the run');
  const envelope = JSON.parse(published[0]?.body ?? '{}');
  const report = JSON.parse(envelope.Message ?? '{}') as Report;

  step(4, 'What it found, and why');
  for (const change of report.changes)
    say(
      `   change: ${change.service === 'ssm' ? 'parameter' : 'secret'} ${change.name} (${change.operation} at ${change.changedAt})`,
    );
  for (const consumer of report.consumers) {
    const refs = consumer.references
      .map((ref) => `${ref.name ?? ref.field}=${ref.valueFrom}`)
      .join(', ');
    say(
      `   ${consumer.kind.padEnd(12)} ${consumer.name.padEnd(44)} stale: ${consumer.stale ? 'yes' : 'no '}  via ${refs}`,
    );
    say(`   ${''.padEnd(12)} ${''.padEnd(44)} ${consumer.staleReason}`);
  }
  check(
    report.consumers.length === 4,
    'four consumers found (checkout, worker, reports, the standalone task)',
  );

  step(5, 'The plan, and what was done');
  for (const consumer of report.consumers)
    say(`   ${consumer.name.padEnd(44)} → ${consumer.action.padEnd(8)} ${consumer.reason}`);
  for (const action of report.actions) say(`   ${action.kind} ${action.status}: ${action.detail}`);
  const after = await deploymentOf(payments, 'checkout');
  say(`   checkout's deployment, read back from the emulator: ${before} → ${after}`);
  check(before !== after && Boolean(after), 'the tagged service checkout has a new deployment');
  check(
    report.actions.filter((action) => action.kind === 'redeploy').length === 1,
    'exactly one redeploy (two changes touched checkout)',
  );

  step(6, 'The Slack message, as a person on call sees it');
  check(slack.received.length === 1, 'one Slack message for the run');
  say(renderSlack(slack.received[0]).replace(/^/gm, '   │ '));

  step(7, 'The SNS message received by the subscriber queue');
  say(`   Subject: ${envelope.Subject}`);
  say(
    `   Attributes: severity=${envelope.MessageAttributes?.severity?.Value}, parameter=${envelope.MessageAttributes?.parameter?.Value}`,
  );
  say(
    '   (e-mail subscribers get a text rendering; queues, Lambdas and HTTPS endpoints get the JSON report)',
  );

  step(
    8,
    'rotation-watcher drift --all: checkout is being replaced by its redeploy, the notified ones are still stale',
  );
  const { run } = await import('../lib/cli/main.js');
  let drift = '';
  const code = await run(['drift', '--all', '--region', REGION], {
    out: (text) => (drift += text),
    err: (text) => process.stderr.write(text),
    interactive: false,
  });
  say(drift.replace(/^/gm, '   '));
  check(code === 0, 'drift answered in full (exit 0)');
  check(
    /ecs-service\s+checkout\s+\d+\s+(replacing|fresh)\b/.test(drift),
    'checkout is no longer stale: its redeploy is replacing its tasks',
  );
  check(
    /ecs-service\s+worker\s+\d+\s+stale\s+notify/.test(drift),
    'worker is still stale, to be notified',
  );
  await drain(bus.queueUrl);

  step(9, 'rotation-watcher status /prod/db/password: the rotation record the run opened');
  const cli = async (args: string[]) => {
    let out = '';
    const code = await run(args, {
      out: (text) => (out += text),
      err: (text) => (out += text),
      interactive: false,
    });
    return { code, out };
  };
  const opened = await cli(['status', '/prod/db/password', '--region', REGION]);
  say(opened.out.replace(/^/gm, '   ').trimEnd());
  check(/\bopen\b/.test(opened.out), 'the record is open: consumers still hold the old value');
  const delayed = await seed.delayed(REGION, changes.url);
  say(`   follow-ups waiting in the changes queue (delayed 15 minutes): ${delayed}`);
  check(delayed === 2, 'a follow-up scheduled for each of the two rotations');

  step(10, 'The old tasks go: ECS finishes the redeploy; a person replaces the notify-only ones');
  const ecs = seed.ecs(REGION);
  const stop = (cluster: string, task: string, reason: string) =>
    ecs.send(new StopTaskCommand({ cluster, task, reason }));
  const rollout = (await deploymentOf(payments, 'checkout')) as string;
  await seed.serviceTasks(REGION, payments, 'checkout', checkoutTd, 2, rollout);
  for (const task of checkout.tasks) await stop(payments, task, 'replaced by deployment');
  // Its rollout completes (the cue scripts/moto-ecs.py reads: moto rolls nothing out).
  await ecs.send(
    new TagResourceCommand({
      resourceArn: checkout.arn,
      tags: [{ key: 'moto:rollout', value: 'COMPLETED' }],
    }),
  );
  say(
    `   checkout: ECS started 2 tasks of deployment ${rollout}, stopped the 2 old ones, and the rollout COMPLETED`,
  );
  say('   (moto runs no scheduler: the demo does what ECS does after UpdateService)');
  for (const [name, service, td] of [
    ['worker', worker, workerTd],
    ['reports', reports, reportsTd],
  ] as const) {
    for (const task of service.tasks) await stop(web, task, 'stopped by hand after the rotation');
    await seed.serviceTasks(REGION, web, name, td, 1, service.deploymentId);
    say(`   ${name}: a person stopped its task; the service started a new one`);
  }
  await stop(web, cron, 'stopped by hand after the rotation');
  await seed.standaloneTask(REGION, web, workerTd);
  say('   the cron task: a person stopped it and ran it again');

  step(11, 'rotation-watcher wait /prod/db/password: is anything still on the old value?');
  const waited = await cli([
    'wait',
    '/prod/db/password',
    '--region',
    REGION,
    '--timeout',
    '2m',
    '--interval',
    '2s',
  ]);
  say(waited.out.replace(/^/gm, '   ').trimEnd());
  say(`   exit code ${waited.code}`);
  check(waited.code === 0, 'wait exited 0: no running consumer holds the old value');

  step(12, 'Fifteen minutes later, the follow-ups arrive: the rotation is complete');
  const store = new RotationStore({ table, region: REGION, clients: new AwsClients() });
  // The messages the watcher sent: each names its record and the link of the record's one chain.
  const followUps = await Promise.all(
    (await store.tracked()).map(async ({ pk, sk }) => ({
      'rotation-watcher': 'follow-up',
      pk,
      sk,
      chain: (await store.get(pk, sk))?.nextLook,
    })),
  );
  say(
    `   the changes queue delivers the ${followUps.length} delayed follow-ups (the demo hands them over now) to functions/on-change`,
  );
  const followed = (await handler(sqsBatch(followUps, 'follow-up'))) as {
    batchItemFailures: unknown[];
  };
  check(followed.batchItemFailures.length === 0, 'every follow-up was handled');
  const signals = (await drain(bus.queueUrl))
    .map((body) => JSON.parse(body) as Signal)
    .filter((event) => event['detail-type'] === 'Rotation Complete');
  for (const event of signals) {
    const { value, closedAt, consumers } = event.detail;
    say(
      `   ${event['detail-type']} (source ${event.source}) on the bus's queue: ${value.name}, version ${value.version}, changed ${value.changedAt}, complete ${closedAt}`,
    );
    for (const consumer of consumers)
      say(`     ${consumer.kind.padEnd(12)} ${consumer.name.padEnd(44)} ${consumer.state}`);
  }
  check(
    signals
      .map((event) => event.detail.value.name)
      .sort()
      .join(',') === '/prod/db/password,prod/db-creds',
    'Rotation Complete received for the parameter and for the secret',
  );
  const said = slack.received.filter((message) =>
    /^Rotation complete/.test((message as { text?: string }).text ?? ''),
  );
  check(said.length === 2, 'Slack told of both, one short message each');

  step(13, 'rotation-watcher status /prod/db/password, after');
  const closed = await cli(['status', '/prod/db/password', '--region', REGION]);
  say(closed.out.replace(/^/gm, '   ').trimEnd());
  check(/\bcomplete\b/.test(closed.out), 'the record is complete');

  await stagedRestarts({
    handler,
    cli,
    store,
    topicQueue: topic.queueUrl,
    busQueue: bus.queueUrl,
    slack,
  });
}

// ---- Staged restarts (steps 14 to 22): a canary first, then waves; a failing canary halts ----

/**
 * WATCHER_BAKE for the demo (the default is 5m): each wave runs this long before the next.
 * DEMO_BAKE_SECONDS changes it (its test runs with 2).
 */
const BAKE_S = Math.max(1, Number(process.env.DEMO_BAKE_SECONDS ?? 5) || 5);
const TOKEN = '/prod/api/token';
const WEBHOOK = '/prod/payments/webhook-secret';
const REDEPLOY = { 'rotation-watcher:action': 'redeploy' };
/** What ECS's circuit breaker says of a deployment whose tasks could not start. */
const BREAKER = 'ECS deployment circuit breaker: tasks failed to start.';
/** Why the canary's new task stopped: its execution role may not decrypt the new version. */
const CANNOT_DECRYPT = `ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): AccessDeniedException: The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access. (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: 6b1f0f4e-3c1d-4a8e-9d2b-7f5f0c2a9e41)`;

interface Staging {
  handler: (payload: unknown) => Promise<unknown>;
  cli: (args: string[]) => Promise<{ code: number; out: string }>;
  store: RotationStore;
  topicQueue: string;
  busQueue: string;
  slack: SlackStub;
}

/** A service of the staged steps: its deployment as the demo last saw it, and its running tasks. */
interface DemoService {
  name: string;
  cluster: string;
  arn: string;
  taskDefinition: string;
  count: number;
  deployment: string;
  tasks: string[];
}

/** A restart seen in the emulator: the service and its new deployment, begun at `at`. */
interface Restart {
  service: DemoService;
  deployment: string;
  at: number;
}

async function stagedRestarts(ctx: Staging): Promise<void> {
  const s = seed as Seeder;

  step(14, 'Staged restarts: two more values, each read by services tagged redeploy');
  await s.parameter(REGION, TOKEN, 'demo-token-v1');
  await s.parameter(REGION, WEBHOOK, 'demo-webhook-v1');
  const shop = await s.cluster(REGION, 'shop');
  const billing = await s.cluster(REGION, 'billing');
  const token = await demoServices(shop, 'API_TOKEN', TOKEN, [
    ['search', 1],
    ['cart', 2],
    ['orders', 2],
    ['profile', 3],
  ]);
  const webhook = await demoServices(billing, 'WEBHOOK_SECRET', WEBHOOK, [
    ['invoices', 1],
    ['refunds', 2],
    ['payouts', 2],
  ]);
  say(`   cluster shop:    ${list(token)}, each reading ${TOKEN}`);
  say(`   cluster billing: ${list(webhook)}, each reading ${WEBHOOK}`);
  say('   every one tagged rotation-watcher:action=redeploy');
  say(
    `   WATCHER_WAVES is the default, 1,25%,100%: a canary (the fewest running tasks), then 25% of the rest, then the rest;`,
  );
  say(
    `   WATCHER_BAKE is ${BAKE_S}s here (the default is 5m): how long a wave runs with no task failing before the next goes`,
  );

  // ---- a healthy rotation ----
  step(15, `Rotate ${TOKEN}; hand the event to functions/on-change: only the canary goes`);
  await pause(1_100);
  await s.parameter(REGION, TOKEN, 'demo-token-v2');
  await quiet(ctx);
  await hand(ctx, [parameterEvent(TOKEN, 'demo-token-rotation')], 'token');
  const rotation = await newest(ctx.store, TOKEN);
  const t0 = Date.parse(rotation?.value.changedAt ?? new Date().toISOString());
  const timeline: string[] = [];
  const since = (at: number) => `+${((at - t0) / 1000).toFixed(1).padStart(5)} s`;
  const note = (at: number, text: string) => timeline.push(`   ${since(at)}  ${text}`);
  const first = await report(ctx);
  for (const action of first?.actions ?? [])
    say(`   ${action.kind} ${action.status}: ${name(action.target)}: ${action.detail}`);
  let wave = await restarted(token);
  const waveOf = async (restart: Restart) => {
    const record = await newest(ctx.store, TOKEN);
    const found = record?.waves?.restarts.find((r) => r.arn === restart.service.arn);
    return found ? found.wave + 1 : 0;
  };
  const noteRestarts = async (restarts: Restart[]) => {
    for (const restart of restarts) {
      const number = await waveOf(restart);
      note(
        restart.at,
        `wave ${number}${number === 1 ? ' (canary)' : ''}: ${restart.service.name} (${restart.service.count} task${restart.service.count === 1 ? '' : 's'}) redeployed, deployment ${restart.deployment}`,
      );
    }
  };
  await noteRestarts(wave);
  check(
    names(wave) === 'search',
    'only the canary, search (1 task, the fewest), was redeployed; cart, orders and profile were held back',
  );
  check(
    (first?.actions ?? []).filter(
      (action) => action.status === 'skipped' && /waits for a later wave/.test(action.detail),
    ).length === 3,
    'the three others are held back, each saying it waits for a later wave',
  );

  const expected = ['cart', 'orders,profile'];
  for (const [index, next] of expected.entries()) {
    const number = index + 1;
    step(
      15 + number,
      `ECS completes wave ${number}'s rollout${wave.length > 1 ? 's' : ''}; after the bake, the follow-up lets wave ${number + 1} go`,
    );
    await complete(ctx, wave, note);
    await followUp(ctx, TOKEN);
    check(
      (await restarted(token)).length === 0,
      `wave ${number + 1} waits while wave ${number} bakes (a follow-up during the bake sent nothing)`,
    );
    const baked = await bakedUntil(ctx.store, TOKEN, index);
    say(
      `   wave ${number} settled; it bakes until ${baked ?? '?'} (${BAKE_S} s with no task of its deployments failing)`,
    );
    await pause(Math.max(0, Date.parse(baked ?? '') - Date.now()) + 300);
    await followUp(ctx, TOKEN);
    wave = await restarted(token);
    await noteRestarts(wave);
    for (const restart of wave)
      say(`   ${restart.service.name}: redeployed, deployment ${restart.deployment}`);
    check(
      names(wave) === next,
      `wave ${number + 1} went only after wave ${number} completed and baked: ${next.replace(',', ' and ')}`,
    );
  }

  step(18, 'ECS completes the last wave; after its bake, the rotation is complete');
  await complete(ctx, wave, note);
  const shown = await ctx.cli(['status', TOKEN, '--region', REGION]);
  say(`   rotation-watcher status ${TOKEN}, while the last wave bakes:`);
  say(shown.out.replace(/^/gm, '   ').trimEnd());
  check(
    /^\s*1 canary\s+1\b/m.test(shown.out) &&
      /^\s*2\s+1\b/m.test(shown.out) &&
      /^\s*3\s+2\b/m.test(shown.out),
    'status shows the three waves: the canary (1), then 1, then 2',
  );
  const lastBake = await bakedUntil(ctx.store, TOKEN, 2);
  await pause(Math.max(0, Date.parse(lastBake ?? '') - Date.now()) + 300);
  await followUp(ctx, TOKEN);
  check((await restarted(token)).length === 0, 'no service was redeployed twice');
  const done = await newest(ctx.store, TOKEN);
  note(
    Date.parse(done?.closedAt ?? new Date().toISOString()),
    'the follow-up after the last bake: the rotation is complete',
  );
  say(`   the timeline of ${TOKEN} (seconds since the rotation at ${rotation?.value.changedAt}):`);
  for (const line of timeline) say(line);
  check(
    (done?.waves?.waves ?? []).every(
      (w) => w.bakedAt !== null && w.bakedAt <= (done?.closedAt ?? ''),
    ) && (done?.waves?.restarts ?? []).every((r) => r.state === 'settled'),
    'every restart settled and every wave baked',
  );
  check(done?.status === 'complete', 'the rotation record is complete');
  const completeSignals = (await drain(ctx.busQueue))
    .map((body) => JSON.parse(body) as Signal)
    .filter((event) => event['detail-type'] === 'Rotation Complete');
  check(
    completeSignals.some((event) => event.detail.value.name === TOKEN),
    `Rotation Complete received for ${TOKEN}`,
  );

  // ---- a failing canary ----
  step(19, `Rotate ${WEBHOOK}; hand the event: again only the canary goes`);
  await pause(1_100);
  await s.parameter(REGION, WEBHOOK, 'demo-webhook-v2');
  await quiet(ctx);
  await hand(ctx, [parameterEvent(WEBHOOK, 'demo-webhook-rotation')], 'webhook');
  const second = await report(ctx);
  for (const action of second?.actions ?? [])
    say(`   ${action.kind} ${action.status}: ${name(action.target)}: ${action.detail}`);
  const canary = await restarted(webhook);
  check(names(canary) === 'invoices', 'only the canary, invoices (1 task), was redeployed');

  step(20, "The canary's new task cannot start: ECS's circuit breaker fails the deployment");
  const [failing] = canary;
  if (!failing) throw new Error('no canary to fail');
  await s.serviceTasks(
    REGION,
    failing.service.cluster,
    failing.service.name,
    failing.service.taskDefinition,
    1,
    failing.deployment,
  );
  await cue(failing.service, 'FAILED', BREAKER, CANNOT_DECRYPT);
  say(
    `   invoices: ECS started 1 task of ${failing.deployment}; it stopped (TaskFailedToStart: ${CANNOT_DECRYPT.slice(0, 96)}…)`,
  );
  say(`   the deployment: FAILED, "${BREAKER}"; the old task still serves on the old value`);
  const failedAt = (await primaryOf(failing.service))?.updatedAt?.getTime() ?? Date.now();
  await hand(ctx, [deploymentEvent(failing, 'SERVICE_DEPLOYMENT_FAILED', BREAKER)], 'failed');
  say(
    '   ECS Deployment State Change SERVICE_DEPLOYMENT_FAILED (eventType ERROR) handed to the watcher',
  );
  const halted = (await drain(ctx.busQueue))
    .map((body) => JSON.parse(body) as HaltedSignal)
    .filter((event) => event['detail-type'] === 'Rotation Halted');
  const [event] = halted;
  const changed = Date.parse(event?.detail.value.changedAt ?? new Date().toISOString());
  const plus = (at: number) => `+${((at - changed) / 1000).toFixed(1).padStart(5)} s`;
  say(
    `   the timeline of ${WEBHOOK} (seconds since the rotation at ${event?.detail.value.changedAt}):`,
  );
  say(
    `   ${plus(failing.at)}  wave 1 (canary): invoices (1 task) redeployed, deployment ${failing.deployment}`,
  );
  say(
    `   ${plus(failedAt)}  invoices: its new task stopped (TaskFailedToStart); the rollout FAILED`,
  );
  say(
    `   ${plus(Date.parse(event?.detail.halt?.at ?? ''))}  Rotation Halted: refunds and payouts are not redeployed`,
  );
  say("   Rotation Halted, as received on the bus's queue:");
  if (event) say(JSON.stringify(event, null, 2).replace(/^/gm, '   │ '));
  check(halted.length === 1, "Rotation Halted received once on the bus's queue");
  check(
    event?.detail.halt?.name === 'invoices' &&
      event.detail.halt.ref === failing.deployment &&
      event.detail.halt.reason.includes('circuit breaker') &&
      event.detail.halt.stopped.some((reason) => reason.startsWith('ResourceInitializationError')),
    "it names the canary, its deployment, ECS's reason and the stopped task's reason",
  );
  const left = (event?.detail.consumers ?? [])
    .filter((consumer) => consumer.state !== 'replaced-by-watcher')
    .map((consumer) => consumer.name)
    .sort();
  check(
    ['payouts', 'refunds'].every((service) => left.includes(service)),
    'it names the consumers left on the old value (refunds, payouts)',
  );
  const alarms = (await s.drain(REGION, ctx.topicQueue))
    .map((message) => JSON.parse(message.body) as Envelope)
    .filter((message) => message.Subject?.includes('Rotation Halted'));
  for (const alarm of alarms)
    say(`   SNS: Subject: ${alarm.Subject}; severity=${alarm.MessageAttributes?.severity?.Value}`);
  check(
    alarms.length === 1 && alarms[0]?.MessageAttributes?.severity?.Value === 'alarm',
    'the SNS topic got it, as an alarm',
  );
  const slackHalt = ctx.slack.received.filter((message) =>
    /Rotation halted/.test(JSON.stringify(message)),
  );
  for (const message of slackHalt) say(renderSlack(message).replace(/^/gm, '   │ '));
  check(slackHalt.length === 1, 'Slack got it');

  step(21, 'Nothing more goes: the waves are halted until a person decides');
  const haltedStatus = await ctx.cli(['status', WEBHOOK, '--region', REGION]);
  say(haltedStatus.out.replace(/^/gm, '   ').trimEnd());
  check(/\bhalted\b/.test(haltedStatus.out), 'status says the waves are halted');
  await followUp(ctx, WEBHOOK);
  await hand(ctx, [parameterEvent(WEBHOOK, 'demo-webhook-rotation')], 'again');
  for (const service of webhook.filter((service) => service.name !== 'invoices')) {
    const now = await primaryOf(service);
    say(
      `   ${service.name}: deployment ${now?.id} (${now?.rolloutState}), created ${now?.createdAt?.toISOString()}, before the rotation`,
    );
  }
  check(
    (await restarted(webhook)).length === 0,
    'refunds and payouts were not redeployed (read back from the emulator), even after a follow-up and the event again',
  );

  step(22, 'Undo: put the previous value back; the new change starts its own waves, canary first');
  await pause(1_100);
  await s.parameter(REGION, WEBHOOK, 'demo-webhook-v1');
  await quiet(ctx);
  await hand(ctx, [parameterEvent(WEBHOOK, 'demo-webhook-undo')], 'undo');
  say(
    `   ${WEBHOOK} version 3 holds the previous value again (ECS's rollback would not have helped: it reads the parameter by name)`,
  );
  const undo = await restarted(webhook);
  for (const restart of undo)
    say(`   ${restart.service.name}: redeployed, deployment ${restart.deployment}`);
  check(names(undo) === 'invoices', 'the canary, invoices, goes first again; the others wait');
  const [fixed, old] = await ctx.store.list(
    recordPk({
      service: 'ssm',
      region: REGION,
      account: ACCOUNT,
      name: WEBHOOK,
      versionStage: null,
    }),
  );
  check(
    fixed?.value.version === '3' &&
      fixed.waves?.status === 'rolling' &&
      old?.status === 'superseded',
    'the new record (version 3) rolls its own waves; the halted one is superseded',
  );
  const after = await ctx.cli(['status', WEBHOOK, '--region', REGION]);
  say(after.out.replace(/^/gm, '   ').trimEnd());
}

/** Services in `cluster`, each with its task definition reading `value` as `env`, tagged redeploy. */
async function demoServices(
  cluster: string,
  env: string,
  value: string,
  specs: Array<[string, number]>,
): Promise<DemoService[]> {
  const s = seed as Seeder;
  const out: DemoService[] = [];
  for (const [name, count] of specs) {
    const taskDefinition = await s.taskDefinition(REGION, name, [
      { name, secrets: { [env]: value } },
    ]);
    const made = await s.service(REGION, cluster, name, taskDefinition, {
      tasks: count,
      tags: REDEPLOY,
    });
    out.push({
      name,
      cluster,
      arn: made.arn,
      taskDefinition,
      count,
      deployment: made.deploymentId,
      tasks: made.tasks,
    });
  }
  return out;
}

const list = (services: DemoService[]) =>
  services.map((service) => `${service.name} (${service.count})`).join(', ');
const names = (restarts: Restart[]) =>
  restarts
    .map((restart) => restart.service.name)
    .sort()
    .join(',');
const name = (arn: string | undefined) => arn?.split('/').at(-1) ?? '?';

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The service's PRIMARY deployment, read back from the emulator. */
async function primaryOf(service: DemoService) {
  const reply = await (seed as Seeder)
    .ecs(REGION)
    .send(new DescribeServicesCommand({ cluster: service.cluster, services: [service.arn] }));
  const deployments = reply.services?.[0]?.deployments ?? [];
  return deployments.find((d) => d.status === 'PRIMARY') ?? deployments[0];
}

/** The services whose PRIMARY deployment changed since the demo last looked: the watcher redeployed them. */
async function restarted(services: DemoService[]): Promise<Restart[]> {
  const out: Restart[] = [];
  for (const service of services) {
    const primary = await primaryOf(service);
    if (!primary?.id || primary.id === service.deployment) continue;
    service.deployment = primary.id;
    out.push({ service, deployment: primary.id, at: primary.createdAt?.getTime() ?? Date.now() });
  }
  return out;
}

/** Ends a service's rollout in the emulator (the tag moto:rollout, scripts/moto-ecs.py). */
async function cue(
  service: DemoService,
  state: 'COMPLETED' | 'FAILED',
  reason?: string,
  stoppedReason?: string,
): Promise<void> {
  const tags: Array<{ key: string; value: string }> = [{ key: 'moto:rollout', value: state }];
  if (reason) tags.push({ key: 'moto:reason', value: reason });
  if (stoppedReason) tags.push({ key: 'moto:stopped-reason', value: stoppedReason });
  await (seed as Seeder)
    .ecs(REGION)
    .send(new TagResourceCommand({ resourceArn: service.arn, tags }));
}

/**
 * What ECS does for each restart of a wave (moto runs no scheduler): starts the new deployment's
 * tasks, stops the old ones, completes the rollout; then hands the watcher ECS's events.
 */
async function complete(
  ctx: Staging,
  wave: Restart[],
  note: (at: number, text: string) => void,
): Promise<void> {
  const s = seed as Seeder;
  for (const { service, deployment } of wave) {
    const started = await s.serviceTasks(
      REGION,
      service.cluster,
      service.name,
      service.taskDefinition,
      service.count,
      deployment,
    );
    for (const task of service.tasks)
      await s.ecs(REGION).send(
        new StopTaskCommand({
          cluster: service.cluster,
          task,
          reason: `Scaling activity initiated by (deployment ${deployment})`,
        }),
      );
    service.tasks = started;
    await cue(service, 'COMPLETED');
    const now = await primaryOf(service);
    note(
      now?.updatedAt?.getTime() ?? Date.now(),
      `${service.name}: rollout COMPLETED (${service.count} new task${service.count === 1 ? '' : 's'}, the old ones stopped)`,
    );
    say(
      `   ${service.name}: ECS started ${service.count} task${service.count === 1 ? '' : 's'} of ${deployment}, stopped the old ones; ${now?.rolloutStateReason}`,
    );
  }
  await hand(
    ctx,
    wave.map((restart) =>
      deploymentEvent(
        restart,
        'SERVICE_DEPLOYMENT_COMPLETED',
        `ECS deployment ${restart.deployment} completed.`,
      ),
    ),
    'completed',
  );
  say(
    `   ECS Deployment State Change SERVICE_DEPLOYMENT_COMPLETED handed to the watcher (${wave.length} event${wave.length === 1 ? '' : 's'}): the bake begins`,
  );
}

/** Hands bodies to the handler as one SQS batch; a record handed back is a failed check. */
async function hand(ctx: Staging, bodies: unknown[], id: string): Promise<void> {
  const reply = (await ctx.handler(sqsBatch(bodies, id))) as { batchItemFailures: unknown[] };
  if (reply.batchItemFailures.length > 0)
    check(false, `the handler handed back ${JSON.stringify(reply.batchItemFailures)} (${id})`);
}

/** The value's record's follow-up, as its chain brings it back (step 12 hands them the same way). */
async function followUp(ctx: Staging, value: string): Promise<void> {
  const record = await newest(ctx.store, value);
  if (!record) throw new Error(`no rotation record of ${value}`);
  await hand(
    ctx,
    [{ 'rotation-watcher': 'follow-up', pk: record.pk, sk: record.sk, chain: record.nextLook }],
    'follow-up',
  );
}

async function newest(store: RotationStore, value: string) {
  const [record] = await store.list(
    recordPk({ service: 'ssm', region: REGION, account: ACCOUNT, name: value, versionStage: null }),
  );
  return record;
}

async function bakedUntil(store: RotationStore, value: string, wave: number) {
  return (await newest(store, value))?.waves?.waves[wave]?.bakedAt ?? null;
}

/** Empties what the channels received so far, so that a step reads only its own. */
async function quiet(ctx: Staging): Promise<void> {
  await (seed as Seeder).drain(REGION, ctx.topicQueue);
  await drain(ctx.busQueue);
}

/** The run report the SNS topic received last (the subscriber queue is emptied). */
async function report(ctx: Staging): Promise<Report | undefined> {
  const messages = (await (seed as Seeder).drain(REGION, ctx.topicQueue)).map(
    (message) => JSON.parse(message.body) as Envelope,
  );
  const last = messages.filter((message) => !message.Subject?.includes('Rotation')).at(-1);
  return last ? (JSON.parse(last.Message) as Report) : undefined;
}

function parameterEvent(value: string, id: string) {
  return {
    version: '0',
    id,
    'detail-type': 'Parameter Store Change',
    source: 'aws.ssm',
    account: ACCOUNT,
    time: awsTime(new Date()),
    region: REGION,
    resources: [`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${value}`],
    detail: { operation: 'Update', name: value, type: 'SecureString', description: '' },
  };
}

/**
 * `ECS Deployment State Change`, as AWS documents it:
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
 */
function deploymentEvent(restart: Restart, eventName: string, reason: string) {
  const time = awsTime(new Date());
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'ECS Deployment State Change',
    source: 'aws.ecs',
    account: ACCOUNT,
    time,
    region: REGION,
    resources: [restart.service.arn],
    detail: {
      eventType: eventName === 'SERVICE_DEPLOYMENT_FAILED' ? 'ERROR' : 'INFO',
      eventName,
      deploymentId: restart.deployment,
      updatedAt: time,
      reason,
    },
  };
}

/** EventBridge's time: seconds, no fraction. */
const awsTime = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

interface Envelope {
  Subject?: string;
  Message: string;
  MessageAttributes?: Record<string, { Value: string }>;
}

interface HaltedSignal {
  'detail-type': string;
  detail: {
    value: { name: string; version: string | null; changedAt: string };
    halt: {
      at: string;
      name: string | null;
      ref: string | null;
      reason: string;
      stopped: string[];
    } | null;
    consumers: Array<{ name: string; state: string }>;
  };
}

interface Signal {
  'detail-type': string;
  source: string;
  detail: {
    value: { name: string; version: string | null; changedAt: string };
    closedAt: string;
    consumers: Array<{ kind: string; name: string; state: string }>;
  };
}

/** An SQS batch as the changes queue hands it to on-change. */
function sqsBatch(bodies: unknown[], id: string) {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `demo-${id}-${i + 1}`,
      receiptHandle: 'demo',
      body: JSON.stringify(body),
      attributes: {},
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:changes`,
      awsRegion: REGION,
    })),
  };
}

async function drain(queueUrl: string): Promise<string[]> {
  return ((await seed?.drain(REGION, queueUrl)) ?? []).map((message) => message.body);
}

interface Report {
  changes: Array<{ service: string; name: string; operation: string; changedAt: string }>;
  consumers: Array<{
    kind: string;
    name: string;
    stale: boolean;
    staleReason: string;
    action: string;
    reason: string;
    references: Array<{ name: string | null; field: string; valueFrom: string }>;
  }>;
  actions: Array<{ kind: string; status: string; target?: string; detail: string }>;
}

async function deploymentOf(cluster: string, service: string): Promise<string | undefined> {
  const ecs = new ECSClient({ region: REGION });
  const reply = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  ecs.destroy();
  return reply.services?.[0]?.deployments?.[0]?.id;
}

/** Block Kit as plain text: headers, sections and context lines, links shown by their labels. */
function renderSlack(message: unknown): string {
  const blocks = ((message as { blocks?: Array<Record<string, unknown>> })?.blocks ?? []) as Array<{
    type: string;
    text?: { text: string };
    elements?: Array<{ text: string }>;
  }>;
  const plain = (text: string) =>
    text
      .replace(/<([^|>]+)\|([^>]+)>/g, '$2')
      .replace(/\u200b/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  return blocks
    .map((block) => {
      if (block.type === 'header') return `== ${plain(block.text?.text ?? '')} ==`;
      if (block.type === 'context')
        return (block.elements ?? []).map((element) => plain(element.text)).join(' ');
      return plain(block.text?.text ?? '');
    })
    .join('\n');
}

const started = Date.now();
main()
  .catch((error: unknown) => {
    failures.push(error instanceof Error ? error.message : String(error));
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  })
  .finally(async () => {
    await cleanup();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (failures.length === 0)
      say(
        `\n${bold('Done')} in ${seconds} s: every step did what it says. Everything started was stopped.`,
      );
    else say(`\n${bold('FAILED')} after ${seconds} s: ${failures.join('; ')}`);
    process.exitCode = failures.length === 0 ? 0 : 1;
  });
