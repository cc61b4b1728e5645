// What the ECS, Batch and metadata handlers share: ARNs, times, pages and AWS-style rejections.
import { type AwsReply, awsError } from '../wire.js';
import type { ScriptedAccount } from './model.js';

export type Input = Record<string, unknown>;

/** Thrown by a handler to answer with an AWS error; the route turns it into the reply. */
export class Rejection extends Error {
  constructor(readonly reply: AwsReply) {
    super((reply.body as { message?: string }).message);
  }
}

export function reject(type: string, message: string): never {
  throw new Rejection(awsError(type, message));
}

/** What ECS and Batch on Fargate say when a task cannot fetch the secrets its definition names. */
export const SECRETS_PULL_FAILURE =
  'ResourceInitializationError: unable to pull secrets or registry auth: execution resource ' +
  'retrieval failed: unable to retrieve secret from asm: service call has been retried 1 ' +
  'time(s): AccessDeniedException';

/** ECS, SSM and Secrets Manager send epoch seconds; the model keeps milliseconds. */
export const seconds = (ms: number) => ms / 1000;

/** The name or id at the end of an ARN, or the value itself when it is not one. */
export const lastPart = (value: unknown) =>
  String(value ?? '')
    .split('/')
    .pop() ?? '';

export const list = (value: unknown): string[] =>
  Array.isArray(value) ? value.map((item) => String(item)) : [];

/** Items by id, the first of each id winning (as `find` would). */
export function firstById<T extends { id: string }>(items: T[]): Map<string, T> {
  const byId = new Map<string, T>();
  for (const item of items) if (!byId.has(item.id)) byId.set(item.id, item);
  return byId;
}

export const tagList = (tags: Record<string, string> | undefined) =>
  Object.entries(tags ?? {}).map(([key, value]) => ({ key, value }));

export function arns(a: ScriptedAccount) {
  const at = (service: string) => `arn:aws:${service}:${a.region}:${a.account}`;
  return {
    cluster: (name: string) => `${at('ecs')}:cluster/${name}`,
    task: (cluster: string, id: string) => `${at('ecs')}:task/${cluster}/${id}`,
    /** From `family:revision`. */
    taskDefinition: (ref: string) => `${at('ecs')}:task-definition/${ref}`,
    service: (cluster: string, name: string) => `${at('ecs')}:service/${cluster}/${name}`,
    queue: (name: string) => `${at('batch')}:job-queue/${name}`,
    job: (id: string) => `${at('batch')}:job/${id}`,
    /** From `name:revision`. */
    jobDefinition: (ref: string) => `${at('batch')}:job-definition/${ref}`,
    parameter: (name: string) => `${at('ssm')}:parameter/${name.replace(/^\//, '')}`,
    secret: (name: string) => `${at('secretsmanager')}:secret:${name}`,
  };
}

export interface PageSpec {
  /** AWS's most items a page. */
  limit: number;
  /** The page size when the caller asks for none. */
  fallback: number;
  /** The error type AWS answers a bad page size or token with. */
  error: string;
  /** Cap an oversized request at `limit` instead of rejecting it (as Batch ListJobs does). */
  clamp?: boolean;
  /** SSM and Secrets Manager capitalise their paging fields. */
  capitalised?: boolean;
}

/** One page of `items`: tokens are offsets, and `account.pageSize` shrinks pages so tests see several. */
export function page<T>(
  a: ScriptedAccount,
  items: T[],
  input: Input,
  spec: PageSpec,
): { items: T[]; next: string | undefined } {
  const maxKey = spec.capitalised ? 'MaxResults' : 'maxResults';
  const tokenKey = spec.capitalised ? 'NextToken' : 'nextToken';
  const asked = input[maxKey];
  if (asked !== undefined) {
    const bad = typeof asked !== 'number' || !Number.isInteger(asked) || asked < 1;
    if (bad || (asked > spec.limit && !spec.clamp))
      reject(spec.error, `${maxKey} must be between 1 and ${spec.limit}.`);
  }
  const wanted = typeof asked === 'number' ? asked : spec.fallback;
  // A page of at least one item, or a caller following tokens would never finish.
  const size = Math.max(1, Math.min(spec.limit, wanted, a.pageSize ?? Number.POSITIVE_INFINITY));
  const token = input[tokenKey];
  const start = token === undefined || token === null ? 0 : Number(token);
  if (!Number.isInteger(start) || start < 0 || start > items.length)
    reject(spec.capitalised ? 'InvalidNextToken' : spec.error, `The ${tokenKey} is not valid.`);
  const end = start + size;
  return { items: items.slice(start, end), next: end < items.length ? String(end) : undefined };
}
