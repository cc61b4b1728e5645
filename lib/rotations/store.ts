import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  type GetItemCommandOutput,
  PutItemCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import type { AwsClients } from '../aws/index.js';
import { parseBody } from '../state/body.js';
import { RecordContentionError } from './errors.js';
import type { RotationRecord } from './record.js';

/** The partition of the records the sweep follows up (see `RotationStore.track`). */
export const TRACKED_PK = 'open#rot';

/** Records kept after they close, for `status` and audits. */
export const RECORD_TTL_DAYS = 90;
const ATTEMPTS = 5;
/** A tracked item outlives its record's deadline by a week, whatever happened to it. */
const TRACKED_GRACE_S = 7 * 86_400;

/**
 * Rotation records in the state table: `pk = rot#VALUE`, `sk = change#TIME#VERSION`, the record
 * as JSON in `body`, with `status`, `rev` and `deadline` beside it for conditions and queries.
 * Every write is conditional on the revision read, so concurrent runs never lose an update.
 */
export class RotationStore {
  constructor(
    private readonly options: {
      table: string;
      region: string;
      clients: AwsClients;
      now?: () => Date;
    },
  ) {}

  async get(pk: string, sk: string): Promise<RotationRecord | null> {
    const reply = await this.send<GetItemCommandOutput>(
      new GetItemCommand({
        TableName: this.options.table,
        Key: { pk: { S: pk }, sk: { S: sk } },
        ConsistentRead: true,
      }),
    );
    return parse(reply.Item);
  }

