import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { type AwsClients, chunks } from '../aws/index.js';

type Item = Record<string, AttributeValue>;

/** BatchGetItem reads 100 keys a call, BatchWriteItem writes 25 items a call. */
const READS_PER_CALL = 100;
const WRITES_PER_CALL = 25;
/** Unprocessed keys or items (throttling of the table) are asked again this many times... */
const ROUNDS = 3;
/** ...after a jittered wait that doubles each round, as AWS advises for batch operations. */
const backoff = (round: number) =>
  round === 0
    ? Promise.resolve()
    : new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round * (0.5 + Math.random())));

export interface TableRef {
  table: string;
  region: string;
  clients: AwsClients;
}

/**
 * Reads items by key, 100 a call; keys DynamoDB leaves unprocessed are asked again (3 rounds),
 * then left out: the callers treat a missing item as never written.
 */
export async function batchGet(
  { table, region, clients }: TableRef,
  keys: Item[],
  projection: string,
  options: { consistent?: boolean } = {},
): Promise<Item[]> {
  const found: Item[] = [];
  for (const group of chunks(keys, READS_PER_CALL)) {
    let pending = group;
    for (let round = 0; round < ROUNDS && pending.length > 0; round++) {
      await backoff(round);
      const reply: BatchGetItemCommandOutput = await clients.limited('dynamodb', region, () =>
        clients.get('dynamodb', region).send(
          new BatchGetItemCommand({
            RequestItems: {
              [table]: {
                Keys: pending,
                ProjectionExpression: projection,
                ...(options.consistent ? { ConsistentRead: true } : {}),
              },
            },
          }),
        ),
      );
      found.push(...(reply.Responses?.[table] ?? []));
      pending = (reply.UnprocessedKeys?.[table]?.Keys ?? []) as Item[];
    }
  }
  return found;
}

/** Writes whole items, 25 a call; unprocessed ones are sent again (3 rounds), then dropped. */
export async function batchPut({ table, region, clients }: TableRef, items: Item[]): Promise<void> {
  for (const group of chunks(items, WRITES_PER_CALL)) {
    let requests = group.map((Item) => ({ PutRequest: { Item } }));
    for (let round = 0; round < ROUNDS && requests.length > 0; round++) {
      await backoff(round);
      const reply: BatchWriteItemCommandOutput = await clients.limited('dynamodb', region, () =>
        clients
          .get('dynamodb', region)
          .send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } })),
      );
      requests = (reply.UnprocessedItems?.[table] ?? []) as typeof requests;
    }
  }
}
