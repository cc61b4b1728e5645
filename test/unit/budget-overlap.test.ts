// What the API budget guarantees when runs overlap. Each budget (one per Lambda container, kept
// across its invocations; one per CLI process, kept across `wait`'s checks) takes at most
// `c + r × T` tokens of a bucket in any window of T seconds, c = max(1, ⌊share × burst⌋) and
// r = share × refill. The stack runs at most STACK_BUDGETS budgets at once, so the account keeps
// at least (1 − budgets × share) of every bucket's burst whatever its runs' timing.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ApiBudget,
  bucketOf,
  DEFAULT_API_SHARE,
  STACK_BUDGETS,
  type ThrottleBucket,
} from '../../lib/aws/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Calls asked for at once: `count` of them at `at` ms. */
type Wave = [at: number, count: number];

/** One budget and the calls its runs ask for. */
interface Holder {
  role: 'on-change' | 'sweep' | 'wait';
  waves: Wave[];
}

const wave = fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 60 }));
/** A Lambda container's invocations, one after another, all on the container's budget. */
const container = fc.array(wave, { minLength: 1, maxLength: 4 });
/** A `wait`: checks every `interval` from `start`, each check a wave of calls, one budget. */
const waitProcess = fc
  .record({
    start: fc.integer({ min: 0, max: 10_000 }),
    interval: fc.integer({ min: 1_000, max: 30_000 }),
    checks: fc.integer({ min: 1, max: 8 }),
    count: fc.integer({ min: 1, max: 40 }),
  })
  .map(({ start, interval, checks, count }): Wave[] =>
    Array.from({ length: checks }, (_, k) => [start + k * interval, count]),
  );

/**
 * The overlaps the stack allows: each on-change slot (the event source's maximum concurrency)
 * and the sweep's slot runs one container at a time, and Lambda may replace a container (a new
 * one, a new budget, starting full); `wait`s beside them, one budget each.
 */
const stack = (replace: boolean) =>
  fc
    .record({
      onChange: fc.array(fc.array(container, { minLength: 1, maxLength: replace ? 2 : 1 }), {
        minLength: 0,
        maxLength: STACK_BUDGETS - 1,
      }),
      sweep: fc.array(fc.array(container, { minLength: 1, maxLength: replace ? 2 : 1 }), {
        minLength: 0,
        maxLength: 1,
      }),
      waits: fc.array(waitProcess, { minLength: 0, maxLength: 2 }),
    })
    .map(({ onChange, sweep, waits }): Holder[] => [
      ...onChange.flatMap((slot) => sequential(slot, 'on-change')),
      ...sweep.flatMap((slot) => sequential(slot, 'sweep')),
      ...waits.map((waves): Holder => ({ role: 'wait', waves })),
    ]);

const apis = fc.constantFrom(
  'ecs:DescribeTaskDefinition',
  'ecs:ListTasks',
  'ecs:UpdateService',
  'batch:ListJobs',
);
const shares = fc.constantFrom(DEFAULT_API_SHARE, 0.5, 0.2, 0.1);

