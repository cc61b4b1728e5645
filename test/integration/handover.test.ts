// Hand-over at the time limit, against moto (ECS, SSM, DynamoDB): a run that cannot read the
// account in its time keeps what it described in the reference index, acts on nothing, tells
// nobody and hands its records back; the retry describes only what the first did not.
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('../../lib/aws/index.js', async (importOriginal) =>
  (await import('../helpers/iam-recorder.js')).recording(await importOriginal()),
);

import { createHandler as createOnChange } from '../../functions/on-change.js';
import { createHandler as createSweep } from '../../functions/sweep.js';
import { parsePayload } from '../../lib/events/index.js';
import { runPipeline } from '../../lib/pipeline.js';
import { actByOf, lambdaDeps, readByOf } from '../../lib/runtime.js';
import { parameterChange, sqsBatch } from '../helpers/events.js';
import { takeCalls } from '../helpers/iam-recorder.js';
import { useMoto } from '../helpers/moto.js';

let onChange = createOnChange();
/** A cold start: the handler of a new Lambda container. */
const resetOnChange = () => {
  onChange = createOnChange();
};
let sweep = createSweep();
/** A cold start: the handler of a new Lambda container. */
const resetSweep = () => {
  sweep = createSweep();
};

const env = useMoto();
const REGION = 'us-east-1';
const PARAM = '/handover/db/password';
/** More revisions than half of the task-definition bucket's burst (25) lets through at once. */
const SERVICES = 30;

/** A Lambda context with `ms` left; the run must have read the account 15 s before the end. */
const withRemaining = (ms: number) => ({
  getRemainingTimeInMillis: () => ms,
  functionName: 'rotation-watcher-dev-sweep',
  invokedFunctionArn: `arn:aws:lambda:${REGION}:123456789012:function:rotation-watcher-dev-sweep`,
});

async function indexed(table: string): Promise<number> {
  const db = new DynamoDBClient({ region: REGION });
  const { Items = [] } = await db.send(new ScanCommand({ TableName: table }));
  db.destroy();
  return Items.filter((item) => item.pk?.S?.startsWith('def#')).length;
}

