import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { buildDeps } from './compose.js';
import { readSettings } from './config.js';
import type { PipelineDeps, PipelineRun } from './pipeline.js';

/**
 * What a Lambda container keeps between invocations: settings (read once, at the boundary),
 * clients with their API budget (one per container, so one of the stack's STACK_BUDGETS) and
 * the definition cache; each invocation is a run of its own on them (runPipeline). Built on
 * first use so a bad setting fails the invocation with a message naming the variable.
 */
export function lambdaDeps(env: NodeJS.ProcessEnv = process.env): PipelineDeps {
  const settings = readSettings(env);
  const home = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!home) throw new Error('AWS_REGION is not set: the Lambda runtime always sets it');
  return buildDeps(settings, { home, queueUrl: env.WATCHER_QUEUE_URL?.trim() || null });
}

/** What a run keeps for acting, telling and saving after it stops reading: at least this... */
const RESERVE_MS = 15_000;
/** ...or this share of the time it had. */
const RESERVE_SHARE = 0.25;
/** The least reading time a limit may leave. */
const MIN_READ_MS = 1_000;
/** What telling and saving need after the last restart is sent. */
const ACT_MARGIN_MS = 5_000;

/**
 * When a Lambda run must have read the account (epoch ms): its remaining time less a reserve for
 * acting, telling and saving the index. None outside Lambda.
 */
export function readByOf(context: LambdaTime | undefined, now = Date.now()): number | undefined {
  const remaining = remainingOf(context);
  if (remaining === undefined) return undefined;
  const window = remaining - Math.max(RESERVE_MS, remaining * RESERVE_SHARE);
  // A function given too little time for any reading (a timeout of 16 s or less) would hand
  // over every run; it reads without a limit instead, and the timeout alarm says so.
  return window < MIN_READ_MS ? undefined : now + window;
}

/** When restarts must have been sent: the Lambda's end less a margin for the report. */
export function actByOf(context: LambdaTime | undefined, now = Date.now()): number | undefined {
  const remaining = remainingOf(context);
  if (remaining === undefined) return undefined;
  return remaining > ACT_MARGIN_MS * 2 ? now + remaining - ACT_MARGIN_MS : undefined;
}

type LambdaTime = { getRemainingTimeInMillis?: () => number };

/** The Lambda's remaining milliseconds; none outside Lambda. */
function remainingOf(context: LambdaTime | undefined): number | undefined {
  const remaining = context?.getRemainingTimeInMillis?.();
  return remaining !== undefined && Number.isFinite(remaining) ? remaining : undefined;
}

export const logger = new Logger({ serviceName: 'rotation-watcher' });
export const metrics = new Metrics({
  namespace: 'RotationWatcher',
  serviceName: 'rotation-watcher',
});

/** What an invocation measures beside its run's report (the dashboard shows both). */
export interface RunMeasures {
  /** Per AWS throttle bucket, the peak share of the watcher's budget in use, in percent (ApiBudget.drawdown). */
  budgetUsed?: Record<string, number>;
  /** Rotation records still followed, and those past their deadline (the sweep: RotationStore.count). */
  rotations?: { open: number; overdue: number };
}

/** Logs a run's outcome in one structured line and records its metrics (EMF). */
export function record(
  run: PipelineRun,
  extra: Record<string, unknown> = {},
  measures: RunMeasures = {},
): void {
  const { report } = run;
  const stale = report.consumers.filter((consumer) => consumer.stale).length;
  logger.info('run finished', {
    ...extra,
    changes: report.changes.map(({ service, name, region, operation, changedAt, timeSource }) => ({
      service,
      name,
      region,
      operation,
      changedAt,
      timeSource,
    })),
    consumers: report.consumers.length,
    stale,
    quiet: report.quiet ?? 0,
    actions: report.actions.map(({ kind, target, status, detail }) => ({
      kind,
      target,
      status,
      detail,
    })),
    complete: report.complete,
    handedOver: run.handedOver,
    gaps: report.gaps.length > 20 ? report.gaps.slice(0, 20) : report.gaps,
    gapCount: report.gaps.length,
    failedRecords: run.failedRecords,
    awsCalls: run.report.calls
      ? Object.values(run.report.calls).reduce((sum, count) => sum + count.calls, 0)
      : 0,
    ...measures,
  });
  metrics.addMetric('ChangesReceived', MetricUnit.Count, report.changes.length);
  metrics.addMetric('ConsumersFound', MetricUnit.Count, report.consumers.length);
  metrics.addMetric('ConsumersStale', MetricUnit.Count, stale);
  // Only a run that read the account says how much of it it could not read: a run of follow-ups
  // or ignored events alone would put a 0 in the minimum the GapsPersist alarm takes.
  if (extra.trigger === 'sweep' || report.changes.length > 0)
    metrics.addMetric('Gaps', MetricUnit.Count, report.gaps.length);
  metrics.addMetric('RecordsFailed', MetricUnit.Count, run.failedRecords.length);
  metrics.addMetric('HandedOver', MetricUnit.Count, run.handedOver ? 1 : 0);
  // The stack alarms on a sweep that could not read part of the account.
  // A sweep that handed over is continued by the next invocation, which reports for both.
  if (extra.trigger === 'sweep')
    metrics.addMetric(
      'SweepIncomplete',
      MetricUnit.Count,
      report.complete || extra.continued === true ? 0 : 1,
    );
  const calls = Object.values(report.calls ?? {});
  metrics.addMetric(
    'AwsCalls',
    MetricUnit.Count,
    calls.reduce((sum, count) => sum + count.calls, 0),
  );
  metrics.addMetric(
    'AwsCallsThrottled',
    MetricUnit.Count,
    calls.reduce((sum, count) => sum + count.throttled, 0),
  );
  const tally = new Map<string, number>();
  for (const action of report.actions)
    tally.set(
      `${action.kind}|${action.status}`,
      (tally.get(`${action.kind}|${action.status}`) ?? 0) + 1,
    );
  for (const [key, count] of tally) {
    const [kind = '', status = ''] = key.split('|');
    const single = metrics.singleMetric();
    single.addDimensions({ kind, status });
    single.addMetric('Actions', MetricUnit.Count, count);
  }
  if (measures.rotations) {
    metrics.addMetric('RotationsOpen', MetricUnit.Count, measures.rotations.open);
    metrics.addMetric('RotationsOverdue', MetricUnit.Count, measures.rotations.overdue);
  }
  for (const [bucket, percent] of Object.entries(measures.budgetUsed ?? {})) {
    const single = metrics.singleMetric();
    single.addDimensions({ bucket });
    single.addMetric('ApiBudgetUsed', MetricUnit.Percent, percent);
  }
  metrics.publishStoredMetrics();
}
