import type { RecordedConsumer, RotationRecord } from '../rotations/record.js';
import {
  keptOf,
  largestFit,
  leftOutNote,
  type Omitted,
  omittedOf,
  oneLine,
  type Rendered,
  unitOrder,
} from './fit.js';
import { consumerLink, parameterLink, secretLink } from './links.js';
import { moreNote, namedOf, SIGNALS, signalNotes, signalText, signalTitle } from './signal.js';
import { type Item, quietNote, type Summary } from './summary.js';
import type { Message, SignalKind } from './types.js';

// Where the rotations' dependencies name the Slack channel's options.
export { type PostOptions, postToSlack } from './post.js';

/** A Slack Block Kit message: https://api.slack.com/reference/block-kit/blocks */
export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

type Block = Record<string, unknown>;

export const MAX_BLOCKS = 50;
/** Slack's limit is 3,000 characters a section; the rest is room for the line that crosses it. */
const MAX_SECTION = 2900;
const MAX_LINE = 1000;
/** Longer links are left out (the label stays): a URL that long only comes from a hostile name. */
const MAX_URL = 600;
const EMOJI = {
  alarm: ':rotating_light:',
  action: ':arrows_counterclockwise:',
  info: ':warning:',
} as const;

/** How a message is laid out for Slack: `maxBlocks` (default Slack's 50), and a dry run's note. */
export interface SlackLayout {
  dryRun?: boolean;
  maxBlocks?: number;
}

/**
 * A message as Slack shows it, within its 50 blocks and 3,000 characters a section: a header,
 * what needs a person first, a line saying what was left out, and the `rotation-watcher · ...`
 * context, for a run's report and a rotation's signal alike. Every string from AWS or an event
 * is escaped, so a name like `<!channel>` or `*bold*` shows as itself and cannot ping or format.
 */
export function renderSlack(message: Message, layout: SlackLayout = {}): Rendered<SlackMessage> {
  return message.kind === 'run'
    ? renderRun(message.summary, layout)
    : renderSignal(message.record, message.signal, layout);
}

/**
 * A run: failures first, then the consumers still on an old value (deleted values, notified,
 * restarted, ...), what could not be read and what changed, with console links; as many of each
 * as fit, and a line saying how many were left out.
 */
function renderRun(summary: Summary, options: SlackLayout): Rendered<SlackMessage> {
  // Slack lists only the consumers a person is told of: fresh and ignored ones are not news.
  // Failures and deleted values are always told, so they still lead the told items.
  const told = summary.items.filter((item) => item.told);
  const sizes = {
    consumers: told.length,
    changes: summary.changes.length,
    gaps: summary.gaps.length,
  };
  const order = unitOrder(sizes, summary.urgent);
  const fitted = largestFit(
    order.length,
    (k) => blocksOf(summary, told, omittedOf(sizes, keptOf(order, k)), options.dryRun),
    (blocks) => blocks.length,
    options.maxBlocks ?? MAX_BLOCKS,
  );
  return {
    message: { text: escapeMrkdwn(oneLine(summary.title, 300)), blocks: fitted.message },
    omitted: omittedOf(sizes, keptOf(order, fitted.k)),
  };
}

/**
 * A signal: its sentence, the consumers it is about (those still holding the old value first)
 * with console links, as many as fit, and how many more there are.
 */
function renderSignal(
  record: RotationRecord,
  signal: SignalKind,
  options: SlackLayout,
): Rendered<SlackMessage> {
  const { named, all } = namedOf(record, signal);
  const line = escapeMrkdwn(oneLine(signalText(record, signal), 1000));
  const { emoji, heading } = SIGNALS[signal];
  const notes = signalNotes(record);
  const blocksFor = (k: number): Block[] => {
    const blocks = [
      headerBlock(signalTitle(record, signal)),
      { type: 'section', text: { type: 'mrkdwn', text: `${emoji} ${line}` } },
    ];
    if (k > 0) sections(blocks, `*${heading}*`, named.slice(0, k).map(recordedLine));
    const more = moreNote(all - k, escapeMrkdwn(oneLine(record.value.name, 300)));
    if (more) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: more } });
    blocks.push(
      contextBlock([
        notes.counts,
        escapeMrkdwn(notes.value),
        options.dryRun ? 'dry run: nothing was changed' : null,
      ]),
    );
    return blocks;
  };
  const fitted = largestFit(
    named.length,
    blocksFor,
    (blocks) => blocks.length,
    options.maxBlocks ?? MAX_BLOCKS,
  );
  return {
    message: { text: line, blocks: fitted.message },
    omitted: { consumers: all - fitted.k, changes: 0, gaps: 0 },
  };
}

