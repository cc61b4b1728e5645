import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { AwsClients } from '../aws/index.js';
import type { Settings } from '../config.js';
import { regionOf } from '../refs/index.js';
import { EventRefusedError } from './errors.js';
import { EVENT_LIMIT, type EventEntry, renderEvent } from './json.js';
import {
  MAX_BLOCKS,
  type PostOptions,
  postToSlack,
  renderSlack,
  type SlackMessage,
} from './slack.js';
import { renderSns, type SnsPublish } from './sns.js';
import type { Channel } from './types.js';
import { readWebhook, webhookProvider } from './webhook.js';

/** Where the channels go: the settings name them, the clients reach them. */
export interface ChannelOptions {
  clients: AwsClients;
  settings: Settings;
  /** The region of the watcher's own topic (unless its ARN says another), bus and webhook parameter. */
  region: string;
  slack?: PostOptions;
}

/** The channels the settings configure, in the order outcomes list them: SNS, Slack, EventBridge. */
export function channelsOf(options: ChannelOptions): Channel[] {
  const { settings } = options;
  const channels: Channel[] = [];
  if (settings.snsTopicArn) channels.push(snsChannel(settings.snsTopicArn, options));
  if (settings.slackWebhookUrl || settings.slackWebhookParam) channels.push(slackChannel(options));
  if (settings.eventBus) channels.push(eventBridgeChannel(settings.eventBus, options));
  return channels;
}

/** A topic: one Publish a message, in the topic's own region, within SNS's 256 KiB. */
export function snsChannel(
  topicArn: string,
  { clients, region }: Pick<ChannelOptions, 'clients' | 'region'>,
): Channel<SnsPublish> {
  return {
    kind: 'sns',
    target: topicArn,
    render: renderSns,
    async send(publish) {
      const sns = clients.get('sns', regionOf(topicArn) ?? region);
      const reply = await sns.send(new PublishCommand({ TopicArn: topicArn, ...publish }));
      return `published ${reply.MessageId ?? ''}`.trim();
    },
  };
}

/**
 * An incoming webhook: given (WATCHER_SLACK_WEBHOOK_URL), or read from its SecureString
 * (WATCHER_SLACK_WEBHOOK_PARAM) through `slack.webhooks`, else a provider of its own. The URL is
 * a credential: the channel's target is the parameter's name, or just "webhook".
 */
export function slackChannel({
  clients,
  settings,
  region,
  slack = {},
}: ChannelOptions): Channel<SlackMessage> {
  const param = settings.slackWebhookParam;
  const url = async (): Promise<string> => {
    if (settings.slackWebhookUrl) return settings.slackWebhookUrl;
    return readWebhook(param as string, slack.webhooks ?? webhookProvider(clients, region));
  };
  return {
    kind: 'slack',
    target: param ?? 'webhook',
    render: (message, limit = MAX_BLOCKS) =>
      renderSlack(message, { dryRun: settings.dryRun, maxBlocks: limit }),
    send: async (message) => postToSlack(await url(), message, slack),
  };
}

/**
 * A bus: one PutEvents entry a message. AWS counts source, detail-type, detail and resources (and
 * Time, which is not set); the kilobyte the default limit leaves over is a margin should it ever
 * count the bus name or Time too.
 */
export function eventBridgeChannel(
  bus: string,
  { clients, region }: Pick<ChannelOptions, 'clients' | 'region'>,
): Channel<EventEntry> {
  return {
    kind: 'eventbridge',
    target: bus,
    render: (message, limit = EVENT_LIMIT - 1024) => renderEvent(message, limit),
    async send(entry) {
      const reply = await clients
        .get('events', region)
        .send(new PutEventsCommand({ Entries: [{ ...entry, EventBusName: bus }] }));
      const result = reply.Entries?.[0];
      // PutEvents answers 200 with a failed entry count, not an error.
      if ((reply.FailedEntryCount ?? 0) > 0 || result?.ErrorCode)
        throw new EventRefusedError(result?.ErrorCode ?? null, result?.ErrorMessage ?? null);
      return `event ${result?.EventId ?? ''}`.trim();
    },
  };
}
