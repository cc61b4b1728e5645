import type { RotationRecord } from '../rotations/record.js';
import {
  anyOmitted,
  bytes,
  type Kept,
  keptOf,
  largestFit,
  leftOutNote,
  type Omitted,
  omittedOf,
  type Rendered,
  unitOrder,
} from './fit.js';
import { DETAIL_CONSUMERS, holdingFirst, SIGNAL_SOURCE, SIGNALS, signalDetail } from './signal.js';
import type { Summary } from './summary.js';
import { renderSnsText, sizesOf } from './text.js';
import type { Message, SignalKind } from './types.js';

/** SNS's limit for one Publish: 256 KiB, message attributes included. */
export const SNS_LIMIT = 262_144;
/** EventBridge's limit for one PutEvents entry (source, detail-type, detail and resources). */
export const EVENT_LIMIT = 262_144;
/** EventBridge detail-type of the watcher's own events. */
export const RUN_DETAIL_TYPE = 'Rotation Watcher Run';
export const RUN_SOURCE = 'rotation-watcher';

/**
 * The report as JSON consumers read it ({ changes, consumers, actions, complete, gaps, calls }),
 * holding the kept part of each list in priority order; when something was left out, `omitted`
 * counts it, `truncated` the consumers (as before), and `more` says where to see it all.
 */
export function reportJson(summary: Summary, kept: Kept): Record<string, unknown> {
  const items = summary.items.slice(0, kept.consumers);
  const omitted = omittedOf(sizesOf(summary), kept);
  return {
    changes: summary.changes.slice(0, kept.changes),
    consumers: items.flatMap((item) => (item.consumer ? [item.consumer] : [])),
    actions: items.flatMap((item) => item.outcomes),
    complete: summary.complete,
    gaps: summary.gaps.slice(0, kept.gaps),
    ...(summary.calls ? { calls: summary.calls } : {}),
    ...(summary.quiet ? { quiet: summary.quiet } : {}),
    ...(anyOmitted(omitted)
      ? { truncated: omitted.consumers, omitted, more: leftOutNote(omitted, 'the message') }
      : {}),
  };
}

/**
 * The MessageStructure `json` message: the text for e-mail and SMS (`default`, `email`), the
 * report JSON for queues, functions and HTTP endpoints. The text gets at most a sixth of the
 * budget, the JSON what is left, measured on the whole envelope as SNS counts it.
 */
export function renderSnsJson(summary: Summary, budget = SNS_LIMIT): Rendered<string> {
  const sizes = sizesOf(summary);
  const order = unitOrder(sizes, summary.urgent);
  let textBudget = Math.floor(budget / 6);
  for (;;) {
    const text = renderSnsText(summary, textBudget);
    const envelope = (k: number) => {
      const json = JSON.stringify(reportJson(summary, keptOf(order, k)));
      return JSON.stringify({
        default: text.message,
        email: text.message,
        sqs: json,
        lambda: json,
        https: json,
        http: json,
      });
    };
    const fitted = largestFit(order.length, envelope, bytes, budget);
    // Escaping can make the text larger than its share: give it less until the JSON fits.
    if (fitted.fits || textBudget < 512) {
      return {
        message: fitted.message,
        omitted: most(text.omitted, omittedOf(sizes, keptOf(order, fitted.k))),
      };
    }
    textBudget = Math.floor(textBudget / 2);
  }
}

/** A PutEvents entry without its bus: the bus is a setting, not part of the message. */
export interface EventEntry {
  Source: string;
  DetailType: string;
  Resources: string[];
  Detail: string;
}

/**
 * A message as the watcher's bus carries it, within `budget` bytes as EventBridge counts an entry:
 * a run's `Rotation Watcher Run`, a rotation's `Rotation Complete` or `Rotation Overdue`.
 */
export function renderEvent(message: Message, budget = EVENT_LIMIT): Rendered<EventEntry> {
  return message.kind === 'run'
    ? renderRunEvent(message.summary, budget)
    : renderSignalEvent(message.record, message.signal, budget);
}

/** The `Rotation Watcher Run` event: severity, title and counts, then the report JSON. */
function renderRunEvent(summary: Summary, budget: number): Rendered<EventEntry> {
  const sizes = sizesOf(summary);
  const order = unitOrder(sizes, summary.urgent);
  const resources = summary.items
    .flatMap((item) => (item.consumer ? [item.consumer.arn] : []))
    .slice(0, 10);
  const entry = (k: number): EventEntry => ({
    Source: RUN_SOURCE,
    DetailType: RUN_DETAIL_TYPE,
    Resources: resources,
    Detail: JSON.stringify({
      severity: summary.severity,
      title: summary.title,
      counts: summary.counts,
      ...reportJson(summary, keptOf(order, k)),
    }),
  });
  const fitted = largestFit(order.length, entry, entryBytes, budget);
  return { message: fitted.message, omitted: omittedOf(sizes, keptOf(order, fitted.k)) };
}

/**
 * The signal's event (see `signalDetail`): as many of its consumers as fit, up to
 * DETAIL_CONSUMERS, those still holding the old value first; the rest are counted.
 */
function renderSignalEvent(
  record: RotationRecord,
  signal: SignalKind,
  budget: number,
): Rendered<EventEntry> {
  const entry = (k: number): EventEntry => ({
    Source: SIGNAL_SOURCE,
    DetailType: SIGNALS[signal].detailType,
    Resources: record.value.arn ? [record.value.arn] : [],
    Detail: JSON.stringify(signalDetail(record, k)),
  });
  const total = holdingFirst(record).length;
  const fitted = largestFit(Math.min(total, DETAIL_CONSUMERS), entry, entryBytes, budget);
  return { message: fitted.message, omitted: { consumers: total - fitted.k, changes: 0, gaps: 0 } };
}

/** https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html */
export function entryBytes(entry: EventEntry): number {
  return (
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    entry.Resources.reduce((sum, resource) => sum + bytes(resource), 0)
  );
}

function most(a: Omitted, b: Omitted): Omitted {
  return {
    consumers: Math.max(a.consumers, b.consumers),
    changes: Math.max(a.changes, b.changes),
    gaps: Math.max(a.gaps, b.gaps),
  };
}
