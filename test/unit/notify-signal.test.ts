import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { readSettings, type Settings } from '../../lib/config.js';
import {
  entryBytes,
  renderEvent,
  renderSlack,
  renderSns,
  runMessage,
  type SlackMessage,
  signalMessage,
  webhookProvider,
} from '../../lib/notify/index.js';
import type {
  ConsumerState,
  FollowDeps,
  RecordedConsumer,
  RotationRecord,
  RotationStore,
} from '../../lib/rotations/index.js';
import { tell } from '../../lib/rotations/signal.js';
import { ACCOUNT, aReport, REGION } from '../helpers/factories.js';

const LIMIT = 262_144;
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:rotation-watcher`;
const BUS = 'watcher-bus';
const PARAM = '/rotation-watcher/slack-webhook';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };

describe('a rotation signal of 5,000 consumers with long names', () => {
  const overdue = aRecord(5_000, { status: 'overdue' }, (i) =>
    i % 2 ? 'stale-at-deadline' : 'stopped',
  );
  const complete = aRecord(5_000, { status: 'complete' }, () => 'replaced-by-deploy');

  it.each([
    ['overdue', overdue, 2_500],
    ['complete', complete, 5_000],
  ] as const)(
    '%s: fits Slack in 50 blocks of at most 3,000 characters, and says how many more there are',
    (signal, record, about) => {
      const { message, omitted } = renderSlack(signalMessage(record, signal));
      expect(message.blocks.length).toBeLessThanOrEqual(50);
      for (const text of sectionTexts(message)) expect(text.length).toBeLessThanOrEqual(3000);
      const listed = sectionTexts(message)
        .flatMap((text) => text.split('\n'))
        .filter((line) => /^• <https:.*\|worker-\d+-/.test(line));
      expect(listed.length).toBeGreaterThan(0);
      expect(listed.length + omitted.consumers).toBe(about);
      const more = sectionTexts(message).at(-1);
      expect(more).toContain(`${omitted.consumers.toLocaleString('en-US')} more consumers`);
      expect(more).toContain('`rotation-watcher status /prod/db/password`');
    },
  );

  it('names those still holding the old value in Slack when overdue, not those cleared', () => {
    const { message } = renderSlack(signalMessage(overdue, 'overdue'));
    expect(message.text).toMatch(/^Rotation overdue: 2500 consumers still hold/);
    const lines = sectionTexts(message).flatMap((text) => text.split('\n'));
    const named = lines.filter((line) => line.startsWith('• '));
    expect(named.length).toBeGreaterThan(10);
    for (const line of named) expect(line).toContain(': stale-at-deadline');
  });

  it('publishes one SNS message within 256 KiB, subject and attributes included', () => {
    const { message, omitted } = renderSns(signalMessage(overdue, 'overdue'));
    expect(publishBytes(message)).toBeLessThanOrEqual(LIMIT);
    expect(message.MessageStructure).toBeUndefined();
    expect(message.MessageAttributes).toEqual({
      severity: { DataType: 'String', StringValue: 'alarm' },
    });
    expect(omitted.consumers).toBeGreaterThan(0);
    expect(message.Message.trimEnd().split('\n').at(-1)).toContain(
      `${omitted.consumers.toLocaleString('en-US')} more consumers`,
    );
  });

  it('puts one event within 256 KB, with the detail fields subscribers read', () => {
    const { message } = renderEvent(signalMessage(overdue, 'overdue'));
    expect(entryBytes(message)).toBeLessThanOrEqual(LIMIT);
    expect(message).toMatchObject({
      Source: 'rotation-watcher',
      DetailType: 'Rotation Overdue',
      Resources: [overdue.value.arn],
    });
    const detail = JSON.parse(message.Detail);
    expect(Object.keys(detail)).toEqual([
      'value',
      'status',
      'openedAt',
      'closedAt',
      'deadline',
      'supersedes',
      'covered',
      'halt',
      'waves',
      'consumerCount',
      'consumers',
      'consumersNotListed',
    ]);
    expect(detail.consumerCount).toBe(5_000);
    expect(detail.consumers.length).toBeLessThanOrEqual(400);
    expect(detail.consumers.length + detail.consumersNotListed).toBe(5_000);
    // Those still holding the old value first.
    expect(detail.consumers[0].state).toBe('stale-at-deadline');
  });

  it('carries the same header and context as a run report, in Slack and by e-mail', () => {
    const signal = renderSlack(signalMessage(overdue, 'overdue')).message;
    const run = renderSlack(runMessage(aReport())).message;
    for (const message of [signal, run]) {
      expect(message.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
      const context = message.blocks.at(-1) as { type: string; elements: Array<{ text: string }> };
      expect(context.type).toBe('context');
      expect(context.elements[0]?.text).toMatch(/^rotation-watcher · /);
    }
    expect((signal.blocks[0] as { text: { text: string } }).text.text).toBe(
      'Rotation Overdue: /prod/db/password',
    );
    const sns = renderSns(signalMessage(overdue, 'overdue')).message;
    const runSns = renderSns(runMessage(aReport())).message;
    expect(sns.Subject).toBe('rotation-watcher: Rotation Overdue: /prod/db/password');
    expect(runSns.Subject).toMatch(/^rotation-watcher: /);
    expect(sns.Message.split('\n')[0]).toBe(sns.Subject);
    expect(JSON.parse(runSns.Message).default.split('\n')[0]).toBe(runSns.Subject);
  });
});

describe('telling a signal', () => {
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

  it('sends to the other channels when one refuses, and the record lists only those that took it', async () => {
    sns
      .on(PublishCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AuthorizationErrorException' }));
    const slack = await slackStub(200);
    const store = memoryStore(aRecord(3, { status: 'complete' }, () => 'stopped'));
    const outcomes = await tell(
      store.current(),
      'complete',
      depsOf(store, { snsTopicArn: TOPIC, slackWebhookUrl: slack.url, eventBus: BUS }),
    );
    expect(outcomes.map((outcome) => [outcome.kind, outcome.status])).toEqual([
      ['sns', 'failed'],
      ['slack', 'done'],
      ['eventbridge', 'done'],
    ]);
    expect(outcomes[0]?.detail).toBe('Rotation Complete: AuthorizationErrorException: denied');
    expect(outcomes[2]?.detail).toBe('Rotation Complete: event ev-1');
    expect(store.current()).toMatchObject({ told: ['eventbridge', 'slack'], signalled: null });
    expect(store.tracked).toBe(true);
    expect(slack.bodies).toHaveLength(1);
    expect((slack.bodies[0] as SlackMessage).text).toMatch(/^Rotation complete: /);

    // The next look tells SNS only, and the record is then told.
    sns.on(PublishCommand).resolves({ MessageId: 'msg-2' });
    const again = await tell(
      store.current(),
      'complete',
      depsOf(store, { snsTopicArn: TOPIC, slackWebhookUrl: slack.url, eventBus: BUS }),
    );
    expect(again.map((outcome) => [outcome.kind, outcome.status])).toEqual([['sns', 'done']]);
    expect(store.current()).toMatchObject({ told: ['eventbridge', 'slack', 'sns'] });
    expect(store.current().signalled).not.toBeNull();
    expect(store.tracked).toBe(false);
    expect(slack.bodies).toHaveLength(1);
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('does not put an old record on the bus again when its told list says `event`', async () => {
    const store = memoryStore({
      ...aRecord(2, { status: 'complete' }, () => 'stopped'),
      told: ['event'],
    });
    const outcomes = await tell(
      store.current(),
      'complete',
      depsOf(store, { snsTopicArn: TOPIC, eventBus: BUS }),
    );
    expect(outcomes.map((outcome) => [outcome.kind, outcome.status])).toEqual([['sns', 'done']]);
    expect(events.calls()).toHaveLength(0);
    expect(store.current().told).toEqual(['eventbridge', 'sns']);
  });

  it('publishes the signal to SNS as text with its severity, as before', async () => {
    const store = memoryStore(aRecord(1, { status: 'overdue' }, () => 'stale-at-deadline'));
    await tell(store.current(), 'overdue', depsOf(store, { snsTopicArn: TOPIC }));
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      TopicArn: TOPIC,
      MessageAttributes: { severity: { DataType: 'String', StringValue: 'alarm' } },
    });
    expect(input?.MessageStructure).toBeUndefined();
    expect(input?.Message?.split('\n')[1]).toMatch(/^Rotation overdue: 1 consumer still hold/);
  });

  it("reads the webhook once for a container's run report and signals alike", async () => {
    const slack = await slackStub(200);
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: PARAM, Value: slack.url } });
    const clients = new AwsClients({ credentials, maxAttempts: 1 });
    const webhooks = webhookProvider(clients, REGION);
    for (const n of [1, 2]) {
      const store = memoryStore(aRecord(n, { status: 'complete' }, () => 'stopped'));
      const outcomes = await tell(store.current(), 'complete', {
        ...depsOf(store, { slackWebhookParam: PARAM }),
        clients,
        slack: { webhooks, sleep: async () => {} },
      });
      expect(outcomes).toEqual([
        expect.objectContaining({ kind: 'slack', target: PARAM, status: 'done' }),
      ]);
    }
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(slack.bodies).toHaveLength(2);
  });
});

/** A record of `count` consumers with 200-character names, in the states `state` gives them. */
function aRecord(
  count: number,
  over: Partial<RotationRecord>,
  state: (i: number) => ConsumerState,
): RotationRecord {
  const consumers = Array.from(
    { length: count },
    (_, i): RecordedConsumer => ({
      kind: 'ecs-task',
      arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/prod/${i.toString(16).padStart(32, '0')}`,
      name: `worker-${i}-${'x'.repeat(200)}`,
      region: REGION,
      parent: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`,
      state: state(i),
      action: 'notify',
      history: [],
    }),
  );
  return {
    pk: `rot#ssm|${REGION}|${ACCOUNT}|prod/db/password|AWSCURRENT`,
    sk: 'change#2026-11-23T12:00:00.000Z#7',
    value: {
      service: 'ssm',
      name: '/prod/db/password',
      arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/prod/db/password`,
      region: REGION,
      account: ACCOUNT,
      stage: null,
      version: '7',
      changedAt: '2026-11-23T12:00:00.000Z',
    },
    status: 'open',
    openedAt: '2026-11-23T12:00:05.000Z',
    deadline: '2026-11-23T14:00:05.000Z',
    closedAt: '2026-11-23T13:00:00.000Z',
    consumers,
    supersededBy: null,
    supersedes: null,
    signalled: null,
    told: [],
    covered: { regions: [REGION], accounts: [ACCOUNT] },
    rev: 1,
    ...over,
  };
}

/** A store of one record in memory, noting whether the sweep would follow it up. */
function memoryStore(first: RotationRecord) {
  let record = first;
  const store = {
    tracked: false,
    current: () => record,
    async update<T>(
      _pk: string,
      _sk: string,
      change: (current: RotationRecord | null) => { record: RotationRecord; result: T } | null,
    ) {
      const next = change(record);
      if (next) record = next.record;
      return next;
    },
    async track() {
      store.tracked = true;
    },
    async untrack() {
      store.tracked = false;
    },
  };
  return store;
}

function depsOf(store: ReturnType<typeof memoryStore>, settings: Partial<Settings>): FollowDeps {
  return {
    clients: new AwsClients({ credentials, maxAttempts: 1 }),
    store: store as unknown as RotationStore,
    settings: { ...readSettings({}), ...settings },
    home: REGION,
    queueUrl: null,
    slack: { sleep: async () => {} },
  };
}

const sectionTexts = (message: SlackMessage) =>
  message.blocks
    .filter((block) => block.type === 'section')
    .map((block) => (block.text as { text: string }).text);

/** The bytes SNS counts: message, subject and attributes (name, type and value). */
function publishBytes(publish: ReturnType<typeof renderSns>['message']): number {
  const attributes = Object.entries(publish.MessageAttributes).reduce(
    (sum, [name, value]) =>
      sum + Buffer.byteLength(name) + Buffer.byteLength(`${value.DataType}${value.StringValue}`),
    0,
  );
  return Buffer.byteLength(publish.Message) + Buffer.byteLength(publish.Subject) + attributes;
}

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** An incoming-webhook stand-in on 127.0.0.1 that answers `status` and keeps what it was sent. */
async function slackStub(status: number): Promise<{ url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(status === 200 ? 'ok' : 'error');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/services/T0/B0/hook`, bodies };
}
