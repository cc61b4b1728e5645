import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { AwsClients } from '../aws/index.js';

/**
 * How long a run holds a consumer after acting on it. Longer than the changes queue's
 * visibility timeout is not needed: a record kept for a retry comes back after it, when the
 * consumer's new deployment (or replacement job) tells the next run it is fresh.
 */
export const LEASE_MS = 10 * 60_000;

/** Exclusive, expiring claims on consumers, so that two runs never restart one consumer twice. */
export interface Leases {
  /** True when this owner now holds `key` (it was free, expired, or already this owner's: one Lambda container). */
  acquire(key: string): Promise<boolean>;
  /** Gives `key` back early (after a failed action, so that a retry may act at once). */
  release(key: string): Promise<void>;
}

/**
 * Leases as conditional writes on one item each in the state table (`pk = lease#KEY`,
 * `sk = lease`), with a TTL so that expired ones age out.
 */
export function tableLeases(options: {
  table: string;
  region: string;
  clients: AwsClients;
  owner: string;
  now?: () => number;
}): Leases {
  const { table, region, clients, owner } = options;
  const now = options.now ?? Date.now;
  const db = () => clients.get('dynamodb', region);
  const key = (name: string) => ({ pk: { S: `lease#${name}` }, sk: { S: 'lease' } });
  return {
    async acquire(name) {
      const at = now();
      try {
        await clients.limited('dynamodb', region, () =>
          db().send(
            new PutItemCommand({
              TableName: table,
              Item: {
                ...key(name),
                owner: { S: owner },
                heldUntil: { N: String(at + LEASE_MS) },
                expiresAt: { N: String(Math.ceil((at + LEASE_MS) / 1000) + 3600) },
              },
              ConditionExpression: 'attribute_not_exists(pk) OR heldUntil < :now OR #owner = :me',
              ExpressionAttributeNames: { '#owner': 'owner' },
              ExpressionAttributeValues: { ':now': { N: String(at) }, ':me': { S: owner } },
            }),
          ),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
    async release(name) {
      try {
        await clients.limited('dynamodb', region, () =>
          db().send(
            new DeleteItemCommand({
              TableName: table,
              Key: key(name),
              ConditionExpression: '#owner = :me',
              ExpressionAttributeNames: { '#owner': 'owner' },
              ExpressionAttributeValues: { ':me': { S: owner } },
            }),
          ),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
