// A local stand-in for a Slack incoming webhook: records what is posted, answers as told.
import { createServer, type Server } from 'node:http';

export interface SlackStub {
  url: string;
  /** The JSON bodies received, in order. */
  received: unknown[];
  /** Replies to give next, in order (then 200 "ok"): a status and optional headers. */
  replies: Array<{ status: number; headers?: Record<string, string> }>;
  stop(): Promise<void>;
}

export async function startSlackStub(): Promise<SlackStub> {
  const stub = { received: [] as unknown[], replies: [] as SlackStub['replies'] } as SlackStub;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = stub.replies.shift() ?? { status: 200 };
      if (reply.status === 200) {
        try {
          stub.received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          stub.received.push(Buffer.concat(chunks).toString('utf8'));
        }
      }
      response.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
      response.end(
        reply.status === 200 ? 'ok' : reply.status === 429 ? 'rate_limited' : 'internal_error',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  stub.url = `http://127.0.0.1:${port}/services/T000/B000/XXXX`;
  stub.stop = () => new Promise((resolve) => server.close(() => resolve()));
  return stub;
}
