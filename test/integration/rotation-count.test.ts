// The sweep's count of rotation records for the dashboard (RotationsOpen, RotationsOverdue), in
// moto's DynamoDB, from the list it keeps of records to follow up.

import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { newRecord, RotationStore, TRACKED_PK } from '../../lib/rotations/index.js';
import { aChange } from '../helpers/factories.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const REGION = 'us-east-1';
const NOW = new Date('2026-11-23T12:00:00Z');
const HOUR = 3_600_000;
let table: string;
let clients: AwsClients;

beforeAll(async () => {
  table = await env.seed.stateTable(REGION, 'count');
  clients = new AwsClients();
});

/** A record of its own value opened `ago` before NOW, due `deadline` after it opened. */
const opened = (name: string, ago: number, deadline: number) =>
  newRecord(aChange({ name, region: REGION }), [], new Date(NOW.getTime() - ago), deadline);

describe('counting the rotation records the sweep follows', () => {
  it('counts the open ones, and those past their deadline, open or closed overdue and not yet told', async () => {
    const store = new RotationStore({ table, region: REGION, clients, now: () => NOW });
    await store.track(opened('/prod/a', HOUR, 24 * HOUR));
    await store.track(opened('/prod/b', 30 * HOUR, 24 * HOUR));
    await store.track({ ...opened('/prod/c', 30 * HOUR, 24 * HOUR), status: 'overdue' });
    await store.track({ ...opened('/prod/d', 2 * HOUR, 24 * HOUR), status: 'complete' });
    // Listed before items carried status and deadline: open, due a week before it expires.
    const expiresAt = Math.ceil((NOW.getTime() + 2 * 86_400_000) / 1000);
    await clients.get('dynamodb', REGION).send(
      new PutItemCommand({
        TableName: table,
        Item: {
          pk: { S: TRACKED_PK },
          sk: { S: 'rot#legacy change#1' },
          record: { S: 'rot#legacy' },
          change: { S: 'change#1' },
          expiresAt: { N: String(expiresAt) },
        },
      }),
    );
    // Expired but not yet deleted by DynamoDB: not counted.
    await store.track(opened('/prod/e', 30 * 86_400_000, HOUR));
    expect(await store.count()).toEqual({ open: 3, overdue: 3 });
  });
});
