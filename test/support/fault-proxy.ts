// A fault-injecting HTTP proxy for tests: sits between the SDK and moto on loopback and, at set
// rates or for set APIs, answers with AWS-shaped throttling errors, 500s and 503s, answers too
// slowly for the SDK's timeout, or drops the connection. A faulted request never reaches moto,
// so a retried UpdateService cannot deploy twice. It also records every call it sees.
import { createServer, request as forward, type Server } from 'node:http';
import { type AwsRequest, awsError, encodeReply, parseRequest } from './wire.js';

export type Fault = 'throttle' | 'error500' | 'error503' | 'slow' | 'drop' | 'denied';

export interface FaultRule {
  fault: Fault;
  /** Share of matching calls that get the fault, 0 to 1. */
  rate: number;
  /** Only calls to these APIs (`ecs:DescribeServices`); all calls if absent. */
  apis?: string[];
  /** Only calls whose input contains this text (a cluster ARN, a queue). */
  inputContains?: string;
}

export interface FaultProxy {
  endpoint: string;
  rules: FaultRule[];
  /** Every call seen, with the fault it got (if any). */
  log: Array<{ api: string; region: string; input: Record<string, unknown>; fault: Fault | null }>;
  /** Milliseconds a `slow` answer waits before the connection is cut. */
  slowMs: number;
  stop(): Promise<void>;
}

/** A small seeded PRNG, so a failing run can be replayed with the same faults. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFaultProxy(
  target: string,
  options: { seed?: number; rules?: FaultRule[]; slowMs?: number } = {},
): Promise<FaultProxy> {
  const random = mulberry32(options.seed ?? 42);
  const upstream = new URL(target);
  const proxy = {
    rules: options.rules ?? [],
    log: [],
    slowMs: options.slowMs ?? 3000,
  } as unknown as FaultProxy;
  const choose = (request: AwsRequest, body: string): Fault | null => {
    const api = `${request.service}:${request.operation}`;
    for (const rule of proxy.rules) {
      if (rule.apis && !rule.apis.includes(api)) continue;
      if (rule.inputContains && !body.includes(rule.inputContains)) continue;
      if (random() < rule.rate) return rule.fault;
    }
    return null;
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const parsed = parseRequest({
        host: req.headers.host,
        path: req.url,
        headers: req.headers as Record<string, string>,
        body: body.toString('utf8'),
      });
      const api = `${parsed.service}:${parsed.operation}`;
      // moto's own endpoints (/moto-api) and unknown services pass untouched.
      const fault = parsed.service === 'unknown' ? null : choose(parsed, body.toString('utf8'));
      proxy.log.push({ api, region: parsed.region, input: parsed.input, fault });
      if (fault === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault === 'slow') {
        setTimeout(() => req.socket.destroy(), proxy.slowMs);
        return;
      }
      if (fault) {
        const reply =
          fault === 'throttle'
            ? parsed.service === 'batch'
              ? awsError('TooManyRequestsException', 'Too Many Requests', 429)
              : awsError('ThrottlingException', 'Rate exceeded')
            : fault === 'denied'
              ? awsError(
                  'AccessDeniedException',
                  `User: arn:aws:sts::123456789012:assumed-role/watcher is not authorized to perform: ${api}`,
                )
              : awsError(
                  fault === 'error500' ? 'InternalFailure' : 'ServiceUnavailable',
                  'injected fault',
                  fault === 'error500' ? 500 : 503,
                );
        const encoded = encodeReply(parsed.service, reply);
        res.writeHead(encoded.status, encoded.headers);
        res.end(encoded.body);
        return;
      }
      const out = forward(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  proxy.endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  proxy.stop = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
