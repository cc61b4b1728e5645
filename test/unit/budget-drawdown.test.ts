import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiBudget } from '../../lib/aws/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Takes `count` tokens of `api` at once and waits until all are granted. */
async function take(budget: ApiBudget, api: string, count: number, region = 'us-east-1') {
  const all = Array.from({ length: count }, () => budget.take(api, region));
  await vi.runAllTimersAsync();
  await Promise.all(all);
}

describe('the API budget used (ApiBudgetUsed)', () => {
  // At a share of 0.5, the watcher's "cluster resource read" bucket holds 50 tokens (AWS: 100).
  it("is the largest share of the watcher's own bucket in use at once, in percent", async () => {
    const budget = new ApiBudget(0.5);
    await take(budget, 'ecs:ListTasks', 10);
    expect(budget.drawdown()).toEqual({ 'ecs:cluster resource read': 20 });
  });

  it('is 100 when calls had to wait for tokens', async () => {
    const budget = new ApiBudget(0.5);
    await take(budget, 'ecs:DescribeTasks', 80);
    expect(budget.drawdown()).toEqual({ 'ecs:cluster resource read': 100 });
  });

  it('starts again at each reading, and leaves out buckets not called since', async () => {
    const budget = new ApiBudget(0.5);
    await take(budget, 'ecs:ListTasks', 25);
    await take(budget, 'batch:ListJobs', 5);
    expect(budget.drawdown()).toEqual({ 'ecs:cluster resource read': 50, 'batch:all': 20 });
    await vi.advanceTimersByTimeAsync(60_000);
    await take(budget, 'ecs:ListTasks', 5);
    expect(budget.drawdown()).toEqual({ 'ecs:cluster resource read': 10 });
    expect(budget.drawdown()).toEqual({});
  });

  it('takes the busiest region of a bucket', async () => {
    const budget = new ApiBudget(0.5);
    await take(budget, 'ecs:ListTasks', 5, 'us-east-1');
    await take(budget, 'ecs:ListTasks', 15, 'eu-west-1');
    expect(budget.drawdown()).toEqual({ 'ecs:cluster resource read': 30 });
  });

  it('says nothing when the budget is off', async () => {
    const budget = new ApiBudget(0);
    await take(budget, 'ecs:ListTasks', 5);
    expect(budget.drawdown()).toEqual({});
  });
});
