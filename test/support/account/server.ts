// Serves a scripted account over HTTP for the real SDK clients: AWS's JSON protocols, a fixed
// latency per call and, when asked, AWS's token-bucket throttles (ECS's documented buckets, each
// shared by a category of APIs, Batch's one account-wide rate, one bucket per API for the rest).
// It records what the clients asked: every request, and every call that changes the account
// stamped with the account's clock. Tests serve with no latency and no throttling; the bench
// with both.
import { createServer, type Server } from 'node:http';
import { bucketOf } from '../../../lib/aws/budget.js';
import { type AwsReply, type AwsRequest, awsError, encodeReply, parseRequest } from '../wire.js';
import type { ScriptedAccount } from './model.js';
import { MUTATING_APIS, scriptedRoute } from './route.js';

export interface ServeOptions {
  /** Milliseconds every answer waits (network and service time); none by default. */
  latencyMs?: number;
  /**
   * The bucket of an API AWS publishes none for: `burst` calls at once, refilled at `rate` calls a
   * second. A rate of 0 (the default) turns every bucket off.
   */
  burst?: number;
  rate?: number;
}

/** One throttle bucket as the server saw it during a run. */
export interface BucketUse {
  burst: number;
  refill: number;
  /** The fewest tokens it held right after serving a call: what was left to the account. */
  minTokens: number;
  taken: number;
  throttled: number;
}

export interface ScriptedServer {
  endpoint: string;
  /** Each UpdateService, SubmitJob and TerminateJob attempted, rejected ones included. */
  mutations: Array<{ api: string; input: Record<string, unknown>; at: number }>;
  /** Every request answered (throttled ones included), in order. */
  requests: Array<{ api: string; input: Record<string, unknown> }>;
  /** Each throttle bucket used so far, by name (`ecs:task definition read`, `ssm:GetParameter`). */
  buckets(): Record<string, BucketUse>;
  stop(): Promise<void>;
}

/** Path of the bucket report a process other than the server's reads (the bench's workers). */
export const BUCKETS_PATH = '/__scripted/buckets';

export async function serveScripted(
  account: ScriptedAccount,
  options: ServeOptions = {},
): Promise<ScriptedServer> {
  const route = scriptedRoute(account);
  const latency = options.latencyMs ?? 0;
  const throttle = throttleBuckets(options.burst ?? 50, options.rate ?? 0);
  const mutations: ScriptedServer['mutations'] = [];
  const requests: ScriptedServer['requests'] = [];
  const answer = (request: AwsRequest): AwsReply => {
    const api = `${request.service}:${request.operation}`;
    // A copy: the model may later hold the same objects (SubmitJob's tags) and change them.
    const input = structuredClone(request.input);
    requests.push({ api, input });
    if (MUTATING_APIS.has(api)) mutations.push({ api, input, at: account.now });
    if (!throttle.take(api))
      return request.service === 'batch'
        ? awsError('TooManyRequestsException', 'Too Many Requests', 429)
        : awsError('ThrottlingException', 'Rate exceeded');
    try {
      return route(request);
    } catch (error) {
      return awsError('InternalFailure', error instanceof Error ? error.message : 'error', 500);
    }
  };
  const server: Server = createServer((req, res) => {
    // Not AWS: the bench's worker reads each run's bucket use here (and starts a new run's count
    // with `?reset`: the tokens themselves carry over, as AWS's do).
    if (req.url?.startsWith(BUCKETS_PATH)) {
      const body = JSON.stringify(throttle.use());
      if (req.url.includes('reset')) throttle.reset();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = parseRequest({
        host: req.headers.host,
        path: req.url,
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const encoded = encodeReply(request.service, answer(request));
      setTimeout(() => {
        res.writeHead(encoded.status, encoded.headers);
        res.end(encoded.body);
      }, latency);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    mutations,
    requests,
    buckets: throttle.use,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** AWS's buckets where it documents them (lib/aws/budget.ts), `burst` and `rate` elsewhere. */
function throttleBuckets(burst: number, rate: number) {
  const buckets = new Map<string, BucketUse & { tokens: number; at: number }>();
  const take = (api: string): boolean => {
    if (rate <= 0) return true;
    const aws = bucketOf(api);
    const name = aws?.name ?? api;
    const now = Date.now();
    let bucket = buckets.get(name);
    if (!bucket) {
      const size = aws?.burst ?? burst;
      const refill = aws?.refill ?? rate;
      bucket = {
        burst: size,
        refill,
        tokens: size,
        at: now,
        minTokens: size,
        taken: 0,
        throttled: 0,
      };
      buckets.set(name, bucket);
    }
    bucket.tokens = Math.min(
      bucket.burst,
      bucket.tokens + ((now - bucket.at) / 1000) * bucket.refill,
    );
    bucket.at = now;
    if (bucket.tokens < 1) {
      bucket.throttled += 1;
      bucket.minTokens = Math.min(bucket.minTokens, bucket.tokens);
      return false;
    }
    bucket.tokens -= 1;
    bucket.taken += 1;
    bucket.minTokens = Math.min(bucket.minTokens, bucket.tokens);
    return true;
  };
  const use = (): Record<string, BucketUse> =>
    Object.fromEntries(
      [...buckets].map(([name, { tokens: _, at: __, ...rest }]) => [name, { ...rest }]),
    );
  const reset = () => {
    for (const bucket of buckets.values())
      Object.assign(bucket, { minTokens: bucket.tokens, taken: 0, throttled: 0 });
  };
  return { take, use, reset };
}
