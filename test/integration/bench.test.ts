import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// The benchmark is a script, not a timed test: this only keeps it working and checks its counts.
describe('npm run bench -- --quick --json', () => {
  it('prints the report object with calls for ours cold and warm, naive and the lower bound', () => {
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
    for (const run of [size.ours.cold, size.ours.warm, size.naive]) {
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
    }
    expect(size.ours.cold.calls).toBeLessThan(size.naive.calls);
    expect(size.ours.warm.byApi['ecs:DescribeTaskDefinition']).toBeUndefined();
    expect(size.ours.warm.byApi['batch:DescribeJobDefinitions']).toBeUndefined();
    expect(size.ours.warm.calls).toBeLessThanOrEqual(1.2 * size.lowerBound.warmCalls);
    expect(size.ours.cold.calls).toBeLessThanOrEqual(1.2 * size.lowerBound.calls);
    expect(size.naive.byApi['ecs:DescribeTaskDefinition']).toBe(250);
  }, 150_000);
});
