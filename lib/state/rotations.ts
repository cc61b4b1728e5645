import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  type GetItemCommandOutput,
  PutItemCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import type { AwsClients } from '../aws/index.js';
import { type Change, valueKey } from '../events/index.js';
import { isRestart } from '../plan.js';
import { parseBody } from './body.js';

/**
 * What became of one consumer that held the old value when the watcher first looked:
 * - `stale`: it still runs something created before the change;
 * - `being-replaced`: a rollout begun after the change is replacing it;
 * - `replaced-by-watcher`: nothing old runs any more, and the watcher restarted it;
 * - `replaced-by-deploy`: nothing old runs any more, replaced by its own deploy or by a person;
 * - `stopped`: it no longer runs at all;
 * - `stale-at-deadline`: it still held the old value when the record's deadline passed.
 */
export type ConsumerState =
  | 'stale'
  | 'being-replaced'
  | 'replaced-by-watcher'
  | 'replaced-by-deploy'
  | 'stopped'
  | 'stale-at-deadline';

/** States after which a consumer no longer holds the old value. */
export const CLEARED: ReadonlySet<ConsumerState> = new Set([
  'replaced-by-watcher',
  'replaced-by-deploy',
  'stopped',
]);

export interface RecordedConsumer {
  kind: string;
  arn: string;
  name: string;
  region: string;
  /** Its cluster or job queue. */
  parent: string | null;
  state: ConsumerState;
  /**
   * What the watcher did to it: `redeploy` or `resubmit` (a restart stays recorded), else what it
   * decided: `notify` (people were told), `ignore` (a tag), or none yet.
   */
  action: string | null;
  history: Array<{ at: string; state: ConsumerState }>;
}

export type RotationStatus = 'open' | 'complete' | 'overdue' | 'superseded';

/** One change of one value, followed until no consumer holds the value from before it. */
export interface RotationRecord {
  pk: string;
  sk: string;
  value: {
    service: 'ssm' | 'secretsmanager';
    name: string;
    arn: string | null;
    region: string;
    account: string | null;
    /** Parameter version, or the secret's AWSCURRENT version id. */
    version: string | null;
    /** AWS's time of the change. */
    changedAt: string;
  };
  status: RotationStatus;
  openedAt: string;
  /** When an open record becomes overdue. */
  deadline: string;
  closedAt: string | null;
  consumers: RecordedConsumer[];
  /** The record of the newer change that replaced this one, or of the older one this replaced. */
  supersededBy: string | null;
  supersedes: string | null;
  /**
   * When `Rotation Complete` or `Rotation Overdue` was told (every channel took it); null while
   * open, or closed and not yet told (a later look tells again). Absent in older records.
   */
  signalled?: string | null;
  /** Bumped by every write; a write succeeds only on the revision it read. */
  rev: number;
}

/** A consumer as a run sees it now (from discovery, or a follow-up's re-read). */
export interface Observation {
  arn: string;
  kind: string;
  name: string;
  region: string;
  parent: string | null;
  /** Runs created before the change still running (0: nothing old runs). */
  staleRuns: number;
  /** Whether it still runs at all. */
  running: boolean;
  /** A rollout begun after the change is under way. */
  replacing: boolean;
  /** What this run did to it, if anything. */
  action: string | null;
}

/** The partition key of a value's records: one value, any of its changes. */
export function recordPk(
  value: Pick<Change, 'service' | 'region' | 'account' | 'name' | 'versionStage'>,
): string {
  return `rot#${valueKey(value as Change)}`;
}

/** The sort key of one change: its time first, so a Query reads a value's records in order. */
export function recordSk(change: Change): string {
  return `change#${change.changedAt}#${change.version ?? '-'}`;
}

/** A new open record for `change` with the consumers that held the old value when first seen. */
export function newRecord(
  change: Change,
  observations: Observation[],
  now: Date,
  deadlineMs: number,
): RotationRecord {
  const at = now.toISOString();
  return {
    pk: recordPk(change),
    sk: recordSk(change),
    value: {
      service: change.service,
      name: change.name,
      arn: change.arn ?? null,
      region: change.region,
      account: change.account ?? null,
      version: change.version ?? null,
      changedAt: change.changedAt,
    },
    status: 'open',
    openedAt: at,
    deadline: new Date(now.getTime() + deadlineMs).toISOString(),
    closedAt: null,
    consumers: observations
      .filter((seen) => seen.staleRuns > 0)
      .map((seen) => {
        const state: ConsumerState = seen.replacing ? 'being-replaced' : 'stale';
        return {
          kind: seen.kind,
          arn: seen.arn,
          name: seen.name,
          region: seen.region,
          parent: seen.parent,
          state,
          action: seen.action,
          history: [{ at, state }],
        };
      }),
    supersededBy: null,
    supersedes: null,
    signalled: null,
    rev: 0,
  };
}

