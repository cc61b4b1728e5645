import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ApiBudget,
  bucketOf,
  budgetedBuckets,
  isAmbiguous,
  TimeLimitError,
  TokenBucket,
} from '../../lib/aws/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Asks for `count` tokens at once and returns the time (ms) each one was granted. */
async function grants(budget: ApiBudget, api: string, count: number, region = 'us-east-1') {
  const times: number[] = [];
  const all = Array.from({ length: count }, () =>
    budget.take(api, region).then(() => times.push(Date.now())),
  );
  await vi.runAllTimersAsync();
  await Promise.all(all);
  return times;
}

/** AWS's bucket fed the calls granted at `times`: the fewest tokens it held, and any refusal. */
function awsBucket(burst: number, refill: number, times: number[]) {
  let tokens = burst;
  let at = 0;
  let min = burst;
  let refused = 0;
  for (const time of [...times].sort((a, b) => a - b)) {
    tokens = Math.min(burst, tokens + ((time - at) / 1000) * refill);
    at = time;
    if (tokens < 1) refused += 1;
    else tokens -= 1;
    min = Math.min(min, tokens);
  }
  return { min, refused };
}

describe('the buckets AWS throttles by', () => {
  it("files ECS's APIs under the documented categories, several APIs to a bucket", () => {
    expect(bucketOf('ecs:ListTasks')).toBe(bucketOf('ecs:DescribeTasks'));
    expect(bucketOf('ecs:ListTasks')).toMatchObject({ burst: 100, refill: 20 });
    expect(bucketOf('ecs:DescribeTaskDefinition')).toMatchObject({
      name: 'ecs:task definition read',
      burst: 50,
      refill: 20,
    });
    expect(bucketOf('ecs:UpdateService')).toMatchObject({ burst: 50, refill: 5 });
    expect(bucketOf('ecs:DescribeServices')).not.toBe(bucketOf('ecs:DescribeTasks'));
  });

  it('puts every Batch API in the one account-wide rate Batch publishes', () => {
    expect(bucketOf('batch:ListJobs')).toBe(bucketOf('batch:SubmitJob'));
    expect(bucketOf('batch:ListJobs')).toMatchObject({ refill: 50, source: 'assumed' });
  });

  it('budgets no other service', () => {
    expect(bucketOf('ssm:DescribeParameters')).toBeUndefined();
    expect(bucketOf('dynamodb:BatchGetItem')).toBeUndefined();
    expect(new Set(budgetedBuckets().map((bucket) => bucket.name)).size).toBe(
      budgetedBuckets().length,
    );
  });
});

describe('ApiBudget', () => {
  it('takes half of the task definition bucket at once, then half of its refill rate', async () => {
    const times = await grants(new ApiBudget(0.5), 'ecs:DescribeTaskDefinition', 45);
    expect(times.filter((time) => time === 0)).toHaveLength(25);
    // The other 20 at 10 a second: the last one two seconds in.
    expect(Math.max(...times)).toBeGreaterThanOrEqual(1_900);
    expect(Math.max(...times)).toBeLessThanOrEqual(2_100);
  });

  it('shares one bucket between the APIs of a category, and keeps regions apart', async () => {
    const budget = new ApiBudget(0.5);
    const listed = await grants(budget, 'ecs:ListTasks', 50);
    expect(listed.every((time) => time === 0)).toBe(true);
    const described = await grants(budget, 'ecs:DescribeTasks', 1);
    expect(described[0]).toBeGreaterThan(listed[0] as number);
    const elsewhere = await grants(budget, 'ecs:DescribeTasks', 50, 'eu-west-1');
    expect(new Set(elsewhere).size).toBe(1);
  });

  it('never holds calls to services it does not budget', async () => {
    const times = await grants(new ApiBudget(0.5), 'ssm:DescribeParameters', 500);
    expect(Math.max(...times)).toBe(0);
  });

  it('slows down when AWS throttles, and recovers within seconds', async () => {
    const budget = new ApiBudget(1);
    await grants(budget, 'ecs:UpdateService', 50);
    const start = Date.now();
    budget.throttled('ecs:UpdateService', 'us-east-1');
    const slowed = await grants(budget, 'ecs:UpdateService', 5);
    // 5 tokens at half of 5 a second take about 2 s (not 1 s).
    expect(Math.max(...slowed) - start).toBeGreaterThan(1_400);
    vi.advanceTimersByTime(60_000);
    await grants(budget, 'ecs:UpdateService', 50);
    const after = Date.now();
    const recovered = await grants(budget, 'ecs:UpdateService', 5);
    expect(Math.max(...recovered) - after).toBeLessThanOrEqual(1_050);
  });

  it('refuses, taking nothing, a call whose token would come after the time limit', async () => {
    const budget = new ApiBudget(0.5);
    await grants(budget, 'ecs:DescribeTaskDefinition', 25);
    await expect(
      budget.take('ecs:DescribeTaskDefinition', 'us-east-1', Date.now() + 50),
    ).rejects.toBeInstanceOf(TimeLimitError);
    // The refused call took no token: the next one waits one refill (100 ms), not two.
    const start = Date.now();
    const [next] = await grants(budget, 'ecs:DescribeTaskDefinition', 1);
    expect((next as number) - start).toBeLessThanOrEqual(100);
  });

  it('says a call it refused was never sent (a restart refused is safe to retry at once)', () => {
    expect(isAmbiguous(new TimeLimitError('ecs:UpdateService'))).toBe(false);
  });

  it('lets the state table be written after the time limit (what was learned is saved)', async () => {
    const budget = new ApiBudget(0.5);
    const deadline = Date.now() - 1;
    await expect(
      budget.take('dynamodb:BatchWriteItem', 'us-east-1', deadline),
    ).resolves.toBeUndefined();
    await expect(budget.take('ecs:ListTasks', 'us-east-1', deadline)).rejects.toThrow(/time limit/);
  });

  it("leaves AWS's bucket at least (1 - share) of its burst, whatever the calls' timing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0.25, 0.5, 0.75, 1),
        fc.constantFrom('ecs:DescribeTaskDefinition', 'ecs:UpdateService', 'batch:ListJobs'),
        // Bursts of calls at chosen moments: a run's describes come in waves.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 80 })), {
          minLength: 1,
          maxLength: 12,
        }),
        async (share, api, waves) => {
          const arrivals = waves.flatMap(([at, count]) => Array<number>(count).fill(at));
          vi.setSystemTime(0);
          const budget = new ApiBudget(share);
          const granted: number[] = [];
          const pending: Promise<unknown>[] = [];
          for (const arrival of [...arrivals].sort((a, b) => a - b)) {
            await vi.advanceTimersByTimeAsync(arrival - Date.now());
            pending.push(budget.take(api, 'us-east-1').then(() => granted.push(Date.now())));
          }
          await vi.runAllTimersAsync();
          await Promise.all(pending);
          const { burst, refill } = bucketOf(api) as { burst: number; refill: number };
          const aws = awsBucket(burst, refill, granted);
          expect(aws.refused).toBe(0);
          expect(aws.min).toBeGreaterThanOrEqual(burst * (1 - share) - 1e-9);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('TokenBucket', () => {
  it('grants in the order asked', async () => {
    const bucket = new TokenBucket(1, 10);
    const order: number[] = [];
    const all = [0, 1, 2, 3].map((n) => bucket.take('x').then(() => order.push(n)));
    await vi.runAllTimersAsync();
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3]);
  });
});
