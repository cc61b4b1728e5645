/**
 * A polite API budget: the watcher takes at most a share of each throttle bucket AWS keeps for
 * the account, so the account's own callers (deploy pipelines, Terraform, consoles) always keep
 * headroom. AWS throttles ECS per account and region with token buckets shared by categories of
 * APIs ("Request throttling for the Amazon ECS API", Throttling quotas); the watcher keeps one
 * client-side bucket per category and region, `share` of AWS's burst and refill rate.
 *
 * Why that holds the account's bucket above (1 - share) of its burst: every call takes a token
 * from both buckets, and AWS's refills `1 / share` times as fast as ours, so AWS's deficit never
 * exceeds ours, and ours never exceeds `share × burst`.
 */

/** One of AWS's throttle buckets: `burst` tokens at most, refilled at `refill` a second. */
export interface ThrottleBucket {
  name: string;
  burst: number;
  refill: number;
  /** Where the figures come from, for README and reports. */
  source: 'documented' | 'assumed';
}

const ecs = (name: string, burst: number, refill: number): ThrottleBucket => ({
  name: `ecs:${name}`,
  burst,
  refill,
  source: 'documented',
});

/** The ECS categories the watcher calls into, from AWS's page, and the APIs each one serves. */
const ECS_BUCKETS: Array<[ThrottleBucket, string[]]> = [
  [ecs('cluster read', 50, 20), ['DescribeClusters', 'ListClusters']],
  [
    ecs('cluster resource read', 100, 20),
    [
      'DescribeContainerInstances',
      'DescribeTasks',
      'ListAttributes',
      'ListContainerInstances',
      'ListTasks',
    ],
  ],
  [
    ecs('task definition read', 50, 20),
    ['DescribeTaskDefinition', 'ListTaskDefinitions', 'ListTaskDefinitionFamilies'],
  ],
  [ecs('service read', 100, 20), ['DescribeServices', 'ListServices']],
  [ecs('service modify', 50, 5), ['CreateService', 'DeleteService', 'UpdateService']],
  [ecs('service deployment', 50, 20), ['DescribeServiceDeployments', 'ListServiceDeployments']],
  [ecs('tag read', 50, 20), ['ListTagsForResource']],
  [
    ecs('cluster resource modify', 100, 40),
    ['RunTask', 'StartTask', 'StopTask', 'ExecuteCommand', 'PutAttributes', 'DeleteAttributes'],
  ],
];

/**
 * AWS Batch publishes one figure: 50 transactions a second per account and region for its API
 * calls, SubmitJob included, a fixed quota. Every Batch API is taken to draw on that one bucket;
 * its burst is not published and is assumed to be one second's worth.
 */
const BATCH_BUCKET: ThrottleBucket = {
  name: 'batch:all',
  burst: 50,
  refill: 50,
  source: 'assumed',
};

const BY_API = new Map<string, ThrottleBucket>(
  ECS_BUCKETS.flatMap(([bucket, apis]) => apis.map((api) => [`ecs:${api}`, bucket] as const)),
);

/** The AWS throttle bucket a call draws on (`ecs:DescribeTasks`), or none the watcher budgets. */
export function bucketOf(api: string): ThrottleBucket | undefined {
  if (api.startsWith('batch:')) return BATCH_BUCKET;
  return BY_API.get(api);
}

/** Every bucket the watcher budgets, once each (README, the benchmark's server). */
export function budgetedBuckets(): ThrottleBucket[] {
  return [...ECS_BUCKETS.map(([bucket]) => bucket), BATCH_BUCKET];
}

/**
 * The most budgets of the stack that draw on AWS's buckets at once: one per on-change container
 * (at most 2 at once: the SQS event source's maximumConcurrency in serverless.yml) and the
 * sweep's (its reservedConcurrency, 1). Each budget lives as long as its Lambda container, across
 * invocations; each CLI process beside them (`wait` over all its checks) has one more.
 */
export const STACK_BUDGETS = 3;

/**
 * The watcher's default share of each bucket (`WATCHER_API_SHARE`), per budget. Sized by the
 * stack's worst case: its STACK_BUDGETS budgets at once take at most three quarters of a
 * bucket's burst and refill, so the account keeps a quarter whatever the stack's runs overlap,
 * and three quarters beside one run. Dividing the half the account used to keep by the stack's
 * budgets (1/6 each) would make a cold run on a 2,000-revision account hand over twice (README,
 * Budget).
 */
export const DEFAULT_API_SHARE = 0.25;

/** A call that would have to wait past the run's time limit: it is not sent. */
export class TimeLimitError extends Error {
  constructor(api: string) {
    super(`not sent: ${api} would start after the run's time limit`);
    this.name = 'TimeLimitError';
  }
}

const LIMITED_BY_TIME = /^(ecs|batch|ssm|secretsmanager):/;

/** After a throttling answer, the rate is cut to this fraction and recovers over `RECOVER_MS`. */
const SLOWDOWN = 0.5;
const MIN_FACTOR = 0.1;
const RECOVER_MS = 10_000;

