import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { type AwsClients, chunks } from '../aws/index.js';
import {
  type CachedDefinition,
  DefinitionCache,
  type DefinitionStore,
} from '../discovery/cache.js';
import { parseBody } from './body.js';

/** BatchGetItem reads 100 keys a call, BatchWriteItem writes 25 items a call. */
const READS_PER_CALL = 100;
const WRITES_PER_CALL = 25;
/** Unprocessed keys or items (throttling of the table) are asked again this many times. */
const ROUNDS = 3;
/**
 * Revisions never change, but deregistered ones should age out: an entry lives this long after
 * it was written, and a revision still in use is described again when it has gone.
 */
export const INDEX_TTL_DAYS = 30;

/**
 * The reference index in the state table: one item per revision ARN (`pk = def#ARN`, `sk = refs`)
 * holding its references (names and ARNs, never a value), tags and images as JSON.
 */
export function tableDefinitions(options: {
  table: string;
  region: string;
  clients: AwsClients;
  now?: () => number;
}): DefinitionStore {
  const { table, region, clients } = options;
  const now = options.now ?? Date.now;
  const db = () => clients.get('dynamodb', region);
  const key = (arn: string) => ({ pk: { S: `def#${arn}` }, sk: { S: 'refs' } });
  return {
    async getMany(arns) {
      const found = new Map<string, CachedDefinition>();
      for (const group of chunks([...new Set(arns)], READS_PER_CALL)) {
        let keys = group.map(key);
        for (let round = 0; round < ROUNDS && keys.length > 0; round++) {
          const reply: BatchGetItemCommandOutput = await clients.limited('dynamodb', region, () =>
            db().send(
              new BatchGetItemCommand({
                RequestItems: { [table]: { Keys: keys, ProjectionExpression: 'pk, body' } },
              }),
            ),
          );
          for (const item of reply.Responses?.[table] ?? []) {
            const definition = parse(item.body?.S);
            if (definition) found.set(definition.arn, definition);
          }
          keys = (reply.UnprocessedKeys?.[table]?.Keys ?? []) as typeof keys;
        }
      }
      return found;
    },
    async putMany(definitions) {
      const expiresAt = String(Math.ceil(now() / 1000) + INDEX_TTL_DAYS * 86_400);
      for (const group of chunks(definitions, WRITES_PER_CALL)) {
        let requests = group.map((definition) => ({
          PutRequest: {
            Item: {
              ...key(definition.arn),
              body: { S: JSON.stringify(definition) },
              expiresAt: { N: expiresAt },
            },
          },
        }));
        for (let round = 0; round < ROUNDS && requests.length > 0; round++) {
          const reply: BatchWriteItemCommandOutput = await clients.limited('dynamodb', region, () =>
            db().send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } })),
          );
          requests = (reply.UnprocessedItems?.[table] ?? []) as typeof requests;
        }
      }
    },
  };
}

/** An entry as stored, or nothing when it is not one this version wrote. */
const parse = (body: string | undefined) =>
  parseBody<CachedDefinition>(
    body,
    (value) => typeof value.arn === 'string' && Array.isArray(value.references),
  );

/** A definition cache backed by the state table when `table` is set, else by the process alone. */
export function definitionCache(
  table: string | null,
  region: string,
  clients: AwsClients,
): DefinitionCache {
  return new DefinitionCache(table ? tableDefinitions({ table, region, clients }) : undefined);
}
