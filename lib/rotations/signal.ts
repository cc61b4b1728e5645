import { PublishCommand } from '@aws-sdk/client-sns';
import { describeError } from '../aws/index.js';
import type { Outcome } from '../domain/index.js';
import {
  asciiSubject,
  escapeMrkdwn,
  oneLine,
  postToSlack,
  putEvent,
  type SlackMessage,
  slackWebhook,
} from '../notify/index.js';
import { regionOf } from '../refs/index.js';
import { CLEARED, type RecordedConsumer, type RotationRecord, type Signal } from './record.js';
import { type FollowDeps, recordFailure } from './types.js';

export const SIGNAL_SOURCE = 'rotation-watcher';
export const COMPLETE_DETAIL_TYPE = 'Rotation Complete';
export const OVERDUE_DETAIL_TYPE = 'Rotation Overdue';
/** The `Rotation Complete` or `Rotation Overdue` event's detail. */
export function signalDetail(record: RotationRecord) {
  // EventBridge takes 256 KB an event: past DETAIL_CONSUMERS, those still holding the old value
  // first, the rest are counted, not listed (the record in the state table has them all).
  const ordered = [
    ...record.consumers.filter((consumer) => !CLEARED.has(consumer.state)),
    ...record.consumers.filter((consumer) => CLEARED.has(consumer.state)),
  ];
  // By count, then by size: names run to 255 characters, and the event must stay under 256 KB.
  const listed: Array<
    Pick<RecordedConsumer, 'kind' | 'arn' | 'name' | 'region' | 'state' | 'action'>
  > = [];
  let bytes = 0;
  for (const { kind, arn, name, region, state, action } of ordered.slice(0, DETAIL_CONSUMERS)) {
    const entry = { kind, arn, name, region, state, action };
    bytes += Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (bytes > DETAIL_CONSUMER_BYTES) break;
    listed.push(entry);
  }
  return {
    value: record.value,
    status: record.status,
    openedAt: record.openedAt,
    closedAt: record.closedAt,
    deadline: record.deadline,
    supersedes: record.supersedes,
    // What "complete" covered: the regions scanned and the account; nothing else was looked at.
    covered: record.covered ?? null,
    consumerCount: record.consumers.length,
    consumers: listed,
    ...(ordered.length > listed.length
      ? { consumersNotListed: ordered.length - listed.length }
      : {}),
  };
}

/** At most this many consumers in a signal's detail (about 300 bytes each)... */
export const DETAIL_CONSUMERS = 400;
/** ...and at most this much of it. */
const DETAIL_CONSUMER_BYTES = 200_000;

/** One short line for SNS and Slack. */
export function signalText(record: RotationRecord, signal: Exclude<Signal, null>): string {
  const { stage, version } = record.value;
  // Which version the rotation put in place: a secret's stage and version id, a parameter's number.
  const name = `${record.value.name} (${stage ? `${stage} ` : ''}version ${version ?? 'unknown'})`;
  if (signal === 'complete') {
    const count = record.consumers.length;
    const scope = record.covered
      ? ` in ${record.covered.regions.join(', ')}${record.covered.accounts.length ? ` of account ${record.covered.accounts.join(', ')}` : ''}`
      : '';
    return `Rotation complete: no running ECS or Batch consumer${scope} holds the value of ${name} from before ${record.value.changedAt} (${count} consumer${count === 1 ? '' : 's'} cleared).`;
  }
  const left = record.consumers.filter((consumer) => consumer.state === 'stale-at-deadline');
  return `Rotation overdue: ${left.length} consumer${left.length === 1 ? '' : 's'} still hold the value of ${name} from before ${record.value.changedAt} at the deadline: ${left
    .slice(0, 10)
    .map((consumer) => consumer.name)
    .join(', ')}${left.length > 10 ? ', …' : ''}.`;
}

