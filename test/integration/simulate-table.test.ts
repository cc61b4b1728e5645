// `simulate --apply` with the state table runs the Lambda's own composition: it claims the
// consumer with a lease before restarting it (so a Lambda run at the same moment does not restart
// it too) and keeps the rotation record, as on-change does. Against moto.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { parameterChange } from '../helpers/events.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const REGION = 'us-east-1';
const PARAM = '/sim/db/password';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let table: string;
let service: string;

beforeAll(async () => {
  const { seed } = env;
  await seed.parameter(REGION, PARAM, 'v0');
  const cluster = await seed.cluster(REGION, 'sim');
  const td = await seed.taskDefinition(REGION, 'sim', [{ name: 'app', secrets: { DB: PARAM } }]);
  service = (
    await seed.service(REGION, cluster, 'api', td, {
      tasks: 1,
      tags: { 'rotation-watcher:action': 'redeploy' },
    })
  ).arn;
  table = await seed.stateTable(REGION, 'sim-state');
}, 60_000);

async function items(prefix: string): Promise<string[]> {
  const db = new DynamoDBClient({ region: REGION });
  const reply = await db.send(new ScanCommand({ TableName: table }));
  db.destroy();
  return (reply.Items ?? []).map((item) => item.pk?.S ?? '').filter((pk) => pk.startsWith(prefix));
}

describe('simulate --apply with the state table', () => {
  it('takes a lease before it redeploys and keeps the rotation record, as the Lambda does', async () => {
    await pause(1_100);
    await env.seed.parameter(REGION, PARAM, 'v1');
    const file = join(mkdtempSync(join(tmpdir(), 'rw-sim-')), 'event.json');
    writeFileSync(file, JSON.stringify(parameterChange(PARAM, { id: 'sim-1' })));
    const run = await cli(
      ['simulate', file, '--apply', '--json', '--region', REGION],
      undefined,
      undefined,
      {
        WATCHER_STATE_TABLE: table,
      },
    );
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.actions).toContainEqual(
      expect.objectContaining({ kind: 'redeploy', target: service, status: 'done' }),
    );
    expect(await items('lease#')).toHaveLength(1);
    const records = await items('rot#');
    expect(records).toEqual([`rot#ssm|${REGION}|123456789012|sim/db/password|AWSCURRENT`]);
    // The record says what was done to the service: a later run will not redeploy it blindly.
    const status = await cli(
      ['status', PARAM, '--region', REGION, '--json'],
      undefined,
      undefined,
      {
        WATCHER_STATE_TABLE: table,
      },
    );
    const [record] = JSON.parse(status.stdout).records;
    expect(record.consumers).toContainEqual(
      expect.objectContaining({ arn: service, action: 'redeploy' }),
    );
  }, 60_000);
});
