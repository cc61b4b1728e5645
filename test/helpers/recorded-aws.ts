import { Readable } from 'node:stream';
import { type AwsReply, type AwsRequest, encodeReply, parseRequest } from '../support/wire.js';

export { type AwsReply, type AwsRequest, awsError } from '../support/wire.js';

export type Route = (request: AwsRequest) => AwsReply | Promise<AwsReply>;

/**
 * An SDK request handler that answers from recorded AWS response shapes, in process: the real
 * clients serialize, retry, count and deserialize as they would against AWS, with no socket.
 */
export class RecordedAws {
  readonly requests: AwsRequest[] = [];
  readonly metadata = { handlerProtocol: 'http/1.1' };

  constructor(private readonly route: Route) {}

  async handle(request: {
    hostname?: string;
    path?: string;
    headers: Record<string, string>;
    body?: unknown;
  }) {
    const body =
      typeof request.body === 'string'
        ? request.body
        : request.body instanceof Uint8Array
          ? new TextDecoder().decode(request.body)
          : '';
    const parsed = parseRequest({
      host: request.hostname,
      path: request.path,
      headers: request.headers,
      body,
    });
    this.requests.push(parsed);
    const reply = encodeReply(parsed.service, await this.route(parsed));
    return {
      response: {
        statusCode: reply.status,
        headers: reply.headers,
        body: Readable.from([Buffer.from(reply.body)]),
      },
    };
  }

  /** The requests made for one operation, e.g. `ecs:ListTasks`. */
  calls(api: string): AwsRequest[] {
    return this.requests.filter((request) => `${request.service}:${request.operation}` === api);
  }

  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
  destroy(): void {}
}
