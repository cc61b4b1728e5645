import type { Context, SQSBatchResponse } from 'aws-lambda';
import { parsePayload } from '../lib/events/index.js';
import { type PipelineDeps, runPipeline } from '../lib/pipeline.js';
import { lambdaDeps, logger, readByOf, record } from '../lib/runtime.js';

let deps: PipelineDeps | undefined;

/**
 * Receives Parameter Store and Secrets Manager change events, directly from EventBridge or in
 * an SQS batch, coalesces every change of the batch into one plan, acts, and tells. With SQS it
 * returns the records to retry (only those touched by a failure).
 */
export const handler = async (
  payload: unknown,
  context?: Partial<Context>,
): Promise<SQSBatchResponse | { changes: number; stale: number }> => {
  deps ??= lambdaDeps();
  if (context?.awsRequestId) logger.appendKeys({ requestId: context.awsRequestId });
  const records = parsePayload(payload);
  for (const item of records) {
    if (item.error)
      logger.error('unreadable event', { recordId: item.recordId, reason: item.error });
    else if (item.ignored)
      logger.info('event ignored', { recordId: item.recordId, reason: item.ignored });
  }
  // A run that cannot read the account in the time it has saves what it learned and hands every
  // record back (a retry starts with a warmer index), instead of being cut off by the timeout.
  const run = await runPipeline({ records }, deps, { apply: true, readBy: readByOf(context) });
  record(run, { trigger: 'on-change', records: records.length });
  const isSqs = typeof payload === 'object' && payload !== null && 'Records' in payload;
  if (isSqs)
    return { batchItemFailures: run.failedRecords.map((itemIdentifier) => ({ itemIdentifier })) };
  const failed =
    records.some((item) => item.error) ||
    !run.report.complete ||
    run.report.actions.some((action) => action.status === 'failed');
  // Delivered directly, the event is retried by Lambda only if the invocation fails.
  if (run.handedOver)
    throw new Error(
      'rotation-watcher: the run reached its time limit before it had read the account; what it learned is saved and the event is retried',
    );
  if (failed)
    throw new Error(
      `rotation-watcher: the run did not complete: ${summarizeFailures(run.report.actions, records)}`,
    );
  return {
    changes: run.report.changes.length,
    stale: run.report.consumers.filter((consumer) => consumer.stale).length,
  };
};

function summarizeFailures(
  actions: Array<{ kind: string; status: string; detail: string }>,
  records: Array<{ error: string | null }>,
): string {
  const failures = [
    ...records.flatMap((item) => (item.error ? [item.error] : [])),
    ...actions.filter((a) => a.status === 'failed').map((a) => `${a.kind}: ${a.detail}`),
  ];
  return failures.slice(0, 3).join('; ') || 'part of the account could not be read';
}

/** Forgets the container's state (tests start each case as a cold start). */
export function resetForTests(): void {
  deps = undefined;
}
