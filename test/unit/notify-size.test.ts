import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { readSettings } from '../../lib/config.js';
import {
  entryBytes,
  notify,
  renderEvent,
  renderSlack,
  renderSns,
  runMessage,
  type SlackMessage,
} from '../../lib/notify/index.js';
import { changeJson, type RunReport } from '../../lib/report.js';
import { ACCOUNT, aChange, aReport, aReportedConsumer, REGION } from '../helpers/factories.js';

const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:rotation-watcher`;
const LIMIT = 262_144;
const VALUES = 5_000;
const STALE = 3_000;

/**
 * What a sweep of a large account reports: every referenced value as a change, and thousands of
 * stale consumers. The one value the consumers reference, the failed restart and the deleted
 * value come last in the report, so a message that leads with them has reordered it.
 */
function sweepReport(): RunReport {
  const changes = Array.from({ length: VALUES - 1 }, (_, i) =>
    changeJson(aChange({ name: `/prod/service-${i}/database/connection-string` })),
  );
  changes.push(changeJson(aChange({ name: '/prod/db/password' })));
  const consumers = Array.from({ length: STALE - 3 }, (_, i) =>
    aReportedConsumer(
      { name: `payments-settlement-reconciliation-worker-${i}` },
      { action: 'notify', reason: 'notify by the default (WATCHER_DEFAULT_ACTION=notify)' },
    ),
  );
  const restarted = aReportedConsumer({ name: 'restarted-api' }, { action: 'redeploy' });
  const deleted = aReportedConsumer(
    { name: 'deleted-value-worker' },
    { action: 'notify', reason: 'alarm: /prod/db/password was deleted (Delete)', alarm: true },
  );
  const failed = aReportedConsumer({ name: 'failed-api' }, { action: 'redeploy' });
  return aReport({
    changes,
    consumers: [...consumers, restarted, deleted, failed],
    actions: [
      { kind: 'redeploy', target: restarted.arn, status: 'done', detail: 'new deployment' },
      {
        kind: 'redeploy',
        target: failed.arn,
        status: 'failed',
        detail: 'AccessDeniedException: not authorized to perform ecs:UpdateService',
      },
    ],
  });
}

const sns = mockClient(SNSClient);
const events = mockClient(EventBridgeClient);

beforeEach(() => {
  sns.reset();
  events.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'ev-1' }] });
});

/** Notifies SNS and EventBridge of `report`; returns what each was sent. */
async function sent(report: RunReport) {
  const outcomes = await notify(runMessage(report), {
    clients: new AwsClients({ credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
    settings: { ...readSettings({}), snsTopicArn: TOPIC, eventBus: 'watcher-bus' },
    region: REGION,
  });
  expect(outcomes.map((outcome) => outcome.status)).toEqual(['done', 'done']);
  const publish = sns.commandCalls(PublishCommand)[0]?.args[0].input;
  const entry = events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
  if (!publish || !entry) throw new Error('nothing was sent');
  return { publish, entry };
}

/** The bytes SNS counts: message, subject and attributes (name, type and value). */
function publishBytes(publish: Awaited<ReturnType<typeof sent>>['publish']): number {
  const attributes = Object.entries(publish.MessageAttributes ?? {}).reduce(
    (sum, [name, value]) =>
      sum + Buffer.byteLength(name) + Buffer.byteLength(`${value.DataType}${value.StringValue}`),
    0,
  );
  return (
    Buffer.byteLength(publish.Message ?? '') + Buffer.byteLength(publish.Subject ?? '') + attributes
  );
}

const sectionTexts = (message: SlackMessage) =>
  message.blocks
    .filter((block) => block.type === 'section')
    .map((block) => (block.text as { text: string }).text);

const leftOut = (consumers: number, changes: number) =>
  new RegExp(
    `${consumers.toLocaleString('en-US')} consumers and ${changes.toLocaleString('en-US')} changes left out .*rotation-watcher drift`,
  );

describe(`a sweep of ${VALUES} values and ${STALE} stale consumers`, () => {
  let report: RunReport;
  beforeAll(() => {
    report = sweepReport();
  });

  it('publishes one SNS message within 256 KiB that leads with the failure and says what it left out', async () => {
    const { publish } = await sent(report);
    const size = publishBytes(publish);
    expect(size).toBeLessThanOrEqual(LIMIT);
    const message = JSON.parse(publish.Message ?? '');
    expect(message.email).toBe(message.default);

    const items = (message.default as string).split('\n').filter((line) => line.startsWith('  - '));
    expect(items[0]).toMatch(/failed-api .* redeploy failed: AccessDeniedException/);
    expect(items[1]).toContain('deleted-value-worker');
    expect(message.default).toMatch(
      /consumers and [\d,]+ changes left out .*rotation-watcher drift/,
    );

    const json = JSON.parse(message.sqs);
    expect(message.lambda).toBe(message.sqs);
    expect(json.consumers[0].name).toBe('failed-api');
    expect(json.consumers[1].name).toBe('deleted-value-worker');
    expect(json.actions[0]).toMatchObject({ status: 'failed' });
    expect(json.changes[0].name).toBe('/prod/db/password');
    expect(json.consumers.length + json.omitted.consumers).toBe(STALE);
    expect(json.changes.length + json.omitted.changes).toBe(VALUES);
    expect(json.truncated).toBe(json.omitted.consumers);
    expect(json.more).toMatch(leftOut(json.omitted.consumers, json.omitted.changes));
  });

  it('puts one EventBridge entry within 256 KiB that leads with the failure and says what it left out', async () => {
    const { entry } = await sent(report);
    const size = entryBytes({
      Source: entry.Source ?? '',
      DetailType: entry.DetailType ?? '',
      Detail: entry.Detail ?? '',
      Resources: entry.Resources ?? [],
    });
    expect(size).toBeLessThanOrEqual(LIMIT);
    expect(entry).toMatchObject({ Source: 'rotation-watcher', DetailType: 'Rotation Watcher Run' });
    const detail = JSON.parse(entry.Detail ?? '');
    expect(detail.severity).toBe('alarm');
    expect(detail.counts).toMatchObject({
      changes: VALUES,
      consumers: STALE,
      failed: 1,
      restarted: 1,
    });
    expect(detail.consumers[0].name).toBe('failed-api');
    expect(detail.consumers.length + detail.omitted.consumers).toBe(STALE);
    expect(detail.more).toMatch(leftOut(detail.omitted.consumers, detail.omitted.changes));
    expect(entry.Resources?.[0]).toBe(detail.consumers[0].arn);
  });

  it('posts to Slack within 50 blocks of at most 3,000 characters, failure first', () => {
    const { message, omitted } = renderSlack(runMessage(report));
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    const texts = sectionTexts(message);
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(3000);
    expect(message.text.length).toBeLessThanOrEqual(300);
    expect(texts[0]).toMatch(/^:x: \*Failed: needs a person\*\n• arn:aws:ecs:.*AccessDenied/);
    expect(texts[1]).toMatch(
      /^:rotating_light: \*Still on the old value\*\n• .*failed-api.*FAILED/,
    );
    expect(texts[1]?.split('\n')[2]).toMatch(/^• :rotating_light: .*deleted-value-worker/);
    expect(message.blocks.at(-1)?.type).toBe('context');

    const shown = JSON.stringify(message).match(/\/services\/ecsservice\d+\/health/g) ?? [];
    expect(shown.length).toBeGreaterThan(10);
    expect(shown.length + omitted.consumers).toBe(STALE);
    expect(omitted.changes).toBeGreaterThan(0);
    expect(texts.at(-1)).toMatch(leftOut(omitted.consumers, omitted.changes));
    expect(JSON.stringify(message)).toContain('/parameters/prod/db/password/');
  });
});

describe('a small report', () => {
  const report = aReport({
    changes: [changeJson(aChange()), changeJson(aChange({ name: '/prod/api/key' }))],
    consumers: [aReportedConsumer(), aReportedConsumer({ stale: false, changes: [] })],
  });
  const message = runMessage(report);
  const none = { consumers: 0, changes: 0, gaps: 0 };

  it('is not trimmed by any channel', () => {
    const sns = renderSns(message);
    const slack = renderSlack(message);
    const event = renderEvent(message);
    for (const rendered of [sns, slack, event]) expect(rendered.omitted).toEqual(none);
    const envelope = JSON.parse(sns.message.Message);
    expect(envelope.default).not.toContain('left out');
    expect(JSON.stringify(slack.message)).not.toContain('left out');
    const json = JSON.parse(envelope.sqs);
    expect(json).not.toHaveProperty('omitted');
    expect(json.consumers).toHaveLength(2);
    expect(json.changes).toHaveLength(2);
    expect(JSON.parse(event.message.Detail).consumers).toHaveLength(2);
  });
});

describe('hostile names in a large report', () => {
  const huge = 'x'.repeat(100_000);
  const mention = '<!channel> <@U123> *bold* <http://evil.example|click>';
  const report = aReport({
    changes: [
      changeJson(aChange({ name: `/prod/${mention}` })),
      ...Array.from({ length: 300 }, (_, i) => changeJson(aChange({ name: `/${huge}${i}` }))),
    ],
    consumers: [
      aReportedConsumer({ name: mention }, { action: 'notify', reason: mention }),
      ...Array.from({ length: 300 }, () => aReportedConsumer({ name: huge })),
    ],
    actions: [{ kind: 'redeploy', target: mention, status: 'failed', detail: huge }],
  });
  const hostile = runMessage(report);

  it('stay escaped and clipped in Slack, within its limits', () => {
    const { message, omitted } = renderSlack(hostile);
    const all = JSON.stringify(message);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    for (const text of sectionTexts(message)) expect(text.length).toBeLessThanOrEqual(3000);
    expect(all).not.toMatch(/<!|<@|<http:\/\/evil/);
    expect(all).toContain('&lt;!channel&gt;');
    expect(all).toContain('\u200b*bold\u200b*');
    expect(omitted.consumers + omitted.changes).toBeGreaterThan(0);
  });

  it('keep every channel within its limit, with lines clipped in the text', () => {
    const sns = renderSns(hostile).message;
    expect(Buffer.byteLength(sns.Message)).toBeLessThanOrEqual(LIMIT);
    const text: string = JSON.parse(sns.Message).default;
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LIMIT / 6);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(800);
    expect(() => JSON.parse(JSON.parse(sns.Message).sqs)).not.toThrow();
    const event = renderEvent(hostile);
    expect(entryBytes(event.message)).toBeLessThanOrEqual(LIMIT);
    expect(JSON.parse(event.message.Detail).consumers[0].name).toBe(mention);
  });
});
