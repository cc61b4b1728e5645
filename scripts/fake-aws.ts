// A local HTTP server that speaks the AWS JSON protocols with answers from a model, a fixed
// latency per call and AWS's token-bucket throttles: ECS's documented buckets, each shared by a
// category of APIs, Batch's one account-wide rate, and one bucket per API for the rest.
import { createServer, type Server } from 'node:http';
import { bucketOf } from '../lib/aws/budget.js';
import { type AwsReply, type AwsRequest, awsError, encodeReply, parseRequest } from './aws-wire.js';

export interface FakeAwsOptions {
  /** Milliseconds every answer waits (network and service time). */
  latencyMs?: number;
  /**
   * The bucket of an API AWS publishes none for: `burst` calls at once, refilled at `rate` calls a
   * second. A rate of 0 turns every bucket off.
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

export interface FakeAws {
  endpoint: string;
  /** Requests served (attempts) and throttled, by `service:Operation`. */
  counts: Map<string, { served: number; throttled: number }>;
  /** Each throttle bucket used so far, by name (`ecs:task definition read`, `ssm:GetParameter`). */
  buckets(): Record<string, BucketUse>;
  stop(): Promise<void>;
}

export async function startFakeAws(
  route: (request: AwsRequest) => AwsReply,
  options: FakeAwsOptions = {},
): Promise<FakeAws> {
  const latency = options.latencyMs ?? 25;
  const burst = options.burst ?? 50;
  const rate = options.rate ?? 20;
  const buckets = new Map<string, BucketUse & { tokens: number; at: number }>();
  const counts = new Map<string, { served: number; throttled: number }>();
  const take = (api: string): boolean => {
    if (rate <= 0) return true;
    const aws = bucketOf(api);
    const name = aws?.name ?? api;
    const now = Date.now();
    let bucket = buckets.get(name);
    if (!bucket) {
      const size = aws?.burst ?? burst;
      bucket = {
        burst: size,
        refill: aws?.refill ?? rate,
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
  const use = () =>
    Object.fromEntries(
      [...buckets].map(([name, { tokens: _, at: __, ...rest }]) => [name, { ...rest }]),
    );
  const server: Server = createServer((req, res) => {
    // Not AWS: the benchmark's worker reads each run's bucket use here (and starts a new run's
    // count with `?reset`: the tokens themselves carry over, as AWS's do).
    if (req.url?.startsWith('/__fake/buckets')) {
      const body = JSON.stringify(use());
      if (req.url.includes('reset'))
        for (const bucket of buckets.values())
          Object.assign(bucket, { minTokens: bucket.tokens, taken: 0, throttled: 0 });
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
      const api = `${request.service}:${request.operation}`;
      const count = counts.get(api) ?? { served: 0, throttled: 0 };
      counts.set(api, count);
      count.served += 1;
      let reply: AwsReply;
      if (!take(api)) {
        count.throttled += 1;
        reply =
          request.service === 'batch'
            ? awsError('TooManyRequestsException', 'Too Many Requests', 429)
            : awsError('ThrottlingException', 'Rate exceeded');
      } else {
        try {
          reply = route(request);
        } catch (error) {
          reply = awsError(
            'InternalFailure',
            error instanceof Error ? error.message : 'error',
            500,
          );
        }
      }
      const encoded = encodeReply(request.service, reply);
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
    counts,
    buckets: use,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
