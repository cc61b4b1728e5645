import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { readSettings, type Settings } from '../../lib/config.js';
import {
  notify,
  postToSlack,
  readWebhook,
  renderSlack,
  renderSns,
  runMessage,
  type SlackLayout,
  type SlackMessage,
  SlackPostError,
  summarize,
  WebhookReadError,
  WebhookValueError,
  webhookProvider,
  worthTelling,
} from '../../lib/notify/index.js';
import { changeJson, type RunReport } from '../../lib/report.js';
import { ACCOUNT, aChange, aReport, aReportedConsumer, REGION } from '../helpers/factories.js';

const SECRET = 'XXXXsecretTOKENXXXX';
const HOOK_PATH = `/services/T0000/B0000/${SECRET}`;
const TOPIC = `arn:aws:sns:eu-west-1:${ACCOUNT}:rotation-watcher`;
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };

const deletedAlarm = () =>
  aReportedConsumer(
    {},
    {
      action: 'notify',
      reason: 'alarm: /prod/db/password was deleted (Delete); nothing restarted',
      alarm: true,
    },
  );
const freshConsumer = () =>
  aReportedConsumer({ stale: false, staleReason: 'started after the change', changes: [] });

/** A run's Slack message, as the Slack channel renders it. */
const slackMessage = (report: RunReport, layout?: SlackLayout): SlackMessage =>
  renderSlack(runMessage(report), layout).message;

/** A run's text for e-mail, as the SNS channel renders it. */
const textOf = (report: RunReport): string =>
  JSON.parse(renderSns(runMessage(report)).message.Message).default;

