/** Counts of one API's calls in a run. */
export interface ApiCount {
  /** Operations the code asked for. */
  calls: number;
  /** HTTP attempts, retries included. */
  attempts: number;
  /** Attempts AWS answered with a throttling error. */
  throttled: number;
  /** Calls that failed for good, after retries. */
  failed: number;
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'SlowDown',
]);

/** True for the errors AWS uses to say "slow down". */
export function isThrottling(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as {
    name?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: { throttling?: boolean };
  };
  return (
    THROTTLING.has(e.name ?? '') ||
    e.$metadata?.httpStatusCode === 429 ||
    e.$retryable?.throttling === true
  );
}

/** Tallies AWS calls by `service:Operation`, so every run can say what it cost. */
export class CallCounter {
  private readonly counts = new Map<string, ApiCount>();

  record(api: string, field: keyof ApiCount): void {
    const count = this.counts.get(api) ?? { calls: 0, attempts: 0, throttled: 0, failed: 0 };
    count[field] += 1;
    this.counts.set(api, count);
  }

  /** Counts by API, sorted by name. */
  byApi(): Record<string, ApiCount> {
    return Object.fromEntries(
      [...this.counts.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([api, c]) => [api, { ...c }]),
    );
  }

  total(field: keyof ApiCount = 'calls'): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count[field];
    return sum;
  }

  /** Calls of one API (`ecs:DescribeTasks`), 0 if none. */
  of(api: string, field: keyof ApiCount = 'calls'): number {
    return this.counts.get(api)?.[field] ?? 0;
  }

  reset(): void {
    this.counts.clear();
  }
}

/**
 * Whether a failed call may still have been carried out: no answer came (a timeout, a dropped
 * connection) or AWS answered with a server error. A 4xx answer, throttling included, says the
 * call was refused.
 */
export function isAmbiguous(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  // Refused by the run's time limit before it was sent (lib/aws/budget.ts).
  if ((error as { name?: string }).name === 'TimeLimitError') return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
}
