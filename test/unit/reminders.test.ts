// The sweep's memory: when a stale consumer nobody restarts is told of again.
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { decide } from '../../lib/plan.js';
import {
  type Facts,
  factsOf,
  type Reminder,
  ReminderStore,
  remindRule,
  toldNow,
} from '../../lib/state/reminders.js';
import { aChange, aConsumer, actionTags } from '../helpers/factories.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = new Date('2026-11-23T12:00:00.000Z');
const policy = { defaultAction: 'notify' as const, maxActions: 25 };
const FACTS: Facts = {
  decisions: [{ action: 'notify', basis: 'policy' }],
  changes: ['ssm|/prod/db@2'],
};

function told(ago: number, facts: Facts = FACTS): Reminder {
  return {
    arn: 'arn:aws:ecs:us-east-1:123456789012:service/prod/api',
    ...facts,
    firstSeen: new Date(NOW.getTime() - 3 * DAY).toISOString(),
    lastTold: new Date(NOW.getTime() - ago).toISOString(),
  };
}

describe('remindRule: (first seen, changed, interval passed) → told or quiet', () => {
  it.each([
    // first seen   changed  interval passed  →
    [true, false, false, 'first'],
    [true, false, true, 'first'],
    [true, true, false, 'first'],
    [true, true, true, 'first'],
    [false, true, false, 'changed'],
    [false, true, true, 'changed'],
    [false, false, true, 'due'],
    [false, false, false, 'quiet'],
  ] as const)(
    'first seen %s, changed %s, interval passed %s: %s',
    (first, changed, passed, why) => {
      const before = changed ? { ...FACTS, changes: ['ssm|/prod/db@1'] } : FACTS;
      const previous = first ? null : told(passed ? 25 * HOUR : 23 * HOUR, before);
      expect(remindRule(previous, FACTS, NOW, DAY)).toBe(why);
    },
  );

  it('is due exactly one interval after the last telling, and quiet a millisecond before', () => {
    expect(remindRule(told(DAY), FACTS, NOW, DAY)).toBe('due');
    expect(remindRule(told(DAY - 1), FACTS, NOW, DAY)).toBe('quiet');
  });

  it('tells on every run with WATCHER_REMIND_EVERY=0', () => {
    expect(remindRule(told(0), FACTS, NOW, 0)).toBe('due');
  });

  it('calls a new decision or basis a change', () => {
    const stuck: Facts = { ...FACTS, decisions: [{ action: 'notify', basis: 'rollout-stuck' }] };
    expect(remindRule(told(HOUR), stuck, NOW, DAY)).toBe('changed');
    const ignored: Facts = { ...FACTS, decisions: [{ action: 'ignore', basis: 'policy' }] };
    expect(remindRule(told(HOUR), ignored, NOW, DAY)).toBe('changed');
  });

  it('stays quiet when a run sees fewer of the changes it was told of (an event sees only its own)', () => {
    const both = { ...FACTS, changes: ['ssm|/prod/db@2', 'ssm|/prod/key@7'] };
    const event = { ...FACTS, changes: ['ssm|/prod/key@7'] };
    expect(remindRule(told(HOUR, both), event, NOW, DAY)).toBe('quiet');
    // ...and the sweep after an event's telling is quiet too: what was told is kept.
    const saved = toldNow('arn', event, told(HOUR, FACTS), NOW);
    expect(saved.changes).toEqual(['ssm|/prod/key@7', 'ssm|/prod/db@2']);
    expect(remindRule(saved, both, NOW, DAY)).toBe('quiet');
    expect(saved.firstSeen).toBe(told(HOUR).firstSeen);
  });
});

