import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PipelineRun } from '../../lib/pipeline.js';
import { metrics, record } from '../../lib/runtime.js';
import { aChange } from '../helpers/factories.js';

/** A run as the pipeline returns it, with `changes` and `gaps` in its report. */
function aRun(changes: number, gaps: number): PipelineRun {
  const report = {
    changes: Array.from({ length: changes }, () => aChange()),
    consumers: [],
    actions: [],
    gaps: Array.from({ length: gaps }, () => ({
      region: 'us-east-1',
      scope: 'ecs',
      api: 'ecs:ListClusters',
      error: 'AccessDenied',
    })),
    complete: gaps === 0,
  };
  return { report, failedRecords: [], handedOver: false } as unknown as PipelineRun;
}

describe('the Gaps metric', () => {
  afterEach(() => vi.restoreAllMocks());

  const gapsOf = (run: PipelineRun, trigger: string) => {
    const added = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
    record(run, { trigger });
    const values = added.mock.calls.filter(([name]) => name === 'Gaps').map(([, , value]) => value);
    added.mockRestore();
    return values;
  };

  it('is emitted by a run that read the account, gaps or none', () => {
    expect(gapsOf(aRun(1, 2), 'on-change')).toEqual([2]);
    expect(gapsOf(aRun(0, 0), 'sweep')).toEqual([0]);
  });

  it('is not emitted by a run of follow-ups or ignored events alone (its 0 would hide a gap)', () => {
    expect(gapsOf(aRun(0, 0), 'on-change')).toEqual([]);
  });
});
