import { ConditionalCheckFailedException, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { MoveMemory, MoveTime, TimeBasis } from '../domain/index.js';
import { batchGet, type TableRef } from './batch.js';

/** A version's move matters while containers from before it may run: kept a year. */
const MOVE_TTL_DAYS = 365;

/**
 * The first time established for each secret version's move, in the state table (`pk =
 * move#SECRET-ARN|VERSION`, `sk = at`): the first look keeps its time with a conditional write,
 * so every later look judges the version alike, and a record's key never moves. Read with
 * BatchGetItem, 100 keys a call.
 */
export function tableMoves(ref: TableRef & { now?: () => number }): MoveMemory {
  const key = (id: string) => ({ pk: { S: `move#${id}` }, sk: { S: 'at' } });
  const memory: MoveMemory = {
    async recall(keys) {
      const found = new Map<string, MoveTime>();
      // Consistent: a time another look kept a moment ago must be the one this look uses.
      const items = await batchGet(ref, [...new Set(keys)].map(key), 'pk, kept, basis', {
        consistent: true,
      });
      for (const item of items) {
        const id = item.pk?.S?.slice('move#'.length);
        const at = item.kept?.S;
        if (id && at) found.set(id, { at, basis: recalled(item.basis?.S) });
      }
      return found;
    },
    async keep(id, time) {
      const now = ref.now?.() ?? Date.now();
      try {
        await ref.clients.limited('dynamodb', ref.region, () =>
          ref.clients.get('dynamodb', ref.region).send(
            new PutItemCommand({
              TableName: ref.table,
              Item: {
                ...key(id),
                kept: { S: time.at },
                basis: { S: time.basis },
                expiresAt: { N: String(Math.ceil(now / 1000) + MOVE_TTL_DAYS * 86_400) },
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          ),
        );
        return time;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // Another look kept one first: that one stands.
        return (await memory.recall([id])).get(id) ?? time;
      }
    },
  };
  return memory;
}

/** A time kept because nothing proved an earlier one is the watcher's first sight of the version. */
function recalled(basis: string | undefined): TimeBasis {
  return basis === 'event' || basis === 'last-changed' ? basis : 'first-sight';
}

/** Recalls from the table but keeps nothing (the CLI: it reads the stack's table, never writes it). */
export function readOnlyMoves(memory: MoveMemory): MoveMemory {
  return { recall: (keys) => memory.recall(keys), keep: async (_key, time) => time };
}