/** The signal as a short Slack message: the line, who was cleared or is left, the value. */
export function signalSlack(record: RotationRecord, signal: Exclude<Signal, null>): SlackMessage {
  const line = escapeMrkdwn(oneLine(signalText(record, signal), 1000));
  const shown = record.consumers
    .filter((consumer) => signal === 'complete' || consumer.state === 'stale-at-deadline')
    .slice(0, 10);
  const more = record.consumers.length - shown.length;
  const lines = shown.map(
    (consumer) =>
      `• ${escapeMrkdwn(oneLine(consumer.name, 150))} (${consumer.kind}): ${consumer.state}${consumer.action ? `, ${consumer.action}` : ''}`,
  );
  if (signal === 'complete' && more > 0) lines.push(`and ${more} more`);
  const { value } = record;
  return {
    text: line,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${signal === 'complete' ? ':white_check_mark:' : ':rotating_light:'} ${line}`,
        },
      },
      ...(lines.length
        ? [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }]
        : []),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `rotation-watcher · ${value.service} ${escapeMrkdwn(oneLine(value.name, 300))}${value.stage ? ` ${value.stage}` : ''} version ${escapeMrkdwn(value.version ?? '?')} changed ${value.changedAt}`,
          },
        ],
      },
    ],
  };
}

/**
 * Sends the signal to the watcher's bus, topic and Slack, each on its own. When every configured
 * channel took it, the record notes it was told and leaves the sweep's list; otherwise a later
 * look tells it again (so a channel may hear it twice, never zero times).
 */
export async function tell(
  record: RotationRecord,
  signal: Exclude<Signal, null>,
  deps: FollowDeps,
): Promise<Outcome[]> {
  const { clients, settings, home } = deps;
  const detailType = signal === 'complete' ? COMPLETE_DETAIL_TYPE : OVERDUE_DETAIL_TYPE;
  const outcomes: Outcome[] = [];
  // Each channel hears it once: one that keeps refusing does not make the others hear it again.
  const told = new Set(record.told ?? []);
  const attempt = async (kind: string, target: string, send: () => Promise<unknown>) => {
    if (told.has(kind)) return;
    try {
      await send();
      told.add(kind);
      outcomes.push({ kind, target, status: 'done', detail: detailType });
    } catch (error) {
      outcomes.push({
        kind,
        target,
        status: 'failed',
        detail: `${detailType}: ${describeError(error)}`,
      });
    }
  };
  // On the watcher's bus, where its run events go (WATCHER_EVENT_BUS); none: SNS only.
  const bus = settings.eventBus;
  if (bus)
    await attempt('event', bus, () =>
      putEvent(clients, home, bus, {
        Source: SIGNAL_SOURCE,
        DetailType: detailType,
        Detail: JSON.stringify(signalDetail(record)),
        Resources: record.value.arn ? [record.value.arn] : [],
      }),
    );
  if (settings.snsTopicArn)
    await attempt('sns', settings.snsTopicArn, () =>
      clients.get('sns', regionOf(settings.snsTopicArn as string) ?? home).send(
        new PublishCommand({
          TopicArn: settings.snsTopicArn as string,
          Subject: asciiSubject(`${detailType}: ${record.value.name}`),
          Message: signalText(record, signal),
          MessageAttributes: {
            severity: { DataType: 'String', StringValue: signal === 'complete' ? 'info' : 'alarm' },
          },
        }),
      ),
    );
  if (settings.slackWebhookUrl ?? settings.slackWebhookParam)
    // The webhook URL is a credential: outcomes name the parameter or just "webhook".
    await attempt('slack', settings.slackWebhookParam ?? 'webhook', async () =>
      postToSlack(
        await slackWebhook({ clients, settings, region: home }),
        signalSlack(record, signal),
        deps.slack,
      ),
    );
  const failed = outcomes.some((outcome) => outcome.status === 'failed');
  const at = (deps.now?.() ?? new Date()).toISOString();
  try {
    // Which channels took it, and, once all did, when it was told; until then it stays listed
    // for the sweep (and noted as not told: a record from before signals were noted would
    // otherwise count as told).
    await deps.store.update(record.pk, record.sk, (latest) => {
      if (!latest) return null;
      const channels = [...new Set([...(latest.told ?? []), ...told])].sort();
      const signalled = failed ? (latest.signalled ?? null) : latest.signalled || at;
      if (signalled === latest.signalled && channels.length === (latest.told ?? []).length)
        return null;
      return { record: { ...latest, told: channels, signalled }, result: null };
    });
    if (failed) await deps.store.track(record);
    else await deps.store.untrack(record.pk, record.sk);
  } catch (error) {
    outcomes.push(
      recordFailure(
        record.value.name,
        failed
          ? 'could not be listed to tell it again'
          : 'could not note the signal as told (it may be told again)',
        error,
      ),
    );
  }
  return outcomes;
}
