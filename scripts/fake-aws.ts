// A local HTTP server that speaks the AWS JSON protocols with answers from a model, a fixed
// latency per call and a token-bucket throttle per API, as AWS throttles per account and region.
import { createServer, type Server } from 'node:http';
import { type AwsReply, type AwsRequest, awsError, encodeReply, parseRequest } from './aws-wire.js';

export interface FakeAwsOptions {
  /** Milliseconds every answer waits (network and service time). */
  latencyMs?: number;
  /** Token bucket per API: `burst` calls at once, refilled at `rate` calls a second. 0 turns it off. */
  burst?: number;
  rate?: number;
}

export interface FakeAws {
  endpoint: string;
  /** Requests served (attempts) and throttled, by `service:Operation`. */
  counts: Map<string, { served: number; throttled: number }>;
  stop(): Promise<void>;
}

export async function startFakeAws(
  route: (request: AwsRequest) => AwsReply,
  options: FakeAwsOptions = {},
): Promise<FakeAws> {
  const latency = options.latencyMs ?? 25;
  const burst = options.burst ?? 50;
  const rate = options.rate ?? 20;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const counts = new Map<string, { served: number; throttled: number }>();
  const take = (api: string): boolean => {
    if (rate <= 0) return true;
    const now = Date.now();
    const bucket = buckets.get(api) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    buckets.set(api, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
  const server: Server = createServer((req, res) => {
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
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
