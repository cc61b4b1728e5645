import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A JSON object as read from a fixture; tests narrow it where they need a field. */
export type JsonObject = Record<string, unknown>;

const FIXTURES = new URL('../fixtures/events/', import.meta.url);

/**
 * Reads one event fixture by its name under `test/fixtures/events`, without the extension.
 * Every call returns a fresh copy, so a test may change it freely.
 *
 * @example loadEvent('ssm/update').detail // { operation: 'Update', name: '/prod/db/password', ... }
 */
export function loadEvent(path: string): JsonObject {
  return JSON.parse(readFileSync(new URL(`${path}.json`, FIXTURES), 'utf8')) as JsonObject;
}

/**
 * Wraps events as the SQS batch Lambda receives from a queue that an EventBridge rule feeds: each
 * event is the JSON `body` of one record. A string is used as the body unchanged, so a test can
 * send a body that is not JSON. Message ids are fixed by position (`…-000000000001` first).
 */
export function sqsBatch(...events: unknown[]): { Records: JsonObject[] } {
  return {
    Records: events.map((event, index) => {
      const body = typeof event === 'string' ? event : JSON.stringify(event);
      const messageId = `5d1b8a3e-2c4f-4e6a-9b7d-${String(index + 1).padStart(12, '0')}`;
      const sent = 1_715_678_498_000 + index * 250;
      return {
        messageId,
        receiptHandle: `AQEB${createHash('sha256').update(messageId).digest('base64')}`,
        body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(sent),
          SenderId: 'AIDAIENQZJOLO23YVJ4VO',
          ApproximateFirstReceiveTimestamp: String(sent + 40),
        },
        messageAttributes: {},
        md5OfBody: createHash('md5').update(body).digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:rotation-watcher-events',
        awsRegion: 'us-east-1',
      };
    }),
  };
}

/**
 * A `Parameter Store Change` (Update) of `name`, as EventBridge delivers it.
 *
 * @example parameterChange('/prod/db', { id: 'evt-1', time: Date.now() })
 */
export function parameterChange(
  name: string,
  options: { id: string; time?: number; account?: string; region?: string },
): JsonObject {
  return {
    version: '0',
    id: options.id,
    'detail-type': 'Parameter Store Change',
    source: 'aws.ssm',
    account: options.account ?? '123456789012',
    time: new Date(options.time ?? Date.now()).toISOString(),
    region: options.region ?? 'us-east-1',
    resources: [],
    detail: { operation: 'Update', name, type: 'SecureString' },
  };
}
