import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHandler as createOnChange } from '../../functions/on-change.js';
import { logger } from '../../lib/runtime.js';
import { ACCOUNT } from '../../scripts/seed.js';
import { sqsBatch } from '../helpers/events.js';
import { useFaultyMoto } from '../helpers/faulty-moto.js';

let handler = createOnChange();
/** A cold start: the handler of a new Lambda container. */
const coldStart = () => {
  handler = createOnChange();
};

const env = useFaultyMoto(11);
const REGION = 'us-east-1';
const SERVICES = 10;
const PARAMS_PER_SERVICE = 5;
const EVENTS = 500;
const MAX_RECEIVES = 3;
const param = (i: number) => `/burst/p${String(i).padStart(2, '0')}`;

/** A seeded shuffle, so the order is scrambled the same way each run. */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

interface Logged {
  changes: Array<{ name: string; changedAt: string; timeSource: string }>;
  actions: Array<{ kind: string; target: string; status: string }>;
}

describe('a burst of 500 change events for 50 parameters', () => {
  const runs: Logged[] = [];
  const acked = new Set<string>();
  const failedTimes = new Map<string, number>();
  const recordChanges = new Map<string, string[]>();
  let deadLetters: string[] = [];

  beforeAll(async () => {
    const { seed } = env;
    const cluster = await seed.cluster(REGION, 'burst');
    for (let s = 0; s < SERVICES; s++) {
      const secrets = Object.fromEntries(
        Array.from({ length: PARAMS_PER_SERVICE }, (_, k) => [
          `P${k}`,
          param(s * PARAMS_PER_SERVICE + k),
        ]),
      );
      for (const name of Object.values(secrets)) await seed.parameter(REGION, name, 'v1');
      const td = await seed.taskDefinition(REGION, `svc${s}`, [{ name: 'app', secrets }]);
      // The last service is gone (its tasks outlived it): nothing can redeploy it.
      if (s === SERVICES - 1)
        await seed.runServiceTasksWithoutService(REGION, cluster, td, `svc${s}`);
      else
        await seed.service(REGION, cluster, `svc${s}`, td, {
          tasks: 2,
          tags: { 'rotation-watcher:action': 'redeploy' },
        });
    }
    process.env.AWS_REGION = REGION;
    process.env.WATCHER_DEFAULT_ACTION = 'redeploy';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    coldStart();
    logger.setLogLevel('INFO');

    // Every parameter rotated once, after every service started and before delivery.
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let p = 0; p < 50; p++) await seed.parameter(REGION, param(p), 'v2');
    // 400 deliveries of those 50 changes, 8 each, each later than the last (late deliveries,
    // archive replays, re-sends by hand), then one in four sent twice more: 500, out of order.
    const start = Date.now() + 200;
    const unique = Array.from({ length: 400 }, (_, n) => {
      const name = param(n % 50);
      const time = new Date(start + n * 1000).toISOString();
      return {
        version: '0',
        id: `burst-${n}`,
        'detail-type': 'Parameter Store Change',
        source: 'aws.ssm',
        account: ACCOUNT,
        time,
        region: REGION,
        resources: [],
        detail: { operation: 'Update', name },
      };
    });
    const events = shuffle([...unique, ...unique.filter((_, n) => n % 4 === 0)], 20261123);
    expect(events).toHaveLength(EVENTS);

    // Deliver as SQS would: batches of 10; a record handed back comes again later, up to 3 times.
    const output = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        for (const line of String(chunk).split('\n')) {
          if (line.includes('"run finished"')) runs.push(JSON.parse(line) as Logged);
        }
        return true;
      });
    let queue = events.map((event, n) => ({ id: `m-${n}`, body: event, receives: 0 }));
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, 10);
        queue = queue.slice(10);
        const records = sqsBatch(...batch.map((message) => message.body));
        records.Records.forEach((record, k) => {
          const id = (batch[k] as { id: string }).id;
          record.messageId = id;
          const message = batch[k] as { body: { detail: { name: string } } };
          recordChanges.set(id, [message.body.detail.name]);
        });
        const reply = (await handler(records)) as SQSBatchResponse;
        const failed = new Set(reply.batchItemFailures.map((item) => item.itemIdentifier));
        for (const message of batch) {
          message.receives += 1;
          if (!failed.has(message.id)) acked.add(message.id);
          else {
            failedTimes.set(message.id, (failedTimes.get(message.id) ?? 0) + 1);
            if (message.receives >= MAX_RECEIVES) deadLetters.push(message.id);
            else queue.push(message);
          }
        }
      }
    } finally {
      output.mockRestore();
    }
    deadLetters = [...new Set(deadLetters)];
  }, 300_000);

  afterAll(() => {
    delete process.env.WATCHER_DEFAULT_ACTION;
  });

  it('redeploys every affected service exactly once, and never the deleted one', () => {
    const updates = env
      .forwarded('ecs:UpdateService')
      .map((entry) => String(entry.input.service).split('/').pop());
    const done = runs
      .flatMap((run) => run.actions)
      .filter((a) => a.kind === 'redeploy' && a.status === 'done');
    const perService = new Map<string, number>();
    for (const action of done)
      perService.set(action.target, (perService.get(action.target) ?? 0) + 1);
    expect([...perService.values()]).toEqual(Array(SERVICES - 1).fill(1));
    expect(updates.sort()).toEqual(
      Array.from({ length: SERVICES - 1 }, (_, s) => `svc${s}`).sort(),
    );
  });

  it("reports every change in some run, judged by AWS's record of it", () => {
    const reported = new Set(runs.flatMap((run) => run.changes.map((change) => change.name)));
    expect([...reported].sort()).toEqual(Array.from({ length: 50 }, (_, p) => param(p)).sort());
    expect(runs.flatMap((run) => run.changes).every((c) => c.timeSource === 'aws')).toBe(true);
  });

  it('acknowledges the records of the deleted service: it is reported, not retried', () => {
    const ghostParams = new Set(
      Array.from({ length: PARAMS_PER_SERVICE }, (_, k) =>
        param((SERVICES - 1) * PARAMS_PER_SERVICE + k),
      ),
    );
    const ghostRecords = [...recordChanges]
      .filter(([, names]) => names.some((name) => ghostParams.has(name)))
      .map(([id]) => id);
    expect(ghostRecords.length).toBeGreaterThan(0);
    expect(ghostRecords.every((id) => acked.has(id))).toBe(true);
    expect(deadLetters).toEqual([]);
    expect(failedTimes.size).toBe(0);
    expect(runs.flatMap((run) => run.actions).filter((a) => a.status === 'failed')).toEqual([]);
  });

  it('absorbs the duplicates and the replays: 500 events, 50 changes', () => {
    const inRuns = new Set(
      runs.flatMap((run) => run.changes.map((change) => `${change.name}@${change.changedAt}`)),
    );
    expect(inRuns.size).toBe(50);
    expect(runs.length).toBeGreaterThanOrEqual(EVENTS / 10);
  });
});
