import type { Gap } from '../domain/index.js';
import { TimeLimitError } from './budget.js';
import { allPages, describeError } from './pages.js';

/**
 * Where a read is made, as its gap would name it: the region, what it reads (`scope`, for
 * people), the API, and which changes its failure could concern (`affects`, decided by the
 * caller, who knows what the read is for).
 */
export type GapSite = Omit<Gap, 'error' | 'cause'>;

/** Runs one read, recording a gap instead of failing when AWS refuses or fails it. */
export async function guarded<T>(
  gaps: Gap[],
  where: GapSite,
  read: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    gaps.push({
      ...where,
      error: describeError(error),
      ...(error instanceof TimeLimitError ? { cause: 'time-limit' as const } : {}),
    });
    return undefined;
  }
}

/** ISO time of an SDK date (ECS) or epoch milliseconds (Batch). */
export function isoTime(value: Date | number | undefined | null): string | null {
  if (value === undefined || value === null) return null;
  const date = typeof value === 'number' ? new Date(value) : value;
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/**
 * Every page of one list call, each page within the service's concurrency limit; `undefined`
 * and a gap when it fails.
 */
export function listAll<T>(
  gaps: Gap[],
  where: GapSite,
  limited: <R>(task: () => Promise<R>) => Promise<R>,
  page: (
    token: string | undefined,
  ) => Promise<{ items: T[] | undefined; next: string | undefined }>,
): Promise<T[] | undefined> {
  return guarded(gaps, where, () => allPages((token) => limited(() => page(token))));
}
