import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand } from '@aws-sdk/client-sns';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { type AwsClients, describeError } from '../aws/index.js';
import { isWebhookUrl, type Settings } from '../config.js';
import { regionOf } from '../refs/index.js';
import type { Outcome, RunReport } from '../report.js';
import { type PostOptions, postToSlack, slackMessage } from './slack.js';
import { renderText, summarize } from './summary.js';

export { escapeMrkdwn, postToSlack, type SlackMessage, slackMessage } from './slack.js';
export { oneLine, renderText, type Severity, summarize, worthTelling } from './summary.js';

export interface NotifyOptions {
  clients: AwsClients;
  settings: Settings;
  /** The region of the watcher's own topic, bus and webhook parameter. */
  region: string;
  slack?: PostOptions;
}

/** EventBridge detail-type of the watcher's own events. */
export const RUN_DETAIL_TYPE = 'Rotation Watcher Run';
export const RUN_SOURCE = 'rotation-watcher';

/**
 * Sends the run's report to every configured channel (SNS, Slack, EventBridge), each on its own:
 * a failing channel is an outcome, not an exception.
 */
export async function notify(report: RunReport, options: NotifyOptions): Promise<Outcome[]> {
  const { settings } = options;
  const channels: Array<[string, string | null, () => Promise<string>]> = [
    ['sns', settings.snsTopicArn, () => publishSns(report, options)],
    [
      'slack',
      settings.slackWebhookUrl ?? settings.slackWebhookParam,
      () => sendSlack(report, options),
    ],
    ['eventbridge', settings.eventBus, () => putRunEvent(report, options)],
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

/** SNS takes at most 256 KiB a message, attributes included; this leaves room for them. */
const SNS_MESSAGE_BYTES = 240 * 1024;

/** One message a run: readable text for e-mail, the JSON report for queues, Lambdas and HTTPS. */
async function publishSns(
  report: RunReport,
  { clients, settings, region }: NotifyOptions,
): Promise<string> {
  const summary = summarize(report);
  const sns = clients.get('sns', topicRegion(settings.snsTopicArn as string) ?? region);
  const reply = await sns.send(
    new PublishCommand({
      TopicArn: settings.snsTopicArn as string,
      Subject: asciiSubject(summary.title),
      MessageStructure: 'json',
      Message: snsMessage(report),
      MessageAttributes: {
        severity: { DataType: 'String', StringValue: summary.severity },
        parameter: {
          DataType: 'String.Array',
          StringValue: JSON.stringify(summary.names.slice(0, 20)),
        },
        stale: { DataType: 'Number', StringValue: String(summary.stale) },
      },
    }),
  );
  return `published ${reply.MessageId ?? ''}`.trim();
}

/**
 * The per-protocol message, within SNS's size limit: the longest list of consumers that fits,
 * with `truncated` saying how many were left out (the logs have them all).
 */
export function snsMessage(report: RunReport): string {
  const build = (shown: RunReport) => {
    const text = renderText(shown);
    const json = JSON.stringify(shown);
    return JSON.stringify({
      default: text,
      email: text,
      sqs: json,
      lambda: json,
      https: json,
      http: json,
    });
  };
  return build(fitted(report, (shown) => Buffer.byteLength(build(shown)) <= SNS_MESSAGE_BYTES));
}

async function sendSlack(report: RunReport, options: NotifyOptions): Promise<string> {
  const url = await slackWebhook(options);
  return postToSlack(url, slackMessage(report, { dryRun: options.settings.dryRun }), options.slack);
}

const webhooks = new Map<string, Promise<string>>();

/**
 * The webhook URL: given directly, or decrypted once per cold start from the SecureString that
 * holds it. This is the only value the watcher ever decrypts.
 */
async function slackWebhook({ clients, settings, region }: NotifyOptions): Promise<string> {
  if (settings.slackWebhookUrl) return settings.slackWebhookUrl;
  const name = settings.slackWebhookParam as string;
  let url = webhooks.get(name);
  if (!url) {
    const ssm = clients.get('ssm', region);
    url = ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true })).then((reply) => {
      const value = reply.Parameter?.Value;
      if (!value || !isWebhookUrl(value)) {
        throw new Error(`the parameter ${name} does not hold an https:// webhook URL`);
      }
      return value;
    });
    webhooks.set(name, url);
    url.catch(() => webhooks.delete(name));
  }
  return url;
}

/** Forgets decrypted webhooks (tests; a new cold start does the same). */
export function forgetWebhooks(): void {
  webhooks.clear();
}

async function putRunEvent(
  report: RunReport,
  { clients, settings, region }: NotifyOptions,
): Promise<string> {
  const summary = summarize(report);
  const detail = { severity: summary.severity, title: summary.title, ...trimmed(report, 200_000) };
  const events = clients.get('events', region);
  const reply = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: RUN_SOURCE,
          DetailType: RUN_DETAIL_TYPE,
          EventBusName: settings.eventBus as string,
          Resources: report.consumers.slice(0, 10).map((consumer) => consumer.arn),
          Detail: JSON.stringify(detail),
        },
      ],
    }),
  );
  const entry = reply.Entries?.[0];
  if ((reply.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode) {
    throw new Error(
      `PutEvents refused the event: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim(),
    );
  }
  return `event ${entry?.EventId ?? ''}`.trim();
}

/** The report, with consumers cut so that its JSON stays under `limit` characters. */
function trimmed(report: RunReport, limit: number): RunReport & { truncated?: number } {
  return fitted(report, (shown) => JSON.stringify(shown).length <= limit);
}

/**
 * The report with as many of its consumers as `fits` allows, halving the list until it does (or
 * none is left), and `truncated` saying how many were left out.
 */
function fitted(
  report: RunReport,
  fits: (shown: RunReport) => boolean,
): RunReport & { truncated?: number } {
  let keep = report.consumers.length;
  for (;;) {
    const shown =
      keep === report.consumers.length
        ? report
        : {
            ...report,
            consumers: report.consumers.slice(0, keep),
            truncated: report.consumers.length - keep,
          };
    if (fits(shown) || keep === 0) return shown;
    keep = Math.floor(keep / 2);
  }
}

/** SNS subjects: ASCII, no line breaks, at most 100 characters. */
function asciiSubject(title: string): string {
  const ascii = title.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > 100 ? `${ascii.slice(0, 99)}~` : ascii;
}

function topicRegion(arn: string): string | null {
  return regionOf(arn);
}
