/**
 * Fitting a message to a channel's limit: every renderer keeps the first k units of one priority
 * order, and the largest k whose rendered message measures within the budget wins. Measuring the
 * real serialized message (not guessing per item) is what keeps escaping and envelopes honest.
 */

/** How many of each list a message shows. `consumers` counts items: consumers, and actions on other targets. */
export interface Kept {
  consumers: number;
  changes: number;
  gaps: number;
}

/** How many of each list a message left out (all zero: nothing was). */
export type Omitted = Kept;

/** A rendered message and what it left out to fit. */
export interface Rendered<T> {
  message: T;
  omitted: Omitted;
}

export type Unit = keyof Kept;

/**
 * The order units are given room in: the `urgent` first items (failed actions, deleted values),
 * then what could not be read, then consumers and changes in turn, so that neither list crowds
 * the other out. Each list keeps its own order, so whatever k is kept is a prefix of each list.
 */
export function unitOrder(sizes: Kept, urgent: number): Unit[] {
  const first = Math.min(urgent, sizes.consumers);
  const order: Unit[] = Array<Unit>(first).fill('consumers');
  for (let i = 0; i < sizes.gaps; i++) order.push('gaps');
  let consumers = sizes.consumers - first;
  let changes = sizes.changes;
  while (consumers > 0 || changes > 0) {
    if (consumers-- > 0) order.push('consumers');
    if (changes-- > 0) order.push('changes');
  }
  return order;
}

/** How many of each list the first `k` units of `order` hold. */
export function keptOf(order: Unit[], k: number): Kept {
  const kept: Kept = { consumers: 0, changes: 0, gaps: 0 };
  for (let i = 0; i < k && i < order.length; i++) kept[order[i] as Unit] += 1;
  return kept;
}

export function omittedOf(sizes: Kept, kept: Kept): Omitted {
  return {
    consumers: sizes.consumers - kept.consumers,
    changes: sizes.changes - kept.changes,
    gaps: sizes.gaps - kept.gaps,
  };
}

export function anyOmitted(omitted: Omitted): boolean {
  return omitted.consumers + omitted.changes + omitted.gaps > 0;
}

/**
 * The message of the largest `k` (0..total) whose `size` is within `budget`: all of it when it
 * fits (a small report is never trimmed). k doubles from 0 until a message is too large, then a
 * binary search narrows it, so no probe renders much more than twice what fits (a sweep's whole
 * report can be tens of megabytes). When even k = 0 does not fit, that smallest message is
 * returned with `fits` false, for the caller to shrink something else.
 */
export function largestFit<T>(
  total: number,
  render: (k: number) => T,
  size: (message: T) => number,
  budget: number,
): { k: number; message: T; fits: boolean } {
  let best: { k: number; message: T } | null = null;
  let tooLarge = total + 1;
  for (let k = 0; ; k = Math.min(total, Math.max(1, k * 2))) {
    const message = render(k);
    if (size(message) > budget) {
      tooLarge = k;
      break;
    }
    best = { k, message };
    if (k === total) return { ...best, fits: true };
  }
  if (!best) return { k: 0, message: render(0), fits: false };
  let low = best.k + 1;
  let high = tooLarge - 1;
  while (low <= high) {
    const k = Math.floor((low + high) / 2);
    const message = render(k);
    if (size(message) <= budget) {
      best = { k, message };
      low = k + 1;
    } else {
      high = k - 1;
    }
  }
  return { ...best, fits: true };
}

export const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

const count = (n: number, one: string, many: string) =>
  `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/**
 * What a trimmed message says about what it left out, and where to see all of it: `drift`
 * lists every stale consumer and the changes behind them; the function's log has every change
 * and action of the run.
 */
export function leftOutNote(omitted: Omitted, where: string): string | null {
  const parts = [
    omitted.consumers ? count(omitted.consumers, 'consumer', 'consumers') : null,
    omitted.changes ? count(omitted.changes, 'change', 'changes') : null,
    omitted.gaps ? count(omitted.gaps, 'unread part', 'unread parts') : null,
  ].filter((part): part is string => part !== null);
  if (parts.length === 0) return null;
  const what = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : parts[0];
  return `… ${what} left out to fit ${where}: run \`rotation-watcher drift\` to see them all (the function's log lists every change and action of the run)`;
}

/** Flattens a string to one printable line of at most `max` characters. */
export function oneLine(text: string, max = 300): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
