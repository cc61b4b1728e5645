import type { Settings } from '../config.js';
import type { Outcome } from '../domain/index.js';
import type { PipelineRun } from '../pipeline.js';
import type { Plan } from '../plan.js';
import type { Values } from './command.js';
import type { Io } from './io.js';
import { printable } from './table.js';

/**
 * What the commands that can act (`drift --apply`, `simulate`) say last: what they did not do, or
 * where the notifications went. On stdout under the table; on stderr with --json, which keeps
 * stdout one JSON object.
 */
export function sayLast(line: string, values: Values, io: Io): void {
  if (values.json) io.err(`rotation-watcher: ${line}\n`);
  else io.out(`${line}\n`);
}

/**
 * Where a run that acted told people: under the table; with --json only when it told nobody for
 * want of a channel (the JSON's actions already say where each notification went).
 */
export function sayWhereTold(
  settings: Settings,
  run: Pick<PipelineRun, 'notifications'>,
  values: Values,
  io: Io,
): void {
  if (values.json && channelsOf(settings).length > 0) return;
  sayLast(whereTold(settings, run), values, io);
}

/** Said after a run that only planned. */
export const NOTHING_CHANGED = 'nothing was changed: pass --apply to act';

/** The channels the settings name, as `kind target`. */
export function channelsOf(settings: Settings): string[] {
  return [
    settings.snsTopicArn && `sns ${settings.snsTopicArn}`,
    settings.slackWebhookUrl && 'slack (WATCHER_SLACK_WEBHOOK_URL)',
    settings.slackWebhookParam && `slack (webhook in ${settings.slackWebhookParam})`,
    settings.eventBus && `eventbridge ${settings.eventBus}`,
  ].filter((channel): channel is string => Boolean(channel));
}

/**
 * Where a run that acted sent its notifications: nowhere (and which variables would change that),
 * to which channels, or to none because there was nothing worth telling.
 */
export function whereTold(settings: Settings, run: Pick<PipelineRun, 'notifications'>): string {
  const channels = channelsOf(settings);
  if (channels.length === 0)
    return 'notifications went nowhere: no channel is set; set WATCHER_SNS_TOPIC_ARN, WATCHER_SLACK_WEBHOOK_URL (or WATCHER_SLACK_WEBHOOK_PARAM) or WATCHER_EVENT_BUS';
  const sent = run.notifications.filter((outcome) => outcome.status === 'done');
  const failed = run.notifications.filter((outcome) => outcome.status === 'failed');
  if (sent.length === 0 && failed.length === 0)
    return `nothing worth telling: no notification sent (channels: ${channels.join(', ')})`;
  const parts = [
    sent.length > 0 && `notified ${sent.map(named).join(', ')}`,
    failed.length > 0 && `could not notify ${failed.map(named).join(', ')}`,
  ].filter(Boolean);
  return parts.join('; ');
}

function named(outcome: Outcome): string {
  return printable(`${outcome.kind} ${outcome.target}`);
}

/**
 * The question `drift --apply` asks before acting, from the plan it is about to carry out:
 * `Redeploy 3 services and resubmit 1 job in us-east-1? [y/N] `; `null` when the plan restarts
 * nobody and tells of nobody (there is nothing to confirm).
 */
export function question(planned: Plan, regions: string[]): string | null {
  const sent = planned.actions.filter((action) => action.status === 'planned');
  const services = sent.filter((action) => action.kind === 'redeploy').length;
  const jobs = sent.filter((action) => action.kind === 'resubmit').length;
  const capped = planned.actions.filter((action) => action.heldBy === 'max-actions').length;
  const waiting = planned.actions.filter((action) => action.heldBy === 'waves').length;
  const told = planned.decisions.filter(
    (decision) => decision.action === 'notify' || decision.severity === 'alarm',
  ).length;
  const where = ` in ${regions.join(', ')}`;
  const restarts = [
    services > 0 && `redeploy ${services} service${services === 1 ? '' : 's'}`,
    jobs > 0 && `resubmit ${jobs} job${jobs === 1 ? '' : 's'}`,
  ].filter((part): part is string => Boolean(part));
  const reasons = [
    capped > 0 && `${capped} more held back by WATCHER_MAX_ACTIONS`,
    waiting > 0 && `${waiting} more waiting for later waves`,
  ].filter(Boolean);
  const heldBack = reasons.length > 0 ? ` (${reasons.join(', ')})` : '';
  if (restarts.length > 0) return `${capital(restarts.join(' and '))}${where}${heldBack}? [y/N] `;
  if (told > 0)
    return `Nothing to restart${heldBack}; notify about ${told} consumer${told === 1 ? '' : 's'}${where}? [y/N] `;
  return null;
}

function capital(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}