describe('factsOf: what counts as a change worth telling again', () => {
  const change = aChange();
  const base = aConsumer({ changes: [change] });
  const facts = (overrides: Parameters<typeof aConsumer>[0]) => {
    const consumer = { ...base, ...overrides };
    return factsOf(consumer, decide(consumer, policy));
  };

  it('stays the same when only the number of old tasks changes (scaling)', () => {
    expect(facts({ staleRuns: 5 })).toEqual(facts({ staleRuns: 1 }));
  });

  it("stays the same when only the change's time moves (a secret's LastChangedDate moves on tags)", () => {
    expect(facts({ changes: [{ ...change, changedAt: '2026-11-22T00:00:00.000Z' }] })).toEqual(
      facts({}),
    );
  });

  it('has a newer version of a value it holds old', () => {
    expect(facts({ changes: [aChange({ version: '3' })] }).changes).toEqual([
      'ssm|us-east-1|123456789012|prod/db/password|AWSCURRENT@3',
    ]);
  });

  it('has the decision, as the plan makes it (a tag asks for a redeploy a stuck rollout prevents)', () => {
    const stuck = {
      ...base,
      tags: actionTags('ecs-service', { service: 'redeploy' }),
      stuckRollout: 'ecs-svc/9',
    };
    expect(factsOf(stuck, decide(stuck, policy)).decisions).toEqual([
      { action: 'notify', basis: 'rollout-stuck' },
    ]);
    expect(facts({}).decisions).toEqual([{ action: 'notify', basis: 'policy' }]);
  });
});

describe('ReminderStore: reminders a deployed table already holds', () => {
  const dynamodb = mockClient(DynamoDBClient);
  const ARN = 'arn:aws:ecs:us-east-1:123456789012:service/prod/api';
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };
  const storeWith = (body: Record<string, unknown>) => {
    dynamodb.reset();
    dynamodb.on(BatchGetItemCommand).resolves({
      Responses: {
        state: [{ pk: { S: `remind#${ARN}` }, body: { S: JSON.stringify(body) } }],
      },
    });
    const clients = new AwsClients({ credentials, maxAttempts: 1 });
    return new ReminderStore({ table: 'state', region: 'us-east-1', clients }, () => NOW);
  };
  const stored = (decision: string) => ({
    arn: ARN,
    decision,
    changes: FACTS.changes,
    firstSeen: new Date(NOW.getTime() - 3 * DAY).toISOString(),
    lastTold: new Date(NOW.getTime() - HOUR).toISOString(),
  });
  const loaded = async (body: Record<string, unknown>) =>
    (await storeWith(body).load([ARN])).get(ARN) ?? null;

  it('reads a decision kept as "action|basis" as the same decision: quiet within the interval', async () => {
    const previous = await loaded(stored('notify|policy'));
    expect(previous?.decisions).toEqual([{ action: 'notify', basis: 'policy' }]);
    expect(remindRule(previous, FACTS, NOW, DAY)).toBe('quiet');
    const stuck: Facts = { ...FACTS, decisions: [{ action: 'notify', basis: 'rollout-stuck' }] };
    expect(remindRule(previous, stuck, NOW, DAY)).toBe('changed');
  });

  it('reads the decisions of two consumers of one ARN kept as "a|b,c|d", in any order', async () => {
    const previous = await loaded(stored('notify|rollout-stuck,notify|policy'));
    const both: Facts = {
      ...FACTS,
      decisions: [
        { action: 'notify', basis: 'policy' },
        { action: 'notify', basis: 'rollout-stuck' },
      ],
    };
    expect(remindRule(previous, both, NOW, DAY)).toBe('quiet');
    expect(remindRule(previous, FACTS, NOW, DAY)).toBe('changed');
  });

  it('tells again when a kept decision names a basis this version does not know', async () => {
    const previous = await loaded(stored('notify|retired-basis'));
    expect(previous?.decisions).toEqual([]);
    expect(remindRule(previous, FACTS, NOW, DAY)).toBe('changed');
  });

  it('writes typed decisions and reads them back as they were', async () => {
    const store = storeWith({});
    dynamodb.on(BatchWriteItemCommand).resolves({});
    await store.save([toldNow(ARN, FACTS, null, NOW)], DAY);
    const [write] = dynamodb.commandCalls(BatchWriteItemCommand);
    const body = JSON.parse(
      write?.args[0].input.RequestItems?.state?.[0]?.PutRequest?.Item?.body?.S ?? '{}',
    );
    expect(body.decisions).toEqual([{ action: 'notify', basis: 'policy' }]);
    expect(body.decision).toBeUndefined();
    const previous = await loaded(body);
    expect(remindRule(previous, FACTS, NOW, DAY)).toBe('quiet');
  });
});
