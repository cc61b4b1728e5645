// Two on-change batches at once (the event source runs up to two), both carrying a change of
// one service's value: the lease in the state table lets exactly one of them redeploy it, and
// the other keeps its record for a retry. Against moto (ECS, SSM, DynamoDB).
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDeps } from '../../lib/compose.js';
import { readSettings } from '../../lib/config.js';
import { parsePayload } from '../../lib/events/index.js';
import { runPipeline } from '../../lib/pipeline.js';
import { parameterChange } from '../helpers/events.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const REGION = 'us-east-1';
const TABLE = 'rotation-watcher-state';
const PARAM = '/race/db/password';

function batch(id: string) {
  return {
    Records: [
      {
        messageId: id,
        body: JSON.stringify(parameterChange(PARAM, { id: `evt-${id}` })),
        attributes: { ApproximateReceiveCount: '1' },
      },
    ],
  };
}

describe('two batches processed at once, both touching one service', () => {
  let cluster: string;

  beforeAll(async () => {
    const { seed } = env;
    await seed.parameter(REGION, PARAM, 'old');
    cluster = await seed.cluster(REGION, 'race');
    const td = await seed.taskDefinition(REGION, 'race', [{ name: 'app', secrets: { DB: PARAM } }]);
    await seed.service(REGION, cluster, 'api', td, {
      tasks: 2,
      tags: { 'rotation-watcher:action': 'redeploy' },
    });
    await seed.stateTable(REGION, TABLE);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await seed.parameter(REGION, PARAM, 'rotated');
  }, 60_000);

  it('redeploys it once; the other batch keeps its record for a retry', async () => {
    const settings = {
      AWS_REGION: REGION,
      WATCHER_STATE_TABLE: TABLE,
      WATCHER_DEFAULT_ACTION: 'notify',
    };
    // Two Lambda containers: each its own clients, cache and lease owner; their UpdateService
    // calls are counted (moto rewrites one deployment in place, so its list cannot tell).
    const updates: string[] = [];
    const container = () =>
      buildDeps(readSettings(settings), {
        home: REGION,
        clientOptions: {
          onCall: ({ api, input }) => {
            if (api === 'UpdateService')
              updates.push(String((input as { service: string }).service));
          },
        },
      });
    const [first, second] = [container(), container()];
    const runs = await Promise.all([
      runPipeline({ records: parsePayload(batch('a')) }, first, { apply: true }),
      runPipeline({ records: parsePayload(batch('b')) }, second, { apply: true }),
    ]);
    const outcomes = runs.flatMap((run) => run.actions);
    expect(outcomes.map((o) => `${o.kind}:${o.status}`).sort()).toEqual([
      'redeploy:done',
      'redeploy:skipped',
    ]);
    const waiting = runs.find((run) => run.actions.some((o) => o.status === 'skipped'));
    expect(waiting?.failedRecords).toHaveLength(1);
    expect(waiting?.actions[0]?.detail).toMatch(/another run acted on it moments ago/);
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatch(/service\/race\/api$/);
    for (const deps of [first, second]) deps.clients.destroy();
  });
});
