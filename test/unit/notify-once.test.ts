import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, expect, it, vi } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { readSettings } from '../../lib/config.js';
import { notify, runMessage } from '../../lib/notify/index.js';
import { summarize } from '../../lib/notify/summary.js';
import { ACCOUNT, aReport, REGION } from '../helpers/factories.js';

// The real summarize, counted: every module that imports it gets this one.
vi.mock('../../lib/notify/summary.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../lib/notify/summary.js')>();
  return { ...original, summarize: vi.fn(original.summarize) };
});

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => response.end('ok'));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

it('summarises the report once a run, however many channels it sends to', async () => {
  mockClient(SNSClient).on(PublishCommand).resolves({ MessageId: 'msg-1' });
  mockClient(EventBridgeClient)
    .on(PutEventsCommand)
    .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'ev-1' }] });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const outcomes = await notify(runMessage(aReport()), {
    clients: new AwsClients({ credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
    settings: {
      ...readSettings({}),
      snsTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:rotation-watcher`,
      slackWebhookUrl: `http://127.0.0.1:${port}/services/T0/B0/x`,
      eventBus: 'watcher-bus',
    },
    region: REGION,
    slack: { sleep: async () => {} },
  });

  expect(outcomes.map((outcome) => [outcome.kind, outcome.status])).toEqual([
    ['sns', 'done'],
    ['slack', 'done'],
    ['eventbridge', 'done'],
  ]);
  expect(vi.mocked(summarize)).toHaveBeenCalledTimes(1);
});