/**
 * The client-side token bucket for one AWS bucket in one region. `take` resolves when a token is
 * free, in the order asked; a throttling answer from AWS (someone else is using the bucket) halves
 * the rate, which then recovers linearly.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;
  private factor = 1;
  private slowedAt = 0;
  private queue: Promise<void> = Promise.resolve();
  /** Milliseconds spent waiting for tokens, summed over calls. */
  waitedMs = 0;
  /** The fewest tokens a call left since `drawdown` was last asked, and whether any was taken. */
  private lowest: number;
  private taken = false;

  constructor(
    readonly capacity: number,
    private readonly rate: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.lowest = capacity;
    this.at = clock();
  }

  /**
   * The largest share of the bucket in use at once (0 to 1), as calls taken since the last time
   * this was asked found it, or null when nothing was taken; then starts again.
   */
  drawdown(): number | null {
    const used = this.taken ? 1 - this.lowest / this.capacity : null;
    this.lowest = this.capacity;
    this.taken = false;
    return used;
  }

  /**
   * Waits for a token. Rejects with TimeLimitError, taking nothing, when the token would come
   * after `deadline` (epoch ms).
   */
  take(api: string, deadline?: number): Promise<void> {
    const turn = this.queue.then(() => this.takeNow(api, deadline));
    // The next caller waits for this one's token, not for its outcome.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** AWS answered with throttling: slow down. */
  throttled(): void {
    this.refill();
    this.factor = Math.max(MIN_FACTOR, this.currentFactor() * SLOWDOWN);
    this.slowedAt = this.clock();
  }

  private async takeNow(api: string, deadline: number | undefined): Promise<void> {
    this.refill();
    if (deadline !== undefined && this.clock() > deadline) throw new TimeLimitError(api);
    // Again after each wait: a throttling answer meanwhile slows the refill down.
    while (this.tokens < 1) {
      const waitMs = Math.max(
        1,
        Math.ceil(((1 - this.tokens) / (this.rate * this.currentFactor())) * 1000),
      );
      if (deadline !== undefined && this.clock() + waitMs > deadline) throw new TimeLimitError(api);
      this.waitedMs += waitMs;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      this.refill();
    }
    this.tokens -= 1;
    this.lowest = Math.min(this.lowest, this.tokens);
    this.taken = true;
  }

  private refill(): void {
    const now = this.clock();
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((now - this.at) / 1000) * this.rate * this.currentFactor(),
    );
    this.at = now;
  }

  private currentFactor(): number {
    if (this.factor >= 1) return 1;
    const recovered = (this.clock() - this.slowedAt) / RECOVER_MS;
    const factor = Math.min(1, this.factor + (1 - this.factor) * recovered);
    if (factor >= 1) this.factor = 1;
    return factor;
  }
}

/**
 * The watcher's buckets, one per AWS bucket and region, each `share` of AWS's. A share of 0 (or
 * none) turns budgeting off; calls to APIs outside any bucket are never held.
 */
export class ApiBudget {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    readonly share: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Waits until `api` (`ecs:ListTasks`) may be called in `region`. A call that would have to
   * start after `deadline` (epoch ms; the run's time limit, none: no limit) fails with
   * TimeLimitError. The limit holds reads of the account (ECS, Batch, Parameter Store, Secrets
   * Manager), not the state table: what was learned is still saved after it.
   */
  async take(api: string, region: string, deadline?: number): Promise<void> {
    const limit = LIMITED_BY_TIME.test(api) ? deadline : undefined;
    if (limit !== undefined && this.clock() > limit) throw new TimeLimitError(api);
    const bucket = this.bucket(api, region);
    if (bucket) await bucket.take(api, limit);
  }

  /** AWS throttled a call of `api` in `region`: that bucket slows down. */
  throttled(api: string, region: string): void {
    this.bucket(api, region)?.throttled();
  }

  /** Milliseconds calls waited for tokens, by AWS bucket. */
  waited(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, bucket] of this.buckets) {
      const name = key.split('|')[0] as string;
      out[name] = (out[name] ?? 0) + Math.round(bucket.waitedMs);
    }
    return out;
  }

  /**
   * Per AWS bucket (`ecs:cluster resource read`), the largest share of the watcher's own budget
   * in use at once since the last reading, in percent, in its busiest region: 100 means the whole
   * share was in use (a call more waits for a token). Buckets not called since are left out. Each
   * reading starts a new period (the functions read it once per invocation).
   */
  drawdown(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, bucket] of this.buckets) {
      const used = bucket.drawdown();
      if (used === null) continue;
      const name = key.split('|')[0] as string;
      out[name] = Math.max(out[name] ?? 0, Math.round(used * 100));
    }
    return out;
  }

  private bucket(api: string, region: string): TokenBucket | undefined {
    if (!(this.share > 0)) return undefined;
    const aws = bucketOf(api);
    if (!aws) return undefined;
    const key = `${aws.name}|${region}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      // At least one token, so a share too small for a bucket still lets calls through, slowly.
      bucket = new TokenBucket(
        Math.max(1, Math.floor(aws.burst * this.share)),
        aws.refill * this.share,
        this.clock,
      );
      this.buckets.set(key, bucket);
    }
    return bucket;
  }
}
