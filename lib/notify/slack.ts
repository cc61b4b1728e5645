import type { RunReport } from '../report.js';
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
import { type Item, quietNote, type Summary, summarize } from './summary.js';

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

/**
 * One message a person on call can act on: failures first, then the consumers still on an old
 * value (deleted values, notified, restarted, ...), what could not be read and what changed,
 * with console links; as many of each as fit in Slack's 50 blocks, and a line saying how many
 * were left out. Every string from AWS or an event is escaped, so a name like `<!channel>` or
 * `*bold*` shows as itself and cannot ping or format.
 */
export function renderSlack(
  summary: Summary,
  options: { dryRun?: boolean; maxBlocks?: number } = {},
): Rendered<SlackMessage> {
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

/** The Block Kit message of a report (see renderSlack). */
export function slackMessage(report: RunReport, options: { dryRun?: boolean } = {}): SlackMessage {
  return renderSlack(summarize(report), options).message;
}

function blocksOf(summary: Summary, told: Item[], omitted: Omitted, dryRun?: boolean): Block[] {
  const items = told.slice(0, told.length - omitted.consumers);
  const blocks: Block[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: oneLine(summary.title.replace(/^rotation-watcher: /, ''), 150),
        emoji: true,
      },
    },
  ];
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
  const notes = [
    `${summary.stale} stale, ${summary.counts.consumers} consumers, ${summary.counts.changes} changed`,
    quietNote(summary),
    dryRun ? 'dry run: nothing was changed' : null,
  ].filter(Boolean);
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `rotation-watcher · ${notes.join(' · ')}` }],
  });
  return blocks;
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

export interface PostOptions {
  /** Attempts in all, retries on 429 and 5xx included. */
  attempts?: number;
  /** Longest wait a Retry-After may ask for before giving up, in seconds. */
  maxRetryAfter?: number;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Posts to an incoming webhook. 429 waits as long as Retry-After says; 5xx and network errors
 * retry with a short backoff. Errors never include the URL: it is a credential.
 */
export async function postToSlack(
  url: string,
  message: SlackMessage,
  options: PostOptions = {},
): Promise<string> {
  const attempts = options.attempts ?? 3;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  let last = 'not sent';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let status: number;
    let retryAfter: string | null = null;
    try {
      const reply = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      status = reply.status;
      retryAfter = reply.headers.get('retry-after');
      const body = (await reply.text()).trim();
      if (reply.ok) return `posted (HTTP ${status})`;
      // Only Slack's own error tokens (invalid_payload, no_service, ...) are repeated: a proxy's
      // error page may echo the request path, and the path of a webhook is its secret.
      const token = /^[a-z_]{2,60}$/.test(body) ? `: ${body}` : '';
      last = `Slack answered HTTP ${status}${token}`;
      if (status !== 429 && status < 500) break;
    } catch (error) {
      last = `Slack could not be reached: ${error instanceof Error ? error.name : 'error'}`;
      status = 0;
    }
    if (attempt === attempts) break;
    if (status === 429) {
      const seconds = Number(retryAfter ?? '1');
      const wait = Number.isFinite(seconds) && seconds >= 0 ? seconds : 1;
      if (wait > (options.maxRetryAfter ?? 30)) {
        last = `Slack rate-limited the webhook for ${wait} s, longer than the ${options.maxRetryAfter ?? 30} s the watcher waits`;
        break;
      }
      await sleep(wait * 1000);
    } else {
      await sleep(500 * attempt);
    }
  }
  throw new Error(last);
}
