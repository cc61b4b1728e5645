import type { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SlackPostError, WithheldError } from './errors.js';
import type { SlackMessage } from './slack.js';

/** How the Slack channel reaches Slack: where its webhook is read, and how a post is retried. */
export interface PostOptions {
  /**
   * Reads and caches the webhook's SecureString (WATCHER_SLACK_WEBHOOK_PARAM): the composition
   * root builds one per container (`webhookProvider`). None: each notification reads it again.
   */
  webhooks?: SSMProvider;
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
  let lastStatus: number | null = null;
  let cause: unknown;
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
      lastStatus = status;
      cause = undefined;
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
      lastStatus = null;
      cause = withoutUrl(error, url);
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
  throw new SlackPostError(last, lastStatus, cause === undefined ? undefined : { cause });
}

/**
 * The error a post failed with, as a cause that cannot leak the webhook: one whose message (or
 * its own cause's) holds the URL's secret path is replaced by a bare error of the same name.
 */
function withoutUrl(error: unknown, url: string): unknown {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {}
  const secret = path.length > 1 ? path : url;
  const says = (value: unknown) => value instanceof Error && value.message.includes(secret);
  if (!says(error) && !says((error as { cause?: unknown } | null)?.cause)) return error;
  return new WithheldError(error instanceof Error ? error.name : 'Error');
}
