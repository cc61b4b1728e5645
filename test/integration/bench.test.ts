import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// The benchmark is a script, not a timed test: this only keeps it working and checks its counts.
describe('npm run bench -- --quick --json', () => {
  it('prints each run: ours with an empty and a warm index, warm in-process, and both baselines', () => {
    const stdout = execFileSync(
      'npx',
      [
        'tsx',
        'scripts/bench.ts',
        '--quick',
        '--json',
        '--latency',
        '2',
        '--burst',
        '1000',
        '--rate',
        '1000',
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    const report = JSON.parse(stdout);
    expect(report.sizes).toHaveLength(1);
    const [size] = report.sizes;
    expect(size).toMatchObject({ services: 50, tasks: 250, jobs: 100 });
    const { naive, competent, emptyIndex, warmIndex, warmProcess } = size.runs;
    for (const run of [naive, competent, emptyIndex, warmIndex, warmProcess]) {
      expect(run).toEqual(
        expect.objectContaining({
          calls: expect.any(Number),
          throttled: expect.any(Number),
          ms: expect.any(Number),
          rssMb: expect.any(Number),
        }),
      );
      // Every approach finds the same consumers: the ones the synthetic account was built with.
      expect(run.consumers).toBe(size.consumersExpected);
      // The server saw the ECS task bucket drawn on, and says what the run left of it.
      expect(run.buckets['ecs:cluster resource read'].taken).toBeGreaterThan(0);
    }
    expect(competent.calls).toBeLessThan(naive.calls);
    // A fresh process with a warm index describes no definition; the empty index wrote them.
    expect(warmIndex.byApi['ecs:DescribeTaskDefinition']).toBeUndefined();
    expect(warmIndex.byApi['batch:DescribeJobDefinitions']).toBeUndefined();
    expect(warmIndex.byApi['dynamodb:BatchGetItem']).toBeGreaterThan(0);
    expect(emptyIndex.byApi['dynamodb:BatchWriteItem']).toBeGreaterThan(0);
    expect(emptyIndex.byApi['ecs:DescribeTaskDefinition']).toBe(size.revisions);
    expect(warmProcess.byApi['dynamodb:BatchGetItem']).toBeUndefined();
    expect(warmIndex.calls).toBe(size.lowerBound.indexed.calls);
    expect(warmProcess.calls).toBe(size.lowerBound.inMemory.calls);
    expect(naive.byApi['ecs:DescribeTaskDefinition']).toBe(250);
    // The budget holds: no run of ours leaves a bucket below half of its burst.
    for (const run of [emptyIndex, warmIndex, warmProcess])
      for (const bucket of Object.values(run.buckets) as Array<{ left: number }>)
        expect(bucket.left).toBeGreaterThanOrEqual(0.5);
  }, 150_000);
});
