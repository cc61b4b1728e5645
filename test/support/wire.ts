// The few facts of the AWS wire protocols that the test doubles (the scripted account's server,
// the fault proxy, recorded replies) need: which service and operation a request is, and how to
// write a reply or an error the SDK will parse.

export type ServiceId =
  | 'ecs'
  | 'batch'
  | 'ssm'
  | 'secretsmanager'
  | 'sns'
  | 'events'
  | 'sts'
  | 'unknown';

export interface AwsRequest {
  service: ServiceId;
  operation: string;
  region: string;
  input: Record<string, unknown>;
}

/** A reply as AWS sends it: a status and the JSON body (an error has `__type` and `message`). */
export interface AwsReply {
  status?: number;
  body: unknown;
}

const BATCH_PATHS: Record<string, string> = {
  '/v1/describejobqueues': 'DescribeJobQueues',
  '/v1/listjobs': 'ListJobs',
  '/v1/describejobs': 'DescribeJobs',
  '/v1/describejobdefinitions': 'DescribeJobDefinitions',
  '/v1/submitjob': 'SubmitJob',
  '/v1/terminatejob': 'TerminateJob',
};

/** An AWS error reply, e.g. `awsError('AccessDeniedException', 'User is not authorized')`. */
export function awsError(type: string, message: string, status = 400): AwsReply {
  return { status, body: { __type: type, message } };
}

/** Names the service and operation of a JSON-protocol (ECS, SSM, Secrets Manager) or REST-JSON (Batch) request. */
export function parseRequest(request: {
  host?: string;
  path?: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}): AwsRequest {
  const header = (name: string) => {
    const value = Object.entries(request.headers).find(([key]) => key.toLowerCase() === name)?.[1];
    return Array.isArray(value) ? value[0] : value;
  };
  const target = header('x-amz-target') ?? '';
  const scope = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\//.exec(header('authorization') ?? '')?.[1];
  const region =
    scope ?? /^[a-z0-9-]+\.([a-z0-9-]+)\.amazonaws/.exec(request.host ?? '')?.[1] ?? 'unknown';
  let input: Record<string, unknown> = {};
  try {
    input = request.body ? (JSON.parse(request.body) as Record<string, unknown>) : {};
  } catch {
    input = {};
  }
  const [prefix = '', operation = ''] = target.split('.');
  if (prefix.startsWith('AmazonEC2ContainerService'))
    return { service: 'ecs', operation, region, input };
  if (prefix === 'AmazonSSM') return { service: 'ssm', operation, region, input };
  if (prefix === 'secretsmanager') return { service: 'secretsmanager', operation, region, input };
  const batch = BATCH_PATHS[(request.path ?? '').split('?')[0] ?? ''];
  if (batch) return { service: 'batch', operation: batch, region, input };
  return { service: 'unknown', operation: request.path ?? '', region, input };
}

/** Headers and body of a reply, in the content type of the service's protocol. */
export function encodeReply(
  service: ServiceId,
  reply: AwsReply,
): { status: number; headers: Record<string, string>; body: string } {
  const errorType = (reply.body as { __type?: string } | null)?.__type;
  const headers: Record<string, string> = {
    'content-type': service === 'batch' ? 'application/json' : 'application/x-amz-json-1.1',
  };
  if (errorType && service === 'batch') headers['x-amzn-errortype'] = errorType;
  return {
    status: reply.status ?? (errorType ? 400 : 200),
    headers,
    body: JSON.stringify(reply.body ?? {}),
  };
}
