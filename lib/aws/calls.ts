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
