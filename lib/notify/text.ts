import type { RecordedConsumer, RotationRecord } from '../rotations/record.js';
import {
  bytes,
  type Kept,
  keptOf,
  largestFit,
  leftOutNote,
  omittedOf,
  oneLine,
  type Rendered,
  unitOrder,
} from './fit.js';
import { moreNote, namedOf, SIGNALS, signalText, signalTitle } from './signal.js';
import { type Item, quietNote, type Summary } from './summary.js';
import type { SignalKind } from './types.js';

/**
 * The plain-text message for e-mail, SMS and logs, within `budget` bytes of UTF-8: the title,
 * the counts, then one line per consumer (what needs action first), per unread part and per
 * change, with a last line saying what was left out to fit.
 */
export function renderSnsText(
  summary: Summary,
  budget = Number.POSITIVE_INFINITY,
): Rendered<string> {
  const sizes = sizesOf(summary);
  const order = unitOrder(sizes, summary.urgent);
  const fitted = largestFit(order.length, (k) => textOf(summary, keptOf(order, k)), bytes, budget);
  return { message: fitted.message, omitted: omittedOf(sizes, keptOf(order, fitted.k)) };
}

/**
 * A signal as plain text for e-mail and SMS, within `budget` bytes: the title, the sentence, then
 * one line per consumer it is about (those still holding the old value first), with a last line
 * saying how many more there are.
 */
export function renderSignalText(
  record: RotationRecord,
  signal: SignalKind,
  budget = Number.POSITIVE_INFINITY,
): Rendered<string> {
  const { named, all } = namedOf(record, signal);
  const textOf = (k: number) => {
    const lines = [signalTitle(record, signal), oneLine(signalText(record, signal), 4000)];
    if (k > 0)
      lines.push('', `${SIGNALS[signal].heading}:`, ...named.slice(0, k).map(recordedLine));
    const more = moreNote(all - k, oneLine(record.value.name, 300));
    if (more) lines.push('', more);
    return `${lines.join('\n')}\n`;
  };
  const fitted = largestFit(named.length, textOf, bytes, budget);
  return { message: fitted.message, omitted: { consumers: all - fitted.k, changes: 0, gaps: 0 } };
}

export function sizesOf(summary: Summary): Kept {
  return {
    consumers: summary.items.length,
    changes: summary.changes.length,
    gaps: summary.gaps.length,
  };
}

function textOf(summary: Summary, kept: Kept): string {
  const { counts } = summary;
  const lines = [
    summary.title,
    `${counts.changes} changed, ${plural(counts.consumers, 'consumer')} (${counts.stale} stale), ${counts.restarted} restarted, ${counts.failed} failed, ${counts.skipped} skipped, ${plural(counts.gaps, 'part')} not read`,
    '',
    'Consumers:',
  ];
  if (summary.items.length === 0 && !summary.quiet) lines.push('  (none running)');
  for (const item of summary.items.slice(0, kept.consumers)) lines.push(itemLine(item));
  const quiet = quietNote(summary);
  if (quiet) lines.push(`  (${quiet})`);
  if (summary.gaps.length) {
    lines.push('', 'Not read (the answer is incomplete):');
    for (const gap of summary.gaps.slice(0, kept.gaps))
      lines.push(`  - ${oneLine(gap.scope)} in ${gap.region} (${gap.api}): ${oneLine(gap.error)}`);
  }
  lines.push('', 'What changed:');
  for (const change of summary.changes.slice(0, kept.changes)) {
    lines.push(
      `  - ${change.service === 'ssm' ? 'parameter' : 'secret'} ${oneLine(change.name)} in ${change.region}: ${oneLine(change.operation, 64)} at ${change.changedAt}`,
    );
  }
  const note = leftOutNote(omittedOf(sizesOf(summary), kept), 'the message');
  if (note) lines.push('', note);
  return `${lines.join('\n')}\n`;
}

function itemLine({ consumer, shown }: Item): string {
  const did = (outcome: NonNullable<Item['shown']>) =>
    `${outcome.kind} ${outcome.status}: ${oneLine(outcome.detail)}`;
  if (!consumer) return `  - [action] ${oneLine(shown?.target ?? '')} — ${shown ? did(shown) : ''}`;
  const state = consumer.stale ? 'STALE' : 'fresh';
  const what = shown ? did(shown) : `${consumer.action}: ${oneLine(consumer.reason)}`;
  return `  - [${state}] ${consumer.kind} ${oneLine(consumer.name)} (${consumer.region}) — ${what}`;
}

function recordedLine(consumer: RecordedConsumer): string {
  const action = consumer.action ? `, ${oneLine(consumer.action, 64)}` : '';
  return `  - [${consumer.state}] ${consumer.kind} ${oneLine(consumer.name)} (${consumer.region})${action}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