  /** A value's records, newest first (at most `limit`). */
  async list(pk: string, limit = 20): Promise<RotationRecord[]> {
    const reply = await this.send<QueryCommandOutput>(
      new QueryCommand({
        TableName: this.options.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :change)',
        ExpressionAttributeValues: { ':pk': { S: pk }, ':change': { S: 'change#' } },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (reply.Items ?? []).flatMap((item) => {
      const record = parse(item);
      return record ? [record] : [];
    });
  }

  /**
   * Reads the record, applies `change` and writes it back if the revision is still the one read;
   * on a lost race, reads again and re-applies. `change` returns null to leave it as it is, and
   * is given null when there is no record yet. Returns what was written, or null.
   */
  async update<T>(
    pk: string,
    sk: string,
    change: (current: RotationRecord | null) => { record: RotationRecord; result: T } | null,
  ): Promise<{ record: RotationRecord; result: T } | null> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.get(pk, sk);
      const next = change(current);
      if (!next) return null;
      const record = { ...next.record, rev: (current?.rev ?? -1) + 1 };
      try {
        await this.send(
          new PutItemCommand({
            TableName: this.options.table,
            Item: item(record),
            ...(current
              ? {
                  ConditionExpression: 'rev = :rev',
                  ExpressionAttributeValues: { ':rev': { N: String(current.rev) } },
                }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        );
        return { record, result: next.result };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new RecordContentionError(`${pk} ${sk}`, ATTEMPTS);
  }

  /**
   * Keeps a record on the list the sweep looks at (`pk = open#rot`, one item per record), while
   * it is open and until its signal is told: the sweep then follows it up even when no event,
   * follow-up or running consumer brings its value back.
   */
  async track(record: RotationRecord): Promise<void> {
    await this.send(
      new PutItemCommand({
        TableName: this.options.table,
        Item: {
          pk: { S: TRACKED_PK },
          sk: { S: `${record.pk} ${record.sk}` },
          record: { S: record.pk },
          change: { S: record.sk },
          // For `count`: what the sweep's dashboard shows without reading each record.
          status: { S: record.status },
          deadline: { S: record.deadline },
          expiresAt: { N: String(Math.ceil(Date.parse(record.deadline) / 1000) + TRACKED_GRACE_S) },
        },
      }),
    );
  }

  async untrack(pk: string, sk: string): Promise<void> {
    await this.send(
      new DeleteItemCommand({
        TableName: this.options.table,
        Key: { pk: { S: TRACKED_PK }, sk: { S: `${pk} ${sk}` } },
      }),
    );
  }

  /** The records being tracked: open, or closed and not yet told. */
  async tracked(): Promise<Array<{ pk: string; sk: string }>> {
    const out: Array<{ pk: string; sk: string }> = [];
    for (const item of await this.trackedItems())
      if (item.record?.S && item.change?.S) out.push({ pk: item.record.S, sk: item.change.S });
    return out;
  }

  /**
   * How many tracked records are open, and how many are past their deadline (open ones the
   * follow-ups have not closed yet, and ones closed overdue whose signal is not yet told).
   */
  async count(): Promise<{ open: number; overdue: number }> {
    const now = this.now();
    let open = 0;
    let overdue = 0;
    for (const item of await this.trackedItems()) {
      const expires = Number(item.expiresAt?.N ?? Infinity);
      // Items listed before they carried these: open, due a week before they expire.
      const status = item.status?.S ?? 'open';
      const deadline = item.deadline?.S
        ? Date.parse(item.deadline.S)
        : (expires - TRACKED_GRACE_S) * 1000;
      if (status === 'open') open += 1;
      if ((status === 'open' && deadline <= now) || status === 'overdue') overdue += 1;
    }
    return { open, overdue };
  }

  /** Every item of the tracked list, all pages, but those expired and not yet deleted. */
  private async trackedItems(): Promise<Array<Record<string, AttributeValue>>> {
    const items: Array<Record<string, AttributeValue>> = [];
    let start: QueryCommandOutput['LastEvaluatedKey'];
    do {
      const reply: QueryCommandOutput = await this.send<QueryCommandOutput>(
        new QueryCommand({
          TableName: this.options.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: TRACKED_PK } },
          ExclusiveStartKey: start,
        }),
      );
      // DynamoDB deletes expired items within days, not at once: those are skipped.
      const now = this.now();
      for (const item of reply.Items ?? [])
        if (Number(item.expiresAt?.N ?? Infinity) * 1000 > now) items.push(item);
      start = reply.LastEvaluatedKey;
    } while (start);
    return items;
  }

  private now(): number {
    return (this.options.now?.() ?? new Date()).getTime();
  }

  private send<T>(command: { input: unknown }): Promise<T> {
    const { clients, region } = this.options;
    return clients.limited('dynamodb', region, () =>
      clients.get('dynamodb', region).send(command as never),
    ) as Promise<T>;
  }
}

function item(record: RotationRecord): Record<string, AttributeValue> {
  const closed = record.closedAt ? Date.parse(record.closedAt) : Date.parse(record.deadline);
  return {
    pk: { S: record.pk },
    sk: { S: record.sk },
    status: { S: record.status },
    rev: { N: String(record.rev) },
    deadline: { S: record.deadline },
    ...bodyOf(record),
    expiresAt: { N: String(Math.ceil(closed / 1000) + RECORD_TTL_DAYS * 86_400) },
  };
}

/**
 * A record of more than a few hundred consumers is kept gzipped (`bodyZ`): DynamoDB takes 400 KB
 * an item, about 1,100 consumers as JSON, and a record's consumers compress about tenfold (their
 * ARNs share all but the ids).
 */
const COMPRESS_OVER_BYTES = 64_000;

function bodyOf(record: RotationRecord): Record<string, AttributeValue> {
  const json = JSON.stringify(record);
  return Buffer.byteLength(json) > COMPRESS_OVER_BYTES
    ? { bodyZ: { B: gzipSync(json) } }
    : { body: { S: json } };
}

/** The record in an item, from `body` or gzipped `bodyZ`; null when it is not one. */
function parse(item: Record<string, AttributeValue> | undefined): RotationRecord | null {
  const zipped = item?.bodyZ?.B;
  const json = zipped ? gunzipSync(zipped).toString('utf8') : item?.body?.S;
  return parseBody<RotationRecord>(
    json,
    (value) => typeof value.pk === 'string' && Array.isArray(value.consumers),
  );
}
