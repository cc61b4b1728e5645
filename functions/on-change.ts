import { ChangeMessageVisibilityBatchCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { chunks, describeError } from '../lib/aws/index.js';
import { parsePayload } from '../lib/events/index.js';
import { type PipelineDeps, runPipeline } from '../lib/pipeline.js';
import { actByOf, lambdaDeps, logger, readByOf, record } from '../lib/runtime.js';

/**
 * Receives Parameter Store and Secrets Manager change events, directly from EventBridge or in
 * an SQS batch, coalesces every change of the batch into one plan, acts, and tells. With SQS it
 * returns the records to retry (only those touched by a failure).
 */
export function createHandler(build: () => PipelineDeps = lambdaDeps) {
  // What a Lambda container keeps between invocations, built on the first one.
  let kept: PipelineDeps | undefined;
  return (payload: unknown, context?: Partial<Context>) => {
    kept ??= build();
    return onChange(payload, kept, context);
  };
}

/** The Lambda's entry point: one handler per container. */
export const handler = createHandler();

async function onChange(
  payload: unknown,
  deps: PipelineDeps,
  context?: Partial<Context>,
): Promise<SQSBatchResponse | { changes: number; stale: number }> {
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
  const run = await runPipeline({ records }, deps, {
    apply: true,
    readBy: readByOf(context),
    actBy: actByOf(context),
  });
  record(
    run,
    { trigger: 'on-change', records: records.length },
    { budgetUsed: deps.clients.budget.drawdown() },
  );
  const isSqs = typeof payload === 'object' && payload !== null && 'Records' in payload;
  if (isSqs && run.handedOver) await soonAgain((payload as { Records: SQSRecord[] }).Records, deps);
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
}

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

/** Seconds before a handed-back record is received again (instead of the visibility timeout). */
export const HAND_BACK_SECONDS = 30;

/**
 * Makes the records of a handed-over run visible again in HAND_BACK_SECONDS rather than at the
 * end of the queue's visibility timeout: the retry starts with the index this run filled. If it
 * fails, the records come back at the end of the visibility timeout all the same.
 */
async function soonAgain(records: SQSRecord[], { clients, home }: PipelineDeps): Promise<void> {
  const byQueue = new Map<string, SQSRecord[]>();
  for (const item of records) {
    if (!item.eventSourceARN || !item.receiptHandle) continue;
    byQueue.set(item.eventSourceARN, [...(byQueue.get(item.eventSourceARN) ?? []), item]);
  }
  for (const [queueArn, items] of byQueue) {
    const [, , , region = home, account = '', name = ''] = queueArn.split(':');
    const queueUrl = `https://sqs.${region}.amazonaws.com/${account}/${name}`;
    for (const group of chunks(items, 10)) {
      try {
        const reply = await clients.get('sqs', region).send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: group.map((item, index) => ({
              Id: String(index),
              ReceiptHandle: item.receiptHandle,
              VisibilityTimeout: HAND_BACK_SECONDS,
            })),
          }),
        );
        if (reply.Failed?.length)
          logger.warn('some handed-back records keep the visibility timeout', {
            failed: reply.Failed.length,
          });
      } catch (error) {
        logger.warn('handed-back records keep the visibility timeout', {
          error: describeError(error),
        });
      }
    }
  }
}
