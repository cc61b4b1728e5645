import { type PipelineDeps, runPipeline } from '../lib/pipeline.js';
import { lambdaDeps, record } from '../lib/runtime.js';

let deps: PipelineDeps | undefined;

/**
 * On a schedule: finds every running consumer created before the last change of a value
 * it references (the `drift` command) and applies the same plan as on-change. This is the safety
 * net for the events AWS delivers only on a best-effort basis.
 */
export const handler = async (): Promise<{
  consumers: number;
  stale: number;
  complete: boolean;
}> => {
  deps ??= lambdaDeps();
  const run = await runPipeline({ sweep: true }, deps, { apply: true });
  record(run, { trigger: 'sweep' });
  return {
    consumers: run.report.consumers.length,
    stale: run.report.consumers.filter((consumer) => consumer.stale).length,
    complete: run.report.complete,
  };
};

export function resetForTests(): void {
  deps = undefined;
}
