import { Readable } from 'node:stream';

export interface AwsRequest {
  service: 'ecs' | 'batch' | 'ssm' | 'secretsmanager' | 'sns' | 'events' | 'sts' | 'unknown';
  operation: string;
  region: string;
  input: Record<string, unknown>;
}

/** A reply as AWS sends it: a status and the JSON body (an error has `__type` and `message`). */
export interface AwsReply {
  status?: number;
  body: unknown;
}

export type Route = (request: AwsRequest) => AwsReply | Promise<AwsReply>;

const BATCH_PATHS: Record<string, string> = {
  '/v1/describejobqueues': 'DescribeJobQueues',
  '/v1/listjobs': 'ListJobs',
  '/v1/describejobs': 'DescribeJobs',
  '/v1/describejobdefinitions': 'DescribeJobDefinitions',
  '/v1/submitjob': 'SubmitJob',
  '/v1/terminatejob': 'TerminateJob',
};

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
    const parsed = parse(request);
    this.requests.push(parsed);
    const reply = await this.route(parsed);
    const json = parsed.service === 'batch' ? 'application/json' : 'application/x-amz-json-1.1';
    const errorType = (reply.body as { __type?: string } | null)?.__type;
    const headers: Record<string, string> = { 'content-type': json };
    if (errorType && parsed.service === 'batch') headers['x-amzn-errortype'] = errorType;
    return {
      response: {
        statusCode: reply.status ?? (errorType ? 400 : 200),
        headers,
        body: Readable.from([Buffer.from(JSON.stringify(reply.body ?? {}))]),
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

/** An AWS error reply, e.g. `awsError('AccessDeniedException', 'User is not authorized')`. */
export function awsError(type: string, message: string, status = 400): AwsReply {
  return { status, body: { __type: type, message } };
}

function parse(request: {
  hostname?: string;
  path?: string;
  headers: Record<string, string>;
  body?: unknown;
}): AwsRequest {
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([key, value]) => [key.toLowerCase(), value]),
  );
  const target = headers['x-amz-target'] ?? '';
  const region =
    /^[a-z0-9-]+\.([a-z0-9-]+)\.amazonaws/.exec(request.hostname ?? '')?.[1] ?? 'unknown';
  const text =
    typeof request.body === 'string'
      ? request.body
      : request.body instanceof Uint8Array
        ? new TextDecoder().decode(request.body)
        : '';
  const input = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  const [prefix = '', operation = ''] = target.split('.');
  if (prefix.startsWith('AmazonEC2ContainerService'))
    return { service: 'ecs', operation, region, input };
  if (prefix === 'AmazonSSM') return { service: 'ssm', operation, region, input };
  if (prefix === 'secretsmanager') return { service: 'secretsmanager', operation, region, input };
  const batch = BATCH_PATHS[request.path ?? ''];
  if (batch) return { service: 'batch', operation: batch, region, input };
  return { service: 'unknown', operation: request.path ?? '', region, input };
}
