import type { RunReport } from '../report.js';
import { consumerLink, parameterLink, secretLink } from './links.js';
import { oneLine, summarize } from './summary.js';

/** A Slack Block Kit message: https://api.slack.com/reference/block-kit/blocks */
export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

const MAX_BLOCKS = 50;
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
 * One message a person on call can act on: what changed, which consumers are stale, what was
 * done and what failed, with console links. Every string from AWS or an event is escaped, so
 * a name like `<!channel>` or `*bold*` shows as itself and cannot ping or format.
 */
export function slackMessage(report: RunReport, options: { dryRun?: boolean } = {}): SlackMessage {
  const summary = summarize(report);
  const blocks: Array<Record<string, unknown>> = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: oneLine(summary.title.replace(/^rotation-watcher: /, ''), 150),
        emoji: true,
      },
    },
  ];
  const changes = report.changes.map((change) => {
    const link =
      change.service === 'ssm'
        ? parameterLink(change.region, change.name)
        : secretLink(change.region, change.name);
    const kind = change.service === 'ssm' ? 'Parameter' : 'Secret';
    return `• ${kind} ${slackLink(link, change.name)} in \`${change.region}\`: ${escapeMrkdwn(oneLine(change.operation, 64))} at ${escapeMrkdwn(change.changedAt)}`;
  });
  sections(blocks, `${EMOJI[summary.severity]} *What changed*`, changes);
  const outcomes = new Map(report.actions.map((action) => [action.target, action]));
  const consumers = report.consumers
    .filter(
      (consumer) =>
        (consumer.stale && consumer.action !== 'ignore') ||
        consumer.action === 'notify' ||
        outcomes.has(consumer.arn),
    )
    .map((consumer) => {
      const outcome = outcomes.get(consumer.arn);
      const did = outcome
        ? `*${outcome.kind}* ${statusWord(outcome.status)}: ${escapeMrkdwn(oneLine(outcome.detail, 200))}`
        : `*${consumer.action}*: ${escapeMrkdwn(oneLine(consumer.reason, 200))}`;
      return `• ${slackLink(consumerLink(consumer.kind, consumer.region, consumer.arn, consumer.parent), consumer.name)} (${consumer.kind}, \`${consumer.region}\`) — ${did}`;
    });
  sections(
    blocks,
    '*Still on the old value*',
    consumers.length ? consumers : ['none: every consumer already reads the new value'],
  );
  const failed = report.actions.filter((action) => action.status === 'failed');
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
  if (report.gaps.length) {
    sections(
      blocks,
      ':grey_question: *Not read: the answer is incomplete*',
      report.gaps.map(
        (gap) =>
          `• ${escapeMrkdwn(oneLine(gap.scope, 150))} in \`${gap.region}\` (${escapeMrkdwn(gap.api)}): ${escapeMrkdwn(oneLine(gap.error, 200))}`,
      ),
    );
  }
  const notes = [
    `${summary.stale} stale, ${report.consumers.length} consumers`,
    options.dryRun ? 'dry run: nothing was changed' : null,
  ].filter(Boolean);
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `rotation-watcher · ${notes.join(' · ')}` }],
  });
  return { text: escapeMrkdwn(oneLine(summary.title, 300)), blocks: withinLimits(blocks) };
}

/** Adds a titled list as sections of at most MAX_SECTION characters each. */
function sections(blocks: Array<Record<string, unknown>>, title: string, lines: string[]): void {
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

/** Slack takes at most 50 blocks: keep the first 48, say how many were cut, keep the footer. */
function withinLimits(blocks: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  if (blocks.length <= MAX_BLOCKS) return blocks;
  const footer = blocks[blocks.length - 1] as Record<string, unknown>;
  const kept = blocks.slice(0, MAX_BLOCKS - 2);
  const cut = blocks.length - 1 - kept.length;
  return [
    ...kept,
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `… ${cut} more sections cut (Slack's limit); the SNS message and the logs have the full list`,
      },
    },
    footer,
  ];
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