function blocksOf(summary: Summary, told: Item[], omitted: Omitted, dryRun?: boolean): Block[] {
  const items = told.slice(0, told.length - omitted.consumers);
  const blocks: Block[] = [headerBlock(summary.title)];
  const failed = items.flatMap((item) =>
    item.outcomes.filter((outcome) => outcome.status === 'failed'),
  );
  if (failed.length) {
    sections(
      blocks,
      ':x: *Failed: needs a person*',
      failed.map(
        (action) =>
          `• ${escapeMrkdwn(oneLine(action.target, 200))}: ${escapeMrkdwn(oneLine(action.detail, 300))}`,
      ),
    );
  }
  // An action on no consumer that failed has its line above; a consumer keeps its link here.
  const consumers = items.filter((item) => item.consumer || item.shown?.status !== 'failed');
  const title = `${EMOJI[summary.severity]} *Still on the old value*`;
  if (told.length === 0)
    sections(blocks, title, [
      summary.quiet > 0
        ? 'none new: the stale consumers were all told of before'
        : 'none: every consumer already reads the new value',
    ]);
  else if (consumers.length) sections(blocks, title, consumers.map(itemLine));
  const gaps = summary.gaps.slice(0, summary.gaps.length - omitted.gaps);
  if (gaps.length) {
    sections(
      blocks,
      ':grey_question: *Not read: the answer is incomplete*',
      gaps.map(
        (gap) =>
          `• ${escapeMrkdwn(oneLine(gap.scope, 150))} in \`${gap.region}\` (${escapeMrkdwn(gap.api)}): ${escapeMrkdwn(oneLine(gap.error, 200))}`,
      ),
    );
  }
  const changes = summary.changes.slice(0, summary.changes.length - omitted.changes);
  if (changes.length) sections(blocks, '*What changed*', changes.map(changeLine));
  const note = leftOutNote(omitted, "Slack's limits");
  if (note) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: note } });
  blocks.push(
    contextBlock([
      `${summary.stale} stale, ${summary.counts.consumers} consumers, ${summary.counts.changes} changed`,
      quietNote(summary),
      dryRun ? 'dry run: nothing was changed' : null,
    ]),
  );
  return blocks;
}

/** The header every message starts with: its title, without the `rotation-watcher: ` prefix. */
function headerBlock(title: string): Block {
  return {
    type: 'header',
    text: {
      type: 'plain_text',
      text: oneLine(title.replace(/^rotation-watcher: /, ''), 150),
      emoji: true,
    },
  };
}

/** The context every message ends with: `rotation-watcher · ` and its notes (mrkdwn). */
function contextBlock(notes: Array<string | null>): Block {
  return {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `rotation-watcher · ${notes.filter(Boolean).join(' · ')}` }],
  };
}

/** A recorded consumer, linked, with what became of it and what the watcher did. */
function recordedLine(consumer: RecordedConsumer): string {
  const link = consumerLink(consumer.kind, consumer.region, consumer.arn, consumer.parent);
  return `• ${slackLink(link, consumer.name)} (${escapeMrkdwn(consumer.kind)}, \`${consumer.region}\`): ${consumer.state}${consumer.action ? `, ${escapeMrkdwn(consumer.action)}` : ''}`;
}

function itemLine({ consumer, shown, rank }: Item): string {
  const outcome = shown
    ? `*${shown.kind}* ${statusWord(shown.status)}: ${escapeMrkdwn(oneLine(shown.detail, 200))}`
    : '';
  if (!consumer) return `• ${escapeMrkdwn(oneLine(shown?.target ?? '', 200))} — ${outcome}`;
  const did = outcome || `*${consumer.action}*: ${escapeMrkdwn(oneLine(consumer.reason, 200))}`;
  const link = consumerLink(consumer.kind, consumer.region, consumer.arn, consumer.parent);
  const alarm = rank === 'alarm' ? ':rotating_light: ' : '';
  return `• ${alarm}${slackLink(link, consumer.name)} (${consumer.kind}, \`${consumer.region}\`) — ${did}`;
}

function changeLine(change: Summary['changes'][number]): string {
  const link =
    change.service === 'ssm'
      ? parameterLink(change.region, change.name)
      : secretLink(change.region, change.name);
  const kind = change.service === 'ssm' ? 'Parameter' : 'Secret';
  return `• ${kind} ${slackLink(link, change.name)} in \`${change.region}\`: ${escapeMrkdwn(oneLine(change.operation, 64))} at ${escapeMrkdwn(change.changedAt)}`;
}

/** Adds a titled list as sections of at most MAX_SECTION characters each. */
function sections(blocks: Block[], title: string, lines: string[]): void {
  let text = title;
  for (const whole of lines) {
    const line = whole.length > MAX_LINE ? `${whole.slice(0, MAX_LINE - 1)}…` : whole;
    if (text.length + line.length + 1 > MAX_SECTION) {
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text } });
      text = '';
    }
    text = text ? `${text}\n${line}` : line;
  }
  if (text) blocks.push({ type: 'section', text: { type: 'mrkdwn', text } });
}

function statusWord(status: string): string {
  return status === 'done' ? 'done' : status === 'failed' ? 'FAILED' : status;
}

/** A link whose label is escaped text; `|` would end the label early, so it is replaced. */
function slackLink(url: string, label: string): string {
  if (url.length > MAX_URL) return escapeMrkdwn(oneLine(label, 150));
  return `<${url.replace(/[<>|]/g, encodeURIComponent)}|${escapeMrkdwn(oneLine(label, 150)).replace(/\|/g, '¦')}>`;
}

/**
 * Slack's mrkdwn escaping: `&`, `<` and `>` become entities (so no mention or link can be
 * forged), and a zero-width space before `*_~\`` keeps names from turning into formatting.
 */
export function escapeMrkdwn(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([*_~`])/g, '\u200b$1');
}