describe('the API budget, with runs overlapping', () => {
  it('takes at most c + r × T of a bucket per budget that draws on it, in any window of T', async () => {
    await fc.assert(
      fc.asyncProperty(shares, apis, stack(true), async (share, api, holders) => {
        const bucket = bucketOf(api) as ThrottleBucket;
        const grants = await granted(share, api, holders);
        const c = Math.max(1, Math.floor(bucket.burst * share));
        const r = bucket.refill * share;
        // The window that comes nearest its bound (or beyond it), reported whole if it fails.
        let worst = { excess: Number.NEGATIVE_INFINITY, tokens: 0, budgets: 0, ms: 0 };
        for (const window of windows(grants)) {
          const excess = window.tokens - window.budgets * (c + (r * window.ms) / 1000);
          if (excess > worst.excess) worst = { excess, ...window };
        }
        expect(worst.excess, JSON.stringify(worst)).toBeLessThanOrEqual(1e-9);
      }),
      { numRuns: 80 },
    );
  });

  it("leaves AWS's bucket (1 − budgets × share) of its burst, with the stack's budgets and waits at once", async () => {
    await fc.assert(
      fc.asyncProperty(shares, apis, stack(false), async (share, api, holders) => {
        const bucket = bucketOf(api) as ThrottleBucket;
        const budgets = holders.length;
        fc.pre(budgets * share <= 1);
        const aws = awsBucket(
          bucket,
          (await granted(share, api, holders)).map((g) => g.at),
        );
        expect(aws.refused).toBe(0);
        const c = Math.max(1, Math.floor(bucket.burst * share));
        expect(aws.min).toBeGreaterThanOrEqual(bucket.burst - budgets * c - 1e-9);
      }),
      { numRuns: 80 },
    );
  });

  it('keeps at least a quarter of every bucket for the account at the default share, whatever the stack overlaps', () => {
    // Two on-change containers and the sweep's, each taking the default share.
    expect(1 - STACK_BUDGETS * DEFAULT_API_SHARE).toBeGreaterThanOrEqual(0.25);
  });

  it("counts the stack's budgets as serverless.yml allows them to run at once", () => {
    const yml = readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8');
    const onChange = Number(/maximumConcurrency:\s*(\d+)/.exec(yml)?.[1]);
    const sweep = Number(/reservedConcurrency:\s*(\d+)/.exec(yml)?.[1]);
    expect(onChange + sweep).toBe(STACK_BUDGETS);
  });
});

/** A slot's containers, one after another: each starts after the one before it ended. */
function sequential(containers: Wave[][], role: Holder['role']): Holder[] {
  let from = 0;
  return containers.map((waves) => {
    const shifted = waves.map(([at, count]): Wave => [from + at, count]);
    from = Math.max(...shifted.map(([at]) => at)) + 1;
    return { role, waves: shifted };
  });
}

/** Every token granted, when and to which budget, each holder on an ApiBudget of its own. */
async function granted(share: number, api: string, holders: Holder[]) {
  vi.setSystemTime(0);
  const budgets = holders.map(() => new ApiBudget(share));
  const asks = holders
    .flatMap((holder, index) =>
      holder.waves.flatMap(([at, count]) => Array<[number, number]>(count).fill([at, index])),
    )
    .sort((a, b) => a[0] - b[0]);
  const grants: Array<{ at: number; budget: number }> = [];
  const pending: Promise<unknown>[] = [];
  for (const [at, index] of asks) {
    await vi.advanceTimersByTimeAsync(at - Date.now());
    pending.push(
      (budgets[index] as ApiBudget)
        .take(api, 'us-east-1')
        .then(() => grants.push({ at: Date.now(), budget: index })),
    );
  }
  await vi.runAllTimersAsync();
  await Promise.all(pending);
  return grants.sort((a, b) => a.at - b.at);
}

/** Every window from one grant's time to another's: its length, tokens, and budgets seen. */
function* windows(grants: Array<{ at: number; budget: number }>) {
  for (let i = 0; i < grants.length; i++) {
    // A window starts at a moment: every grant of that moment is in it.
    if (i > 0 && grants[i - 1]?.at === grants[i]?.at) continue;
    const seen = new Set<number>();
    for (let j = i; j < grants.length; j++) {
      const grant = grants[j] as { at: number; budget: number };
      seen.add(grant.budget);
      if (grants[j + 1]?.at === grant.at) continue;
      yield { ms: grant.at - (grants[i]?.at ?? 0), tokens: j - i + 1, budgets: seen.size };
    }
  }
}

/** AWS's bucket fed the calls granted at `times`: the fewest tokens it held, and any refusal. */
function awsBucket(bucket: ThrottleBucket, times: number[]) {
  let tokens = bucket.burst;
  let at = 0;
  let min = bucket.burst;
  let refused = 0;
  for (const time of times) {
    tokens = Math.min(bucket.burst, tokens + ((time - at) / 1000) * bucket.refill);
    at = time;
    if (tokens < 1) refused += 1;
    else tokens -= 1;
    min = Math.min(min, tokens);
  }
  return { min, refused };
}
