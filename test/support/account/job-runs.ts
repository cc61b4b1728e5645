// Batch jobs as the account's clock moves them on: SubmitJob gives a job its definition's script,
// and `advanceJobs` applies each step whose time has come, stamped with that time.
import type { JobScript, ScriptedAccount, ScriptedJob } from './model.js';
import { SECRETS_PULL_FAILURE } from './shared.js';

/** Batch's statusReason for a job whose container ran and exited. */
export const CONTAINER_EXITED = 'Essential container in task exited';

interface Step {
  /** Seconds after submission. */
  after: number;
  run(job: ScriptedJob, at: number): void;
}

function stepsOf(script: JobScript): Step[] {
  const queued: Step = { after: 0, run: (job) => (job.status = 'RUNNABLE') };
  const running: Step[] =
    script.runningAfter === undefined
      ? []
      : [
          {
            after: script.runningAfter,
            run: (job, at) => {
              job.status = 'RUNNING';
              job.startedAt = at;
            },
          },
        ];
  const ran = script.runningAfter !== undefined;
  const end: Step = {
    after: script.endsAfter,
    run: (job, at) => {
      job.status = script.kind === 'succeed' ? 'SUCCEEDED' : 'FAILED';
      job.stoppedAt = at;
      if (ran) job.exitCode = script.kind === 'succeed' ? 0 : 1;
      job.statusReason =
        (script.kind === 'fail' ? script.statusReason : undefined) ??
        (ran ? CONTAINER_EXITED : SECRETS_PULL_FAILURE);
    },
  };
  return [queued, ...running, end];
}

/** Applies every due step of every scripted job that has not ended (TerminateJob ends it). */
export function advanceJobs(a: ScriptedAccount): void {
  for (const job of a.jobs) {
    if (!job.script) continue;
    const steps = stepsOf(job.script);
    for (;;) {
      if (job.status === 'SUCCEEDED' || job.status === 'FAILED') break;
      const step = steps[job.stepsDone ?? 0];
      const at = step ? job.createdAt + step.after * 1000 : Number.POSITIVE_INFINITY;
      if (!step || at > a.now) break;
      job.stepsDone = (job.stepsDone ?? 0) + 1;
      step.run(job, at);
    }
  }
}
