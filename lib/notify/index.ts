// Every message the watcher sends and every channel it sends on: a run's report or a rotation's
// signal (types), summarised or laid out once (summary, signal), rendered by each channel within
// its own limits (sns, slack, json, text, fit) and sent by it (channels, webhook), each channel
// on its own.
import { describeError } from '../aws/index.js';
import { CHANNEL_KINDS, type ChannelKind, type Outcome } from '../domain/index.js';
import type { RunReport } from '../report.js';
import type { RotationRecord } from '../rotations/record.js';
import { type ChannelOptions, channelsOf } from './channels.js';
import { NotifyError } from './errors.js';
import { SIGNALS } from './signal.js';
import { summarize } from './summary.js';
import type { Channel, Message, RunMessage, SignalKind, SignalMessage } from './types.js';

export {
  EventRefusedError,
  NotifyError,
  SlackPostError,
  WebhookReadError,
  WebhookValueError,
  WithheldError,
} from './errors.js';
export type { Omitted, Rendered } from './fit.js';
export { type EventEntry, entryBytes, renderEvent } from './json.js';
export { type PostOptions, postToSlack } from './post.js';
export {
  COMPLETE_DETAIL_TYPE,
  OVERDUE_DETAIL_TYPE,
  SIGNAL_SOURCE,
  signalDetail,
  signalText,
} from './signal.js';
export { renderSlack, type SlackLayout, type SlackMessage } from './slack.js';
export { renderSns, type SnsPublish } from './sns.js';
export { type Summary, summarize, worthTelling } from './summary.js';
export type { Channel, Message, RunMessage, SignalKind, SignalMessage } from './types.js';
export { readWebhook, webhookProvider } from './webhook.js';

export interface NotifyOptions extends ChannelOptions {
  /** Channels that already took this message (a signal told again): they are not sent it twice. */
  skip?: readonly ChannelKind[];
}

/** A run's report as a message: summarised here, once, however many channels render it. */
export function runMessage(report: RunReport): RunMessage {
  return { kind: 'run', summary: summarize(report) };
}

/** Whether an outcome's kind (or a channel a record names) is one of the channels. */
export function isChannelKind(kind: string): kind is ChannelKind {
  return (CHANNEL_KINDS as readonly string[]).includes(kind);
}

/** A rotation record's signal as a message. */
export function signalMessage(record: RotationRecord, signal: SignalKind): SignalMessage {
  return { kind: 'signal', signal, record };
}

/**
 * Sends a message to every configured channel (SNS, Slack, EventBridge) but those in `skip`, each
 * on its own: a failing channel is an outcome, not an exception. A signal's outcomes start with
 * its event name (`Rotation Complete: published ...`).
 *
 * @example await notify(runMessage(report), { clients, settings, region: home })
 */
export async function notify(message: Message, options: NotifyOptions): Promise<Outcome[]> {
  const skip = new Set(options.skip ?? []);
  const label = message.kind === 'signal' ? SIGNALS[message.signal].detailType : null;
  return Promise.all(
    channelsOf(options)
      .filter((channel) => !skip.has(channel.kind))
      .map((channel) => deliver(channel, message, label)),
  );
}

async function deliver(channel: Channel, message: Message, label: string | null): Promise<Outcome> {
  const { kind, target } = channel;
  const said = (detail: string) => (label ? `${label}: ${detail}` : detail);
  try {
    const sent = await channel.send(channel.render(message).message);
    return { kind, target, status: 'done', detail: said(sent) };
  } catch (error) {
    // The watcher's own errors are written to be read; an SDK's is named, as everywhere else.
    const why = error instanceof NotifyError ? error.message : describeError(error);
    return { kind, target, status: 'failed', detail: said(why) };
  }
}