/** What a record's change means for the world when it is written. */
export type Signal = 'complete' | 'overdue' | null;

/**
 * The record after a look at its consumers: each one's new state (a consumer not seen at all no
 * longer runs), then whether the rotation is complete (no consumer holds the old value) or, past
 * its deadline, overdue. A closed record does not change. Pure: the store writes the result.
 */
export function observe(
  record: RotationRecord,
  seen: Observation[],
  now: Date,
  complete: boolean,
): { record: RotationRecord; signal: Signal } {
  if (record.status !== 'open') return { record, signal: null };
  const at = now.toISOString();
  const byArn = new Map(seen.map((observation) => [observation.arn, observation]));
  const consumers = record.consumers.map((consumer) => {
    if (CLEARED.has(consumer.state)) return consumer;
    const now = byArn.get(consumer.arn);
    // Not seen in a complete read: it no longer runs. In an incomplete one: unknown, kept.
    if (!now && !complete) return consumer;
    // A restart stays what was done to it: a later run that only notifies does not undo it.
    const action =
      now?.action && !(isRestart(consumer.action) && !isRestart(now.action))
        ? now.action
        : consumer.action;
    const state: ConsumerState = !now?.running
      ? 'stopped'
      : now.staleRuns > 0
        ? now.replacing
          ? 'being-replaced'
          : 'stale'
        : isRestart(action)
          ? 'replaced-by-watcher'
          : 'replaced-by-deploy';
    if (state === consumer.state && action === consumer.action) return consumer;
    return {
      ...consumer,
      state,
      action,
      history: state === consumer.state ? consumer.history : [...consumer.history, { at, state }],
    };
  });
  const unchanged = consumers.every((consumer, index) => consumer === record.consumers[index]);
  const left = consumers.filter((consumer) => !CLEARED.has(consumer.state));
  if (left.length === 0 && complete)
    return {
      record: { ...record, consumers, status: 'complete', closedAt: at },
      signal: 'complete',
    };
  if (at >= record.deadline)
    return {
      record: {
        ...record,
        status: 'overdue',
        closedAt: at,
        consumers: consumers.map((consumer) =>
          CLEARED.has(consumer.state)
            ? consumer
            : {
                ...consumer,
                state: 'stale-at-deadline',
                history: [...consumer.history, { at, state: 'stale-at-deadline' as const }],
              },
        ),
      },
      signal: 'overdue',
    };
  // Nothing new: the same record, so that callers write (and follow up) nothing.
  return { record: unchanged ? record : { ...record, consumers }, signal: null };
}

/** The partition of the records the sweep follows up (see `RotationStore.track`). */
export const TRACKED_PK = 'open#rot';

/** Records kept after they close, for `status` and audits. */
export const RECORD_TTL_DAYS = 90;
const ATTEMPTS = 5;

/** A write lost to another run's write of the same record, more often than it was retried. */
export class RecordContentionError extends Error {
  constructor(key: string) {
    super(`the rotation record ${key} kept changing under this run (${ATTEMPTS} attempts)`);
    this.name = 'RecordContentionError';
  }
}

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
    return parse(reply.Item?.body?.S);
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
      const record = parse(item.body?.S);
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
    throw new RecordContentionError(`${pk} ${sk}`);
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
          // A week past its deadline, it is dropped whatever happened to it.
          expiresAt: { N: String(Math.ceil(Date.parse(record.deadline) / 1000) + 7 * 86_400) },
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
      const now = (this.options.now?.() ?? new Date()).getTime() / 1000;
      for (const item of reply.Items ?? [])
        if (item.record?.S && item.change?.S && Number(item.expiresAt?.N ?? Infinity) > now)
          out.push({ pk: item.record.S, sk: item.change.S });
      start = reply.LastEvaluatedKey;
    } while (start);
    return out;
  }

  private send<T>(command: { input: unknown }): Promise<T> {
    const { clients, region } = this.options;
    return clients.limited('dynamodb', region, () =>
      clients.get('dynamodb', region).send(command as never),
    ) as Promise<T>;
  }
}

function item(record: RotationRecord) {
  const closed = record.closedAt ? Date.parse(record.closedAt) : Date.parse(record.deadline);
  return {
    pk: { S: record.pk },
    sk: { S: record.sk },
    status: { S: record.status },
    rev: { N: String(record.rev) },
    deadline: { S: record.deadline },
    body: { S: JSON.stringify(record) },
    expiresAt: { N: String(Math.ceil(closed / 1000) + RECORD_TTL_DAYS * 86_400) },
  };
}

const parse = (body: string | undefined) =>
  parseBody<RotationRecord>(
    body,
    (value) => typeof value.pk === 'string' && Array.isArray(value.consumers),
  );