describe('a run that reaches its time limit', () => {
  let table = '';
  beforeAll(async () => {
    const { seed } = env;
    await seed.parameter(REGION, PARAM, 'old');
    const cluster = await seed.cluster(REGION, 'handover');
    for (let n = 0; n < SERVICES; n++) {
      const td = await seed.taskDefinition(REGION, `app${n}`, [
        { name: 'app', secrets: { DB: PARAM } },
      ]);
      await seed.service(REGION, cluster, `app${n}`, td, {
        tasks: 1,
        tags: { 'rotation-watcher:action': 'redeploy' },
      });
    }
    table = await seed.stateTable(REGION, 'handover-state');
    // The rotation, after every task started.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await seed.parameter(REGION, PARAM, 'new');
  }, 120_000);

  it('saves what it described, acts on nothing and hands back its records; the retry finishes', async () => {
    // All at once: what is checked is the hand-over (each service restarted once, by the retry).
    const environment = { AWS_REGION: REGION, WATCHER_STATE_TABLE: table, WATCHER_WAVES: 'all' };
    const records = parsePayload(sqsBatch(parameterChange(PARAM, { id: 'evt-1' })));

    // A tenth of each bucket: 5 describes at once, then 2 a second; 2 s to read the account.
    const first = lambdaDeps({ ...environment, WATCHER_API_SHARE: '0.1' });
    const cut = await runPipeline({ records }, first, {
      apply: true,
      readBy: Date.now() + 2_000,
    });
    expect(cut.handedOver).toBe(true);
    expect(cut.failedRecords).toEqual([records[0]?.recordId]);
    expect(cut.actions).toEqual([]);
    expect(cut.notifications).toEqual([]);
    expect(cut.report.complete).toBe(false);
    expect(cut.result.gaps.some((gap) => gap.cause === 'time-limit')).toBe(true);
    const described = first.clients.counter.of('ecs:DescribeTaskDefinition');
    expect(described).toBeGreaterThanOrEqual(5);
    expect(described).toBeLessThan(SERVICES);
    expect(first.clients.counter.of('ecs:UpdateService')).toBe(0);
    expect(await indexed(table)).toBe(described);
    first.clients.destroy();

    // The retry, in a new container: the index answers for what the first run described.
    const second = lambdaDeps({ ...environment, WATCHER_API_SHARE: '1' });
    const done = await runPipeline({ records }, second, { apply: true });
    expect(done.handedOver).toBe(false);
    expect(done.failedRecords).toEqual([]);
    expect(second.clients.counter.of('ecs:DescribeTaskDefinition')).toBe(SERVICES - described);
    expect(done.result.consumers.filter((consumer) => consumer.stale)).toHaveLength(SERVICES);
    expect(second.clients.counter.of('ecs:UpdateService')).toBe(SERVICES > 25 ? 25 : SERVICES);
    expect(await indexed(table)).toBe(SERVICES);
    second.clients.destroy();
  }, 120_000);

  it('hands back every record of an SQS batch from the on-change function', async () => {
    resetOnChange();
    vi.stubEnv('WATCHER_STATE_TABLE', '');
    vi.stubEnv('WATCHER_API_SHARE', '0.01');
    vi.stubEnv('AWS_REGION', REGION);
    try {
      // No index, 1.5 s to read and one token per bucket: it cannot read the account.
      const batch = sqsBatch(
        parameterChange(PARAM, { id: 'evt-2' }),
        parameterChange(PARAM, { id: 'evt-3' }),
      );
      takeCalls();
      const reply = await onChange(batch, withRemaining(16_500));
      expect(reply).toEqual({
        batchItemFailures: batch.Records.map((record) => ({
          itemIdentifier: record.messageId,
        })),
      });
      // They come back in 30 s, not at the end of the queue's visibility timeout.
      const handBack = takeCalls().filter((call) => call.api === 'ChangeMessageVisibilityBatch');
      expect(handBack.map((call) => call.input)).toEqual([
        {
          QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/rotation-watcher-events',
          Entries: batch.Records.map((record, index) => ({
            Id: String(index),
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: 30,
          })),
        },
      ]);
    } finally {
      vi.unstubAllEnvs();
      resetOnChange();
    }
  }, 60_000);

  it('continues a sweep in a new invocation of itself, at most five in a row', async () => {
    resetSweep();
    vi.stubEnv('WATCHER_STATE_TABLE', '');
    vi.stubEnv('WATCHER_API_SHARE', '0.01');
    vi.stubEnv('AWS_REGION', REGION);
    try {
      takeCalls();
      await sweep({}, withRemaining(16_500));
      const invokes = takeCalls().filter((call) => call.api === 'Invoke');
      expect(invokes).toHaveLength(1);
      const input = invokes[0]?.input as {
        FunctionName: string;
        InvocationType: string;
        Payload: Uint8Array;
      };
      expect(input.FunctionName).toBe(withRemaining(0).invokedFunctionArn);
      expect(input.InvocationType).toBe('Event');
      expect(JSON.parse(new TextDecoder().decode(input.Payload))).toEqual({
        'rotation-watcher': 'sweep-handover',
        handover: 1,
      });

      // The fifth hand-over is the last: the sixth sweep in a row says it cannot go on.
      resetSweep();
      const last = await sweep(
        { 'rotation-watcher': 'sweep-handover', handover: 5 },
        withRemaining(16_500),
      );
      expect(last.handedOver).toBe(false);
      expect(last.complete).toBe(false);
      expect(takeCalls().filter((call) => call.api === 'Invoke')).toHaveLength(0);
    } finally {
      vi.unstubAllEnvs();
      resetSweep();
    }
  }, 60_000);
});

describe('readByOf', () => {
  it('keeps a quarter of the time, and at least 15 s, for acting, telling and saving', () => {
    expect(readByOf({ getRemainingTimeInMillis: () => 120_000 }, 0)).toBe(90_000);
    expect(readByOf({ getRemainingTimeInMillis: () => 40_000 }, 0)).toBe(25_000);
    expect(readByOf(undefined, 0)).toBeUndefined();
    // Less than a second to read: no limit (every run would hand over); the timeout alarms.
    expect(readByOf({ getRemainingTimeInMillis: () => 15_500 }, 0)).toBeUndefined();
  });

  it('leaves 5 s after the last restart for the report', () => {
    expect(actByOf({ getRemainingTimeInMillis: () => 120_000 }, 0)).toBe(115_000);
    expect(actByOf({ getRemainingTimeInMillis: () => 8_000 }, 0)).toBeUndefined();
  });
});
