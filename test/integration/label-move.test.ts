// When did a secret's AWSCURRENT move? AWS does not say that moving a label updates
// LastChangedDate, and the new version's CreatedDate is its AWSPENDING write, before the move. On
// the scripted account, a rotation whose move left LastChangedDate at the AWSPENDING write: a task
// created between the write and the move may hold the old value, and nothing may call it fresh.
// The watcher judges by the tightest time provably not earlier than the move, and says which.

import { beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { DefinitionCache, discover } from '../../lib/discovery/index.js';
import type { Change, MoveMemory, MoveTime } from '../../lib/domain/index.js';
import { cli } from '../helpers/cli.js';
import { useScriptedAccount } from '../helpers/scripted.js';
import { emptyAccount, type ScriptedTask } from '../support/account/index.js';

const MINUTE = 60_000;
const WRITE = Date.parse('2026-11-20T12:00:00Z');
const MOVE = WRITE + 20 * MINUTE;
const at = (minutes: number) => WRITE + minutes * MINUTE;
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const SECRET = 'prod/db-creds';
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${SECRET}-AbC123`;

const scripted = useScriptedAccount();
const { account } = scripted;

function task(id: string, created: number): ScriptedTask {
  return {
    cluster: 'prod',
    id,
    taskDefinition: 'api:1',
    group: 'family:api',
    createdAt: created,
    startedAt: created + 1000,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
  };
}

beforeEach(() => {
  Object.assign(account, emptyAccount(at(40)));
  account.clusters = ['prod'];
  // v2 written under AWSPENDING at 0; AWSCURRENT moved to it at 20, LastChangedDate left at 0.
  account.secrets = [
    {
      name: SECRET,
      suffix: 'AbC123',
      lastChanged: WRITE,
      currentVersion: 'v2',
      previousVersion: 'v1',
      versionsCreated: { v1: at(-600), v2: WRITE },
    },
  ];
  account.taskDefinitions = [
    { family: 'api', revision: 1, secrets: [{ name: 'KEY', valueFrom: SECRET_ARN }] },
  ];
  // Created between the AWSPENDING write and the move: it may have read v1.
  account.tasks = [task('between', at(10))];
});

/** The `Secret Label Updated` event of the move, as the watcher parses it. */
function labelEvent(time: number): Change {
  return {
    service: 'secretsmanager',
    name: SECRET,
    arn: SECRET_ARN,
    partition: 'aws',
    region: REGION,
    account: ACCOUNT,
    operation: 'LabelUpdated',
    effect: 'value',
    changedAt: new Date(time).toISOString(),
    timeSource: 'event',
    eventTime: new Date(time).toISOString(),
    version: null,
    versionStage: 'AWSCURRENT',
    versionId: 'v2',
    eventId: 'evt-move',
    detailType: 'Secret Label Updated',
  };
}

/** A memory as the state table keeps it, in a Map. */
function memory(): MoveMemory & { kept: Map<string, MoveTime> } {
  const kept = new Map<string, MoveTime>();
  return {
    kept,
    recall: async (keys) =>
      new Map(keys.flatMap((k) => (kept.has(k) ? [[k, kept.get(k) as MoveTime]] : []))),
    keep: async (key, time) => {
      if (!kept.has(key)) kept.set(key, time);
      return kept.get(key) as MoveTime;
    },
  };
}

const look = (query: Parameters<typeof discover>[0], moves?: MoveMemory, now = at(40)) =>
  discover(query, {
    regions: [REGION],
    clients: new AwsClients(),
    cache: new DefinitionCache(),
    now: () => new Date(now),
    moves,
  });

describe("a label's move that LastChangedDate does not date", () => {
  it('is judged by the look, not LastChangedDate: wait does not say complete', async () => {
    let now = 0;
    const result = await cli(
      ['wait', SECRET, '--secret', '--region', REGION, '--timeout', '1m', '--interval', '30s'],
      undefined,
      { maxAttempts: 1 },
      undefined,
      {
        clock: {
          now: () => now,
          sleep: async (ms) => {
            now += ms;
          },
        },
      },
    );
    expect(result.code).toBe(5);
    expect(result.stdout).toContain('ecs-task family:api between');
    expect(result.stdout).toMatch(/AWS records no proof of when the label moved/);
  });

  it('is judged by the event of the move when one is in hand', async () => {
    const result = await look({ changes: [labelEvent(MOVE)] });
    expect(result.changes[0]).toMatchObject({
      changedAt: new Date(MOVE).toISOString(),
      timeBasis: 'event',
      version: 'v2',
    });
    expect(result.consumers[0]).toMatchObject({ stale: true, cause: 'created-before' });
    expect(result.consumers[0]?.staleReason).toMatch(/as the event of the move records it/);
    // A task created after the move read v2.
    account.tasks = [task('after', at(21))];
    expect((await look({ changes: [labelEvent(MOVE)] })).consumers[0]?.stale).toBe(false);
  });

  it('keeps the first time established, so every later look judges the version alike', async () => {
    const kept = memory();
    await look({ changes: [labelEvent(MOVE)] }, kept);
    expect([...kept.kept.values()]).toEqual([{ at: new Date(MOVE).toISOString(), basis: 'event' }]);
    // The sweep, hours later, with no event in hand: the kept time, not its own look.
    const swept = await look({ drift: true }, kept, at(400));
    expect(swept.changes[0]).toMatchObject({
      changedAt: new Date(MOVE).toISOString(),
      timeBasis: 'event',
    });
    expect(swept.consumers[0]).toMatchObject({ stale: true });
  });

  it('dates a move back to an earlier version anew: containers started meanwhile hold the other', async () => {
    const kept = memory();
    await look({ changes: [labelEvent(MOVE)] }, kept);
    // v2 turned out bad: AWSCURRENT moves back to v1 at 60; a task started at 30 read v2.
    const [secret] = account.secrets;
    if (secret) Object.assign(secret, { currentVersion: 'v1', previousVersion: 'v2' });
    account.tasks = [task('on-v2', at(30))];
    const back = { ...labelEvent(at(60)), versionId: 'v1' };
    const result = await look({ changes: [back] }, kept, at(61));
    expect(result.changes[0]).toMatchObject({
      version: 'v1',
      changedAt: new Date(at(60)).toISOString(),
      timeBasis: 'event',
    });
    expect(result.consumers[0]).toMatchObject({ stale: true });
    expect(kept.kept.size).toBe(2);
  });

  it('is dated by LastChangedDate when it is later than the version was written', async () => {
    // AWS updated LastChangedDate at the move (what real captures suggest).
    const [secret] = account.secrets;
    if (secret) secret.lastChanged = MOVE;
    const result = await look({ drift: true });
    expect(result.changes[0]).toMatchObject({
      changedAt: new Date(MOVE).toISOString(),
      timeBasis: 'last-changed',
    });
    expect(result.consumers[0]).toMatchObject({ stale: true });
    account.tasks = [task('after', at(21))];
    expect((await look({ drift: true })).consumers[0]?.stale).toBe(false);
  });
});