describe('the Slack rendering of a run', () => {
  it('starts with a header block', () => {
    const { blocks } = slackMessage(aReport());
    expect(blocks[0]?.type).toBe('header');
  });

  describe('with 500 stale consumers', () => {
    const report = aReport({
      consumers: Array.from({ length: 500 }, (_, i) =>
        aReportedConsumer(
          { name: `payments-settlement-reconciliation-worker-${i}` },
          {
            action: 'notify',
            reason: `notify by the default: ${'the task started long ago; '.repeat(6)}`,
          },
        ),
      ),
    });
    const { blocks } = slackMessage(report);

    it("keeps within Slack's limit of 50 blocks, and says how many consumers were left out", () => {
      expect(blocks.length).toBeLessThanOrEqual(50);
      const cut = sectionTexts(blocks).find((text) => /^… [\d,]+ consumers left out/.test(text));
      expect(cut).toBeDefined();
      expect(Number(/\d+/.exec(cut ?? '')?.[0])).toBeGreaterThan(0);
      expect(cut).toContain('`rotation-watcher drift`');
      expect(blocks.at(-1)?.type).toBe('context');
    });

    it('keeps every section within 3000 characters', () => {
      const texts = sectionTexts(blocks);
      expect(texts.length).toBeGreaterThan(10);
      for (const text of texts) expect(text.length).toBeLessThanOrEqual(3000);
    });
  });

  describe('names that look like Slack markup', () => {
    const nasty = '<!channel> <@U123> *bold* <http://x|y> & _it_ ~gone~ `code`';
    const report = aReport({
      changes: [changeJson(aChange({ service: 'secretsmanager', name: nasty }))],
      consumers: [aReportedConsumer({ name: nasty }, { action: 'notify', reason: nasty })],
      actions: [{ kind: 'redeploy', target: nasty, status: 'failed', detail: nasty }],
      complete: false,
      gaps: [
        {
          region: REGION,
          scope: nasty,
          api: 'ecs:ListTasks',
          error: nasty,
          affects: { kind: 'any' },
        },
      ],
    });
    const message = slackMessage(report);
    const mrkdwn = mrkdwnTexts(message.blocks).join('\n');

    it('show escaped, so they cannot mention anyone or link anywhere', () => {
      expect(mrkdwn).toContain('&lt;!channel&gt;');
      expect(mrkdwn).toContain('&lt;@U123&gt;');
      expect(mrkdwn).toContain('&lt;http://x');
      expect(mrkdwn).toContain(' &amp; ');
      expect(mrkdwn).not.toContain('<!');
      expect(mrkdwn).not.toContain('<@');
      expect(mrkdwn).not.toContain('<http://');
    });

    it('contain no angle bracket but those of the console links the message builds', () => {
      const tags = mrkdwn.match(/<[^>]*>/g) ?? [];
      expect(tags.length).toBeGreaterThan(0);
      for (const tag of tags) {
        expect(tag).toMatch(
          /^<https:\/\/[a-z0-9-]+\.console\.aws\.amazon\.com\/[^\s<>|]+\|[^<>|]*>$/,
        );
      }
    });

    it('cannot format: a zero-width space precedes * _ ~ and `', () => {
      expect(mrkdwn).toContain('\u200b*bold\u200b*');
      expect(mrkdwn).toContain('\u200b_it\u200b_');
      expect(mrkdwn).toContain('\u200b~gone\u200b~');
      expect(mrkdwn).toContain('\u200b`code\u200b`');
      // Inside a link's URL (`<url|label>`) Slack formats nothing; outside, nothing may format.
      const outsideUrls = mrkdwn.replace(/<https:\/\/[^|>]+\|/g, '<|');
      expect(outsideUrls).not.toMatch(/(^|[^\u200b])[*_~`](bold|it|gone|code)/);
    });

    // Known bug: `text` is the raw summary title, which holds the change name unescaped.
    it('are escaped in the fallback text too, which Slack reads as mrkdwn in notifications', () => {
      expect(message.text).not.toContain('<!');
    });
  });

  it('links a service of an old-format ARN (no cluster in it) through its cluster', () => {
    const report = aReport({
      consumers: [
        aReportedConsumer({
          kind: 'ecs-service',
          arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/api`,
          name: 'api',
          parent: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/legacy`,
        }),
      ],
    });
    expect(JSON.stringify(slackMessage(report).blocks)).toContain(
      '/ecs/v2/clusters/legacy/services/api/health',
    );
  });

  it('links each consumer, parameter and secret to its page in the AWS console', () => {
    const serviceArn = `arn:aws:ecs:eu-west-1:${ACCOUNT}:service/prod-cluster/api`;
    const taskArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/prod-cluster/0f1e2d3c4b5a69788796a5b4c3d2e1f0`;
    const jobArn = `arn:aws:batch:${REGION}:${ACCOUNT}:job/5a1b2c3d-0000-4e5f-8a9b-0c1d2e3f4a5b`;
    const report = aReport({
      changes: [
        changeJson(aChange({ name: '/prod/db/password' })),
        changeJson(aChange({ service: 'secretsmanager', name: 'prod/api-key' })),
      ],
      consumers: [
        aReportedConsumer({
          kind: 'ecs-service',
          arn: serviceArn,
          name: 'api',
          region: 'eu-west-1',
          parent: `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/prod-cluster`,
        }),
        aReportedConsumer({
          kind: 'ecs-task',
          arn: taskArn,
          parent: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod-cluster`,
        }),
        aReportedConsumer({ kind: 'batch-job', arn: jobArn }),
      ],
    });

    const links = [
      ...mrkdwnTexts(slackMessage(report).blocks)
        .join('\n')
        .matchAll(/<([^|>]+)\|/g),
    ].map((match) => match[1]);

    const console = (region: string) => `https://${region}.console.aws.amazon.com`;
    expect(links).toEqual(
      expect.arrayContaining([
        `${console('eu-west-1')}/ecs/v2/clusters/prod-cluster/services/api/health?region=eu-west-1`,
        `${console(REGION)}/ecs/v2/clusters/prod-cluster/tasks/0f1e2d3c4b5a69788796a5b4c3d2e1f0/configuration?region=${REGION}`,
        `${console(REGION)}/batch/home?region=${REGION}#jobs/detail/5a1b2c3d-0000-4e5f-8a9b-0c1d2e3f4a5b`,
        `${console(REGION)}/systems-manager/parameters/prod/db/password/description?region=${REGION}`,
        `${console(REGION)}/secretsmanager/secret?name=prod%2Fapi-key&region=${REGION}`,
      ]),
    );
    expect(links).toHaveLength(5);
  });

  it('gives failed actions a section of their own', () => {
    const consumer = aReportedConsumer();
    const failed = slackMessage(
      aReport({
        consumers: [consumer],
        actions: [
          {
            kind: 'redeploy',
            target: consumer.arn,
            status: 'failed',
            detail: 'AccessDeniedException: not authorized to perform ecs:UpdateService',
          },
        ],
      }),
    );
    const section = sectionTexts(failed.blocks).find((text) =>
      text.startsWith(':x: *Failed: needs a person*'),
    );
    expect(section).toContain('AccessDeniedException: not authorized to perform ecs:UpdateService');
    expect(section).toContain(consumer.arn);

    const fine = sectionTexts(slackMessage(aReport()).blocks);
    expect(fine.some((text) => text.includes('Failed'))).toBe(false);
  });

  it('says in the footer when the run was a dry run', () => {
    const footer = (message: SlackMessage) => mrkdwnTexts([message.blocks.at(-1) ?? {}]).join('');
    expect(footer(slackMessage(aReport(), { dryRun: true }))).toContain(
      'dry run: nothing was changed',
    );
    expect(footer(slackMessage(aReport(), { dryRun: false }))).not.toContain('dry run');
  });
});

describe('postToSlack', () => {
  const message: SlackMessage = { text: 'hello', blocks: [] };

  it('resolves when Slack answers 200, having posted the message as JSON', async () => {
    const slack = await slackStub([{ status: 200, body: 'ok' }]);
    await expect(postToSlack(slack.url, message, { sleep: vi.fn() })).resolves.toMatch(/200/);
    expect(slack.hits).toHaveLength(1);
    expect(JSON.parse(slack.hits[0]?.body ?? '')).toEqual(message);
    expect(slack.hits[0]?.path).toBe(HOOK_PATH);
  });

  it('waits as long as Retry-After says after a 429, then posts again', async () => {
    const slack = await slackStub([
      { status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' },
      { status: 200, body: 'ok' },
    ]);
    const sleep = vi.fn(async () => {});
    await expect(postToSlack(slack.url, message, { sleep })).resolves.toMatch(/200/);
    expect(sleep).toHaveBeenCalledExactlyOnceWith(2000);
    expect(slack.hits).toHaveLength(2);
  });

  it('gives up at once when Retry-After asks for longer than maxRetryAfter', async () => {
    const slack = await slackStub([{ status: 429, headers: { 'retry-after': '120' } }]);
    const sleep = vi.fn(async () => {});
    const reason = await failure(postToSlack(slack.url, message, { sleep, maxRetryAfter: 30 }));
    expect(reason).toMatch(/rate-limited the webhook for 120 s, longer than the 30 s/);
    expect(sleep).not.toHaveBeenCalled();
    expect(slack.hits).toHaveLength(1);
    expect(reason).not.toContain(SECRET);
  });

  it('retries a 500 and gives up after 3 attempts', async () => {
    const slack = await slackStub([{ status: 500, body: 'internal error' }]);
    const sleep = vi.fn(async () => {});
    const reason = await failure(postToSlack(slack.url, message, { sleep }));
    expect(reason).toMatch(/HTTP 500/);
    expect(slack.hits).toHaveLength(3);
    expect(sleep).toHaveBeenCalledTimes(2);
    expect(reason).not.toContain(SECRET);
  });

  it('does not retry a 400', async () => {
    const slack = await slackStub([{ status: 400, body: 'invalid_payload' }]);
    const sleep = vi.fn(async () => {});
    const reason = await failure(postToSlack(slack.url, message, { sleep }));
    expect(reason).toMatch(/HTTP 400: invalid_payload/);
    expect(slack.hits).toHaveLength(1);
    expect(sleep).not.toHaveBeenCalled();
    expect(reason).not.toContain(SECRET);
  });

  it('never names the webhook URL when it cannot reach Slack', async () => {
    const slack = await slackStub([{ status: 200 }]);
    await slack.close();
    const reason = await failure(
      postToSlack(slack.url, message, { sleep: async () => {}, attempts: 2 }),
    );
    expect(reason).toMatch(/could not be reached/);
    expect(reason).not.toContain('127.0.0.1');
    expect(reason).not.toContain(SECRET);
  });

  // Known bug: the reply body is quoted verbatim, and proxies and 404 pages echo the path.
  it("never repeats the webhook's secret path, even when the server echoes the request", async () => {
    const slack = await slackStub([{ status: 404, body: (path) => `Cannot POST ${path}` }]);
    const reason = await failure(postToSlack(slack.url, message, { sleep: async () => {} }));
    expect(reason).toMatch(/HTTP 404/);
    expect(reason).not.toContain(SECRET);
  });
});

describe('summarize, worthTelling and the text of a run', () => {
  const done = (target: string) => ({
    kind: 'redeploy' as const,
    target,
    status: 'done' as const,
    detail: 'new deployment ecs-svc/2',
  });

  it.each<[string, string, RegExp, () => RunReport]>([
    [
      'a deleted value',
      'alarm',
      /a referenced value was deleted/,
      () => aReport({ consumers: [deletedAlarm()] }),
    ],
    [
      'a failed action',
      'alarm',
      /1 failed/,
      () =>
        aReport({
          actions: [
            { kind: 'resubmit', target: 'job', status: 'failed', detail: 'ClientException' },
          ],
        }),
    ],
    ['an incomplete answer', 'alarm', /answer incomplete/, () => aReport({ complete: false })],
    ['a restart', 'action', /1 restarted/, () => aReport({ actions: [done('svc')] })],
    [
      'stale consumers only notified',
      'info',
      /^rotation-watcher: 1 consumer still on the old \/prod\/db\/password$/,
      () => aReport(),
    ],
  ])('a run with %s has severity %s', (_label, severity, title, report) => {
    const summary = summarize(report());
    expect(summary.severity).toBe(severity);
    expect(summary.title).toMatch(title);
  });

  it('a restart that failed elsewhere in the run is still an alarm', () => {
    const report = aReport({
      actions: [done('a'), { kind: 'redeploy', target: 'b', status: 'failed', detail: 'x' }],
    });
    expect(summarize(report).severity).toBe('alarm');
  });

  it('is not worth telling when the only stale consumers are tagged ignore', () => {
    const ignored = aReportedConsumer(
      { stale: true },
      { action: 'ignore', reason: 'ignored by the service tag' },
    );
    const report = aReport({ consumers: [ignored, freshConsumer()] });
    expect(worthTelling(report)).toBe(false);
    expect(JSON.stringify(slackMessage(report).blocks)).not.toContain(ignored.name);
  });

  it('is not worth telling when every consumer is fresh and nothing happened', () => {
    expect(worthTelling(aReport({ consumers: [freshConsumer(), freshConsumer()] }))).toBe(false);
  });

  it.each<[string, () => RunReport]>([
    ['a stale consumer', () => aReport()],
    ['an incomplete answer', () => aReport({ consumers: [freshConsumer()], complete: false })],
    [
      'an action held back',
      () =>
        aReport({
          consumers: [freshConsumer()],
          actions: [{ kind: 'redeploy', target: 'x', status: 'skipped', detail: 'held back' }],
        }),
    ],
  ])('is worth telling with %s', (_label, report) => {
    expect(worthTelling(report())).toBe(true);
  });

  it('renders one line per change and consumer under the title, outcome before reason', () => {
    const stale = aReportedConsumer({ name: 'api\nsecond line' });
    const fresh = freshConsumer();
    const text = textOf(
      aReport({
        consumers: [stale, fresh],
        actions: [done(stale.arn)],
        gaps: [
          {
            region: REGION,
            scope: 'cluster/prod',
            api: 'ecs:ListTasks',
            error: 'AccessDenied',
            affects: { kind: 'any' },
          },
        ],
      }),
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'rotation-watcher: 1 consumer still on the old /prod/db/password, 1 restarted',
    );
    expect(text).toContain(`parameter /prod/db/password in ${REGION}: Update at`);
    expect(text).toContain(
      '[STALE] ecs-service api second line (us-east-1) — redeploy done: new deployment ecs-svc/2',
    );
    expect(text).toContain(
      `[fresh] ecs-service ${fresh.name} (us-east-1) — none: started after the change`,
    );
    expect(text).toContain('cluster/prod in us-east-1 (ecs:ListTasks): AccessDenied');
  });
});

describe('notify', () => {
  const sns = mockClient(SNSClient);
  const events = mockClient(EventBridgeClient);
  const ssm = mockClient(SSMClient);

  beforeEach(() => {
    sns.reset();
    events.reset();
    ssm.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'ev-1' }] });
  });

  const settings = (overrides: Partial<Settings>): Settings => ({
    ...readSettings({}),
    ...overrides,
  });
  /** One run; runs of one Lambda container share `clients` and the webhook's provider. */
  const send = (
    report: RunReport,
    overrides: Partial<Settings>,
    clients = new AwsClients({ credentials, maxAttempts: 1 }),
    webhooks = webhookProvider(clients, REGION),
  ) =>
    notify(runMessage(report), {
      clients,
      settings: settings(overrides),
      region: REGION,
      slack: { sleep: async () => {}, webhooks },
    });

  describe('SNS', () => {
    const report = aReport({
      changes: [
        changeJson(aChange({ name: `/prod/é/${'long-parameter-name/'.repeat(8)}password` })),
        changeJson(aChange({ name: '/prod/api/key' })),
      ],
      consumers: [deletedAlarm(), aReportedConsumer()],
    });

    it('publishes one JSON-structured message: text for e-mail, the report for queues', async () => {
      const [outcome] = await send(report, { snsTopicArn: TOPIC });

      expect(outcome).toMatchObject({ kind: 'sns', target: TOPIC, status: 'done' });
      const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
      expect(input?.TopicArn).toBe(TOPIC);
      expect(input?.MessageStructure).toBe('json');
      const message = JSON.parse(input?.Message ?? '{}');
      expect(message.default.startsWith(`${summarize(report).title}\n`)).toBe(true);
      expect(message.default).toContain('[STALE]');
      expect(message.email).toBe(message.default);
      expect(JSON.parse(message.sqs).consumers).toHaveLength(2);
    });

    it('keeps the subject to 100 printable ASCII characters', async () => {
      await send(
        aReport({ changes: [changeJson(aChange({ name: `/prod/é/${'x'.repeat(200)}` }))] }),
        { snsTopicArn: TOPIC },
      );
      const subject = sns.commandCalls(PublishCommand)[0]?.args[0].input.Subject ?? '';
      expect(subject.length).toBeLessThanOrEqual(100);
      expect(subject).toMatch(/^[\x20-\x7e]+$/);
    });

    it('sets the severity and the changed names as filter attributes', async () => {
      await send(report, { snsTopicArn: TOPIC });
      const attributes = sns.commandCalls(PublishCommand)[0]?.args[0].input.MessageAttributes;
      expect(attributes?.severity).toEqual({ DataType: 'String', StringValue: 'alarm' });
      expect(attributes?.parameter?.DataType).toBe('String.Array');
      expect(JSON.parse(attributes?.parameter?.StringValue ?? '')).toEqual(
        report.changes.map((change) => change.name),
      );
    });

    it("publishes in the topic's own region", async () => {
      await send(report, { snsTopicArn: TOPIC });
      const client = sns.call(0).thisValue as SNSClient;
      expect(await client.config.region()).toBe('eu-west-1');
    });

    // The report JSON is repeated for four protocols and the text twice: all of it must fit.
    it("keeps the whole message within SNS's 256 KB limit for a run with 500 consumers", async () => {
      const big = aReport({
        consumers: Array.from({ length: 500 }, () => aReportedConsumer()),
      });
      const [outcome] = await send(big, { snsTopicArn: TOPIC });
      expect(outcome?.status).toBe('done');
      const message = sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '';
      expect(Buffer.byteLength(message, 'utf8')).toBeLessThanOrEqual(262_144);
    });
  });

  describe('EventBridge', () => {
    it('puts one run event on the configured bus', async () => {
      const [outcome] = await send(aReport({ consumers: [deletedAlarm()] }), {
        eventBus: 'watcher-bus',
      });
      expect(outcome).toMatchObject({ kind: 'eventbridge', target: 'watcher-bus', status: 'done' });
      const entry = events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
      expect(entry).toMatchObject({
        Source: 'rotation-watcher',
        DetailType: 'Rotation Watcher Run',
        EventBusName: 'watcher-bus',
      });
      expect(JSON.parse(entry?.Detail ?? '{}').severity).toBe('alarm');
    });

    it('reports a refused entry (FailedEntryCount 1) as failed', async () => {
      events.on(PutEventsCommand).resolves({
        FailedEntryCount: 1,
        Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
      });
      const [outcome] = await send(aReport(), { eventBus: 'watcher-bus' });
      expect(outcome).toMatchObject({ kind: 'eventbridge', status: 'failed' });
      expect(outcome?.detail).toContain('InternalFailure');
    });
  });

  describe('Slack through a SecureString parameter', () => {
    const PARAM = '/rotation-watcher/slack-webhook';

    it('reads the webhook once per provider, through the given client, and names only the parameter', async () => {
      const slack = await slackStub([{ status: 200, body: 'ok' }]);
      ssm.on(GetParameterCommand).resolves({ Parameter: { Name: PARAM, Value: slack.url } });

      // One container: one set of clients, one provider, built once.
      const container = new AwsClients({ credentials, maxAttempts: 1 });
      const provider = webhookProvider(container, REGION);
      const first = await send(aReport(), { slackWebhookParam: PARAM }, container, provider);
      const second = await send(aReport(), { slackWebhookParam: PARAM }, container, provider);

      expect(ssm.commandCalls(GetParameterCommand).map((call) => call.args[0].input)).toEqual([
        { Name: PARAM, WithDecryption: true },
      ]);
      // The watcher's own client (its endpoint, its counters), not one Powertools built.
      expect(ssm.call(0).thisValue).toBe(container.get('ssm', REGION));
      expect(slack.hits).toHaveLength(2);
      for (const outcomes of [first, second]) {
        expect(outcomes).toEqual([
          expect.objectContaining({ kind: 'slack', target: PARAM, status: 'done' }),
        ]);
        expect(JSON.stringify(outcomes)).not.toContain(SECRET);
      }
      // A new container (a new provider) reads it again.
      await send(aReport(), { slackWebhookParam: PARAM });
      expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
    });

    it('asks again on the next run when the parameter could not be read', async () => {
      const slack = await slackStub([{ status: 200, body: 'ok' }]);
      ssm
        .on(GetParameterCommand)
        .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
        .resolves({ Parameter: { Name: PARAM, Value: slack.url } });

      // One provider: a failed read is not kept.
      const container = new AwsClients({ credentials, maxAttempts: 1 });
      const provider = webhookProvider(container, REGION);
      const [first] = await send(aReport(), { slackWebhookParam: PARAM }, container, provider);
      const [second] = await send(aReport(), { slackWebhookParam: PARAM }, container, provider);

      expect(first).toMatchObject({ status: 'failed', target: PARAM });
      expect(first?.detail).toBe(
        `could not read the Slack webhook from the parameter ${PARAM}: ThrottlingException: Rate exceeded`,
      );
      expect(second).toMatchObject({ status: 'done', target: PARAM });
      expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
    });

    it('refuses a parameter that does not hold an https URL in one line, without showing its value', async () => {
      ssm
        .on(GetParameterCommand)
        .resolves({ Parameter: { Name: PARAM, Value: `http://example.com${HOOK_PATH}` } });
      const container = new AwsClients({ credentials, maxAttempts: 1 });
      const provider = webhookProvider(container, REGION);
      const [outcome] = await send(aReport(), { slackWebhookParam: PARAM }, container, provider);
      expect(outcome).toEqual({
        kind: 'slack',
        target: PARAM,
        status: 'failed',
        detail: `the parameter ${PARAM} does not hold an https:// webhook URL`,
      });
      // Read once: the provider keeps the value, and refuses it again without asking.
      const [again] = await send(aReport(), { slackWebhookParam: PARAM }, container, provider);
      expect(again?.detail).toBe(outcome?.detail);
      expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    });
  });

  describe('errors', () => {
    it('are named, and a failed read keeps what AWS answered as its cause', async () => {
      const denied = Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' });
      ssm.on(GetParameterCommand).rejects(denied);
      const provider = webhookProvider(new AwsClients({ credentials, maxAttempts: 1 }), REGION);
      const error = await readWebhook('/hook', provider).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(WebhookReadError);
      expect((error as Error).message).toContain('AccessDeniedException: not allowed');
      expect(((error as Error).cause as Error).cause).toBe(denied);

      ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/hook', Value: 'not a url' } });
      const fresh = webhookProvider(new AwsClients({ credentials, maxAttempts: 1 }), REGION);
      await expect(readWebhook('/hook', fresh)).rejects.toBeInstanceOf(WebhookValueError);
    });

    it('name a Slack post that failed, with its status', async () => {
      const slack = await slackStub([{ status: 400, body: 'invalid_payload' }]);
      const error = await postToSlack(slack.url, { text: 'x', blocks: [] }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(SlackPostError);
      expect(error).toMatchObject({ name: 'SlackPostError', status: 400 });
    });

    it('keep a network failure as the cause of a Slack post that could not be sent', async () => {
      const slack = await slackStub([{ status: 200 }]);
      await slack.close();
      const error = await postToSlack(
        slack.url,
        { text: 'x', blocks: [] },
        { attempts: 1, sleep: async () => {} },
      ).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ name: 'SlackPostError', status: null });
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect(String(((error as Error).cause as Error).message)).not.toContain(SECRET);
    });
  });

  it('sends to the other channels when one of them throws', async () => {
    const slack = await slackStub([{ status: 200, body: 'ok' }]);
    sns
      .on(PublishCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AuthorizationErrorException' }));

    const outcomes = await send(aReport(), {
      snsTopicArn: TOPIC,
      slackWebhookUrl: slack.url,
      eventBus: 'watcher-bus',
    });

    expect(outcomes.map((outcome) => [outcome.kind, outcome.status])).toEqual([
      ['sns', 'failed'],
      ['slack', 'done'],
      ['eventbridge', 'done'],
    ]);
    expect(outcomes[0]?.detail).toBe('AuthorizationErrorException: denied');
    expect(outcomes[1]?.target).toBe('webhook');
    expect(slack.hits).toHaveLength(1);
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('sends nothing to a channel that is not configured', async () => {
    expect(await send(aReport(), {})).toEqual([]);
    expect(sns.calls()).toHaveLength(0);
    expect(events.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
  });
});

/** The mrkdwn texts of blocks: sections' text and context elements. */
function mrkdwnTexts(blocks: Array<Record<string, unknown>>): string[] {
  return blocks.flatMap((block) => {
    const texts = [block.text, ...((block.elements as unknown[] | undefined) ?? [])] as Array<
      { type?: string; text?: string } | undefined
    >;
    return texts.filter((text) => text?.type === 'mrkdwn').map((text) => text?.text ?? '');
  });
}

/** The message a promise rejects with; fails the test if it resolves. */
async function failure(sent: Promise<unknown>): Promise<string> {
  try {
    await sent;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a rejection');
}

function sectionTexts(blocks: Array<Record<string, unknown>>): string[] {
  return mrkdwnTexts(blocks.filter((block) => block.type === 'section'));
}

interface StubReply {
  status: number;
  headers?: Record<string, string>;
  /** The body, or a function of the request path (a server that echoes what it was asked). */
  body?: string | ((path: string) => string);
}

interface SlackStub {
  url: string;
  hits: Array<{ path: string; body: string }>;
  close(): Promise<void>;
}

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => closeServer(server)));
});

/**
 * An incoming-webhook stand-in on 127.0.0.1 that answers with `replies` in turn (the last
 * one again once they run out) and records what it was sent.
 */
async function slackStub(replies: StubReply[]): Promise<SlackStub> {
  const hits: SlackStub['hits'] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      hits.push({ path, body: Buffer.concat(chunks).toString('utf8') });
      const reply = replies[Math.min(hits.length, replies.length) - 1] as StubReply;
      const body = typeof reply.body === 'function' ? reply.body(path) : (reply.body ?? '');
      response.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
      response.end(body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${HOOK_PATH}`,
    hits,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
