// The reference index in the state table (moto's DynamoDB): a fresh process whose index is warm
// describes no task definition; what it had never seen it describes once and writes back.
import { DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { definitionCache } from '../../lib/compose.js';
import { discover } from '../../lib/discovery/index.js';
import { resolveReference } from '../../lib/refs/index.js';
import { tableDefinitions } from '../../lib/state/definitions.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const REGION = 'us-east-1';
const TABLE = 'rotation-watcher-state';
const PARAM = '/index/db/password';
const CANARY = 'canary-value-never-stored';

async function run() {
  const clients = new AwsClients();
  const cache = definitionCache(TABLE, REGION, clients);
  const result = await discover(
    { target: resolveReference(PARAM, { region: REGION, account: null }) },
    { regions: [REGION], clients, cache },
  );
  const calls = clients.counter.byApi();
  clients.destroy();
  return { result, cache, calls };
}

describe('the reference index', () => {
  beforeAll(async () => {
    const { seed } = env;
    await seed.parameter(REGION, PARAM, CANARY);
    const cluster = await seed.cluster(REGION, 'index');
    for (const name of ['a', 'b']) {
      const td = await seed.taskDefinition(REGION, name, [{ name: 'app', secrets: { DB: PARAM } }]);
      await seed.service(REGION, cluster, name, td, { tasks: 1 });
    }
    await seed.stateTable(REGION, TABLE);
  }, 60_000);

  it('is filled by a cold run and spares every describe of a later fresh process', async () => {
    const cold = await run();
    expect(cold.calls['ecs:DescribeTaskDefinition']?.calls).toBe(2);
    expect(cold.calls['dynamodb:BatchWriteItem']?.calls).toBe(1);
    expect(cold.result.consumers.map((c) => c.name).sort()).toEqual(['a', 'b']);

    // A new process (a cold Lambda container): nothing in memory, the index warm.
    const warm = await run();
    expect(warm.calls['ecs:DescribeTaskDefinition']).toBeUndefined();
    expect(warm.calls['dynamodb:BatchGetItem']?.calls).toBe(1);
    expect(warm.cache.stored).toBe(2);
    expect(
      warm.result.consumers.map((c) => ({
        name: c.name,
        stale: c.stale,
        refs: c.references.length,
      })),
    ).toEqual(
      cold.result.consumers.map((c) => ({
        name: c.name,
        stale: c.stale,
        refs: c.references.length,
      })),
    );
  });

  it('holds names and ARNs only, never a value, each entry with a TTL', async () => {
    const db = new DynamoDBClient({ region: REGION });
    const { Items = [] } = await db.send(new ScanCommand({ TableName: TABLE }));
    db.destroy();
    expect(Items.length).toBe(2);
    for (const item of Items) {
      expect(item.pk?.S).toMatch(/^def#arn:aws:ecs:us-east-1:\d{12}:task-definition\/[ab]:\d+$/);
      expect(Number(item.expiresAt?.N)).toBeGreaterThan(Date.now() / 1000);
      expect(JSON.stringify(item)).not.toContain(CANARY);
      expect(item.body?.S).toContain(PARAM);
    }
  });

  it('answers without the index when the table cannot be read, describing instead', async () => {
    const clients = new AwsClients({ maxAttempts: 1 });
    const cache = definitionCache('no-such-table', REGION, clients);
    const result = await discover(
      { target: resolveReference(PARAM, { region: REGION, account: null }) },
      { regions: [REGION], clients, cache },
    );
    expect(result.complete).toBe(true);
    expect(result.consumers).toHaveLength(2);
    expect(cache.storeErrors).toBeGreaterThan(0);
    expect(clients.counter.of('ecs:DescribeTaskDefinition')).toBe(2);
    clients.destroy();
  });

  it('keeps when the tags were read; an entry written before that was kept counts as old', async () => {
    const clients = new AwsClients();
    const store = tableDefinitions({ table: TABLE, region: REGION, clients });
    const jd = (name: string) => `arn:aws:batch:${REGION}:123456789012:job-definition/${name}:1`;
    const READ_AT = Date.parse('2026-11-20T12:00:00Z');
    await store.putMany([
      { arn: jd('stamped'), references: [], tags: { team: 'etl' }, tagsReadAt: READ_AT },
    ]);
    // As the version before this one wrote it: no tagsReadAt; and one with a mangled stamp.
    const db = new DynamoDBClient({ region: REGION });
    for (const [name, extra] of [
      ['unstamped', {}],
      ['mangled', { tagsReadAt: '2026-11-20' }],
    ] as const) {
      await db.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: {
            pk: { S: `def#${jd(name)}` },
            sk: { S: 'refs' },
            body: { S: JSON.stringify({ arn: jd(name), references: [], tags: {}, ...extra }) },
          },
        }),
      );
    }
    db.destroy();
    const found = await store.getMany([jd('stamped'), jd('unstamped'), jd('mangled')]);
    clients.destroy();
    expect(found.get(jd('stamped'))).toMatchObject({ tags: { team: 'etl' }, tagsReadAt: READ_AT });
    expect(found.get(jd('unstamped'))).toBeDefined();
    expect(found.get(jd('unstamped'))?.tagsReadAt).toBeUndefined();
    expect(found.get(jd('mangled'))).toBeDefined();
    expect(found.get(jd('mangled'))?.tagsReadAt).toBeUndefined();
    const other = new AwsClients();
    const cache = definitionCache(TABLE, REGION, other);
    expect(cache.tagsFresh(found.get(jd('unstamped')) as never)).toBe(false);
    expect(cache.tagsFresh(found.get(jd('mangled')) as never)).toBe(false);
    other.destroy();
  });
});
