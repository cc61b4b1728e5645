import type { z } from 'zod';
import type { Change, Nudge } from '../domain/index.js';
import { clip } from '../refs/errors.js';
import { MalformedEventError } from './errors.js';
import type { Envelope } from './schemas.js';

/** What one EventBridge event means to the watcher. */
export interface EventResult {
  changes: Change[];
  /** Why the event yields no change, when it is of a kind the watcher does not act on. */
  ignored: string | null;
  /** An ECS deployment or a Batch job changed state (then no change and nothing ignored). */
  nudge?: Nudge;
}

export type Base = Pick<
  Change,
  | 'partition'
  | 'region'
  | 'changedAt'
  | 'timeSource'
  | 'eventTime'
  | 'version'
  | 'eventId'
  | 'detailType'
> & {
  account: string;
};
export type Handler = (envelope: Envelope, base: Base) => EventResult;

export function validate<T extends z.ZodType>(
  schema: T,
  value: unknown,
  label: string,
  prefix?: string,
): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].filter(Boolean).join('.');
  throw new MalformedEventError(`${label}: ${firstIssue(result.error, prefix)}`, path || null, {
    cause: result.error,
  });
}

export function firstIssue(error: z.ZodError, prefix?: string): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = [prefix, ...issue.path.map((part) => clip(String(part), 40))]
    .filter(Boolean)
    .join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** A table lookup that a key such as `constructor` or `__proto__` cannot steer into the prototype. */
export function own<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
