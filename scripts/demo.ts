// `npm run demo`: the whole product on a local emulated AWS account, in one command.
// Starts moto_server, seeds an account, rotates a parameter and a secret, hands the matching
// EventBridge events to the real on-change Lambda handler, shows what it found, did and said,
// runs `drift`, then follows the rotation to its end: the old tasks replaced, `wait` returning 0,
// the delayed follow-up, `Rotation Complete` on the bus, and `status` before and after.
// Stops everything it started, also on Ctrl-C or failure.
import { DescribeServicesCommand, ECSClient, StopTaskCommand } from '@aws-sdk/client-ecs';
import { AwsClients } from '../lib/aws/index.js';
import { RotationStore } from '../lib/rotations/index.js';
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
  // Tasks get the createdAt AWS always returns (moto 5.2 gives none), so that a task started
  // after the rotation is fresh, as on AWS.
  moto = await startMoto({ taskTimes: true });
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
  say(`   checkout: ECS started 2 tasks of deployment ${rollout} and stopped the 2 old ones`);
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
  actions: Array<{ kind: string; status: string; detail: string }>;
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
