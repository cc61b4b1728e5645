import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand } from '@aws-sdk/client-sns';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { type AwsClients, describeError } from '../aws/index.js';
import { isWebhookUrl, type Settings } from '../config.js';
import type { Outcome } from '../domain/index.js';
import { regionOf } from '../refs/index.js';
import type { RunReport } from '../report.js';
import { bytes } from './fit.js';
import { EVENT_LIMIT, renderRunEvent, renderSnsJson, SNS_LIMIT } from './json.js';
import { type PostOptions, postToSlack, renderSlack } from './slack.js';
import { type Summary, summarize } from './summary.js';

export type { Omitted, Rendered } from './fit.js';
export {
  EVENT_LIMIT,
  entryBytes,
  RUN_DETAIL_TYPE,
  RUN_SOURCE,
  type RunEntry,
  renderRunEvent,
  renderSnsJson,
  SNS_LIMIT,
  snsMessage,
} from './json.js';
export {
  escapeMrkdwn,
  MAX_BLOCKS,
  postToSlack,
  renderSlack,
  type SlackMessage,
  slackMessage,
} from './slack.js';
export {
  type Counts,
  type Item,
  oneLine,
  type Severity,
  type Summary,
  summarize,
  worthTelling,
} from './summary.js';
export { renderSnsText, renderText } from './text.js';

export interface NotifyOptions {
  clients: AwsClients;
  settings: Settings;
  /** The region of the watcher's own topic, bus and webhook parameter. */
  region: string;
  slack?: PostOptions;
}

/**
 * Sends the run's report to every configured channel (SNS, Slack, EventBridge), each on its own:
 * a failing channel is an outcome, not an exception. The report is summarised once; each channel
 * renders that summary within its own limits.
 */
export async function notify(report: RunReport, options: NotifyOptions): Promise<Outcome[]> {
  const { settings } = options;
  const summary = summarize(report);
  const channels: Array<[string, string | null, () => Promise<string>]> = [
    ['sns', settings.snsTopicArn, () => publishSns(summary, options)],
    [
      'slack',
      settings.slackWebhookUrl ?? settings.slackWebhookParam,
      () => sendSlack(summary, options),
    ],
    ['eventbridge', settings.eventBus, () => putRunEvent(summary, options)],
  ];
  return Promise.all(
    channels
      .filter(([, target]) => target !== null)
      .map(async ([kind, target, send]): Promise<Outcome> => {
        // The webhook URL is a credential: outcomes name the parameter or just "webhook".
        const shown =
          kind === 'slack' ? (settings.slackWebhookParam ?? 'webhook') : (target as string);
        try {
          return { kind, target: shown, status: 'done', detail: await send() };
        } catch (error) {
          return { kind, target: shown, status: 'failed', detail: describeError(error) };
        }
      }),
  );
}

/**
 * One message a run: readable text for e-mail, the JSON report for queues, Lambdas and HTTPS.
 * SNS counts the subject and attributes against the same 256 KiB, so the message gets the rest.
 */
async function publishSns(
  summary: Summary,
  { clients, settings, region }: NotifyOptions,
): Promise<string> {
  const subject = asciiSubject(summary.title);
  const attributes = {
    severity: { DataType: 'String', StringValue: summary.severity },
    // Filter policies match whole names; no real name is longer than 2,048 characters.
    parameter: {
      DataType: 'String.Array',
      StringValue: JSON.stringify(summary.names.filter((name) => name.length <= 2048).slice(0, 20)),
    },
    stale: { DataType: 'Number', StringValue: String(summary.stale) },
  };
  const overhead =
    bytes(subject) +
    Object.entries(attributes).reduce(
      (sum, [name, value]) => sum + bytes(name) + bytes(value.DataType) + bytes(value.StringValue),
      0,
    );
  const sns = clients.get('sns', regionOf(settings.snsTopicArn as string) ?? region);
  const reply = await sns.send(
    new PublishCommand({
      TopicArn: settings.snsTopicArn as string,
      Subject: subject,
      MessageStructure: 'json',
      Message: renderSnsJson(summary, SNS_LIMIT - overhead).message,
      MessageAttributes: attributes,
    }),
  );
  return `published ${reply.MessageId ?? ''}`.trim();
}

async function sendSlack(summary: Summary, options: NotifyOptions): Promise<string> {
  const url = await slackWebhook(options);
  const { message } = renderSlack(summary, { dryRun: options.settings.dryRun });
  return postToSlack(url, message, options.slack);
}

/**
 * Decrypted webhooks, by the clients that read them: a Lambda container keeps its clients, so it
 * decrypts once per cold start; a new set of clients (a new container, a CLI run) reads again.
 */
const webhooks = new WeakMap<AwsClients, Map<string, Promise<string>>>();

/**
 * The webhook URL: given directly, or decrypted once per cold start from the SecureString that
 * holds it. This is the only value the watcher ever decrypts.
 */
export async function slackWebhook({
  clients,
  settings,
  region,
}: Pick<NotifyOptions, 'clients' | 'settings' | 'region'>): Promise<string> {
  if (settings.slackWebhookUrl) return settings.slackWebhookUrl;
  const name = settings.slackWebhookParam as string;
  const known = webhooks.get(clients) ?? new Map<string, Promise<string>>();
  webhooks.set(clients, known);
  let url = known.get(name);
  if (!url) {
    const ssm = clients.get('ssm', region);
    url = ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true })).then((reply) => {
      const value = reply.Parameter?.Value;
      if (!value || !isWebhookUrl(value)) {
        throw new Error(`the parameter ${name} does not hold an https:// webhook URL`);
      }
      return value;
    });
    known.set(name, url);
    url.catch(() => known.delete(name));
  }
  return url;
}

async function putRunEvent(
  summary: Summary,
  { clients, settings, region }: NotifyOptions,
): Promise<string> {
  const bus = settings.eventBus as string;
  // AWS counts source, detail-type, detail and resources (and Time, which is not set); the
  // kilobyte left over is a margin should it ever count the bus name or Time too.
  const { message: entry } = renderRunEvent(summary, EVENT_LIMIT - 1024);
  return putEvent(clients, region, bus, entry);
}

/**
 * Puts one event on `bus`; throws when PutEvents refuses the entry (it answers 200 with a failed
 * entry count, not an error). Returns what to report: the event's id.
 */
export async function putEvent(
  clients: AwsClients,
  region: string,
  bus: string,
  entry: { Source: string; DetailType: string; Detail: string; Resources?: string[] },
): Promise<string> {
  const reply = await clients
    .get('events', region)
    .send(new PutEventsCommand({ Entries: [{ ...entry, EventBusName: bus }] }));
  const result = reply.Entries?.[0];
  if ((reply.FailedEntryCount ?? 0) > 0 || result?.ErrorCode) {
    throw new Error(
      `PutEvents refused the event: ${result?.ErrorCode ?? 'unknown'} ${result?.ErrorMessage ?? ''}`.trim(),
    );
  }
  return `event ${result?.EventId ?? ''}`.trim();
}

/** SNS subjects: ASCII, no line breaks, at most 100 characters. */
export function asciiSubject(title: string): string {
  const ascii = title.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > 100 ? `${ascii.slice(0, 99)}~` : ascii;
}
