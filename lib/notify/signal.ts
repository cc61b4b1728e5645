/**
 * What a rotation's signal says, whatever the channel: its kind's event name and severity, its
 * title and sentence, the consumers it names and the `Rotation Complete` / `Rotation Overdue`
 * event's detail. The channels' renderers (slack.ts, text.ts, json.ts) lay this out.
 */
import { CLEARED, type RecordedConsumer, type RotationRecord } from '../rotations/record.js';
import { oneLine } from './fit.js';
import type { Severity } from './summary.js';
import type { SignalKind } from './types.js';

export const SIGNAL_SOURCE = 'rotation-watcher';
export const COMPLETE_DETAIL_TYPE = 'Rotation Complete';
export const OVERDUE_DETAIL_TYPE = 'Rotation Overdue';
export const HALTED_DETAIL_TYPE = 'Rotation Halted';

interface SignalSpec {
  /** The event's detail-type, and the outcome's first words. */
  detailType: string;
  /** The SNS attribute `severity`. */
  severity: Severity;
  emoji: string;
  /** The heading of the consumers the message names. */
  heading: string;
  /** Which consumers Slack and the text name (the event lists them all, those holding first). */
  names: (consumer: RecordedConsumer) => boolean;
  /** At most this many: past the first few, the consumers a complete rotation cleared are no news. */
  most: number;
}

/** One entry per signal a record gives: a new kind of signal is one more entry. */
export const SIGNALS: Record<SignalKind, SignalSpec> = {
  complete: {
    detailType: COMPLETE_DETAIL_TYPE,
    severity: 'info',
    emoji: ':white_check_mark:',
    heading: 'Cleared',
    names: () => true,
    most: 10,
  },
  overdue: {
    detailType: OVERDUE_DETAIL_TYPE,
    severity: 'alarm',
    emoji: ':rotating_light:',
    heading: 'Still on the old value',
    names: (consumer) => consumer.state === 'stale-at-deadline',
    most: Number.POSITIVE_INFINITY,
  },
  halted: {
    detailType: HALTED_DETAIL_TYPE,
    severity: 'alarm',
    emoji: ':octagonal_sign:',
    heading: 'Left on the old value',
    names: (consumer) => !CLEARED.has(consumer.state),
    most: Number.POSITIVE_INFINITY,
  },
};

/** The title, as a run report's: Slack's header (without the prefix) and SNS's subject. */
export function signalTitle(record: RotationRecord, signal: SignalKind): string {
  return `rotation-watcher: ${SIGNALS[signal].detailType}: ${oneLine(record.value.name, 200)}`;
}

