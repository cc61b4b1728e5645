import { Logger } from '@aws-lambda-powertools/logger';
import { parsePayload } from '../lib/events/index.js';

const logger = new Logger({ serviceName: 'rotation-watcher' });

/**
 * Receives Parameter Store and Secrets Manager change events (directly from EventBridge, or in
 * an SQS batch) and turns them into changes. Discovery and actions are wired in by later work.
 */
export const handler = async (payload: unknown) => {
  const records = parsePayload(payload);
  for (const record of records) {
    if (record.error)
      logger.error('unreadable event', { recordId: record.recordId, reason: record.error });
    else if (record.ignored)
      logger.info('event ignored', { recordId: record.recordId, reason: record.ignored });
  }
  const changes = records.flatMap((record) => record.changes);
  logger.info('changes received', { changes: changes.length, records: records.length });
  return { changes };
};