/** The signal in one sentence: Slack's fallback text and the text's second line. */
export function signalText(record: RotationRecord, signal: SignalKind): string {
  const { stage, version } = record.value;
  // Which version the rotation put in place: a secret's stage and version id, a parameter's number.
  const name = `${record.value.name} (${stage ? `${stage} ` : ''}version ${version ?? 'unknown'})`;
  if (signal === 'halted') return haltedText(record, name);
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

/** `Rotation Halted` in one sentence: what failed, AWS's reasons, and how many are left. */
function haltedText(record: RotationRecord, name: string): string {
  const halt = record.waves?.halt;
  const left = record.consumers.filter((consumer) => !CLEARED.has(consumer.state)).length;
  const what =
    halt?.by === 'person'
      ? 'a person halted them'
      : `the restart of ${halt?.name ?? 'a consumer'}${halt?.ref ? ` (${halt.ref})` : ''} failed: ${halt?.reason ?? 'unknown'}${halt?.stopped.length ? `; stopped: ${halt.stopped.slice(0, 3).join('; ')}` : ''}`;
  return `Rotation halted: no further wave restarts consumers of ${name}, because ${what}. ${left} consumer${left === 1 ? '' : 's'} left on the old value. Fix the value (a new change starts new waves, canary first), or \`rotation-watcher resume ${record.value.name}\`.`;
}

/** The record's consumers, those still holding the old value first (each part in record order). */
export function holdingFirst(record: RotationRecord): RecordedConsumer[] {
  return [
    ...record.consumers.filter((consumer) => !CLEARED.has(consumer.state)),
    ...record.consumers.filter((consumer) => CLEARED.has(consumer.state)),
  ];
}

/**
 * The consumers Slack and the text may name, in order (`most` at most), and how many the signal
 * is about in all; a message that names fewer says how many more there are.
 */
export function namedOf(
  record: RotationRecord,
  signal: SignalKind,
): { named: RecordedConsumer[]; all: number } {
  const { names, most } = SIGNALS[signal];
  const all = holdingFirst(record).filter(names);
  return { named: all.slice(0, most), all: all.length };
}

/** The line a message ends its list with when it names fewer than `all`; null when it names all. */
export function moreNote(more: number, name: string): string | null {
  if (more <= 0) return null;
  return `… ${more.toLocaleString('en-US')} more consumer${more === 1 ? '' : 's'}: \`rotation-watcher status ${name}\` lists them all`;
}

/** What the signal's context says: how many still hold the old value, and which value it is. */
export function signalNotes(record: RotationRecord): { counts: string; value: string } {
  const { value } = record;
  const holding = record.consumers.filter((consumer) => !CLEARED.has(consumer.state)).length;
  const count = record.consumers.length;
  return {
    counts: `${holding} still on the old value, ${count} consumer${count === 1 ? '' : 's'}`,
    value: `${value.service} ${oneLine(value.name, 300)}${value.stage ? ` ${value.stage}` : ''} version ${value.version ?? '?'} changed ${value.changedAt}`,
  };
}

/** The halt as the event says it (without which channels took the signal: that is the record's own bookkeeping). */
function haltDetail(record: RotationRecord) {
  const halt = record.waves?.halt;
  if (!halt) return null;
  const { told: _told, toldAt: _toldAt, ...said } = halt;
  return said;
}

/** At most this many consumers in a signal's event (about 300 bytes each). */
export const DETAIL_CONSUMERS = 400;

type ListedConsumer = Pick<
  RecordedConsumer,
  'kind' | 'arn' | 'name' | 'region' | 'state' | 'action'
>;

/**
 * The `Rotation Complete` or `Rotation Overdue` event's detail, listing the first `listed` of the
 * consumers (those still holding the old value first, at most DETAIL_CONSUMERS) and counting the
 * rest: the record in the state table has them all.
 */
export function signalDetail(record: RotationRecord, listed = DETAIL_CONSUMERS) {
  const ordered = holdingFirst(record);
  const consumers: ListedConsumer[] = ordered
    .slice(0, Math.min(listed, DETAIL_CONSUMERS))
    .map(({ kind, arn, name, region, state, action }) => ({
      kind,
      arn,
      name,
      region,
      state,
      action,
    }));
  return {
    value: record.value,
    status: record.status,
    openedAt: record.openedAt,
    closedAt: record.closedAt,
    deadline: record.deadline,
    supersedes: record.supersedes,
    // What "complete" covered: the regions scanned and the account; nothing else was looked at.
    covered: record.covered ?? null,
    // The staged restarts and why they stopped (`Rotation Halted`); null without waves.
    halt: haltDetail(record),
    waves: record.waves
      ? {
          spec: record.waves.spec,
          status: record.waves.status,
          waves: record.waves.waves.length,
          // The wave in flight's restarts (as many as consumers are listed: the size budget).
          restarts: record.waves.restarts
            .filter((restart) => restart.wave === (record.waves?.waves.length ?? 0) - 1)
            .slice(0, Math.min(listed, DETAIL_CONSUMERS))
            .map(({ arn, name, kind, wave, ref, state, reason }) => ({
              arn,
              name,
              kind,
              wave,
              ref,
              state,
              reason,
            })),
        }
      : null,
    consumerCount: record.consumers.length,
    consumers,
    ...(ordered.length > consumers.length
      ? { consumersNotListed: ordered.length - consumers.length }
      : {}),
  };
}
