// Discovery against the scripted account over HTTP: what moto cannot hold (creation times,
// secrets' change records, array children, deleted services), with the real SDK clients.

import { beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { DefinitionCache, discover } from '../../lib/discovery/index.js';
import type { Change } from '../../lib/domain/index.js';
import { parseEvent } from '../../lib/events/index.js';
import { useScriptedAccount } from '../helpers/scripted.js';
import { emptyAccount } from '../support/account/index.js';

const MINUTE = 60_000;
const CHANGE = Date.parse('2026-11-20T12:00:00Z');
const at = (minutes: number) => CHANGE + minutes * MINUTE;
const SECRET = 'prod/db-creds';
const SECRET_ARN = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SECRET}-AbC123`;

const scripted = useScriptedAccount();
const { account } = scripted;
beforeEach(() => {
  scripted.server.requests.length = 0;
  Object.assign(account, emptyAccount(at(30)));
  account.clusters = ['prod'];
  account.secrets = [
    {
      name: SECRET,
      suffix: 'AbC123',
      lastChanged: CHANGE,
      currentVersion: 'v-new',
      // A rotation: the new version was written under AWSPENDING before AWSCURRENT moved to it
      // (and the move, AWS's last change of the secret, dated LastChangedDate).
      versionsCreated: { 'v-new': CHANGE - 60_000 },
      previousVersion: 'v-old',
    },
  ];
  account.taskDefinitions = [
    {
      family: 'app',
      revision: 1,
      secrets: [{ name: 'DB', valueFrom: `${SECRET_ARN}:password::` }],
    },
  ];
  account.jobQueues = [{ name: 'nightly' }];
  account.jobDefinitions = [
    { name: 'etl', revision: 1, secrets: [{ name: 'DB', valueFrom: SECRET_ARN }] },
  ];
});

/** A Secret Label Updated event for the secret, delivered at `time`. */
function labelEvent(time: number): Change[] {
  return parseEvent({
    version: '0',
    id: `evt-${time}`,
    'detail-type': 'Secret Label Updated',
    source: 'aws.secretsmanager',
    account: account.account,
    time: new Date(time).toISOString(),
    region: account.region,
    resources: [SECRET_ARN],
    detail: { name: SECRET, labelUpdated: 'AWSCURRENT', versionId: 'v-new' },
  }).changes;
}

async function run(changes: Change[]) {
  const clients = new AwsClients({ maxAttempts: 1 });
  try {
    return await discover(
      { changes },
      {
        regions: ['us-east-1'],
        clients,
        cache: new DefinitionCache(),
        now: () => new Date(account.now),
      },
    );
  } finally {
    clients.destroy();
  }
}

describe("a secret's change, judged by AWS's record", () => {
  it('dates the move by its event, and reads the AWSCURRENT version, once for every copy', async () => {
    account.tasks = [
      {
        cluster: 'prod',
        id: 'between',
        taskDefinition: 'app:1',
        group: 'family:app',
        // After the change, before the late event's time: fresh by AWS's record.
        createdAt: at(5),
        startedAt: at(6),
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
      },
    ];
    // Three events of one rotation (the label's move, and copies delivered again later, each
    // keeping the time AWS gave it): one change, dated by the earliest record of the move.
    const result = await run([...labelEvent(at(0)), ...labelEvent(at(0)), ...labelEvent(at(0))]);
    expect(result.changes).toEqual([
      expect.objectContaining({
        timeSource: 'aws',
        changedAt: new Date(CHANGE).toISOString(),
        eventTime: expect.any(String),
        version: 'v-new',
      }),
    ]);
    expect(result.consumers[0]).toMatchObject({ stale: false, cause: 'created-after' });
    // Its task definition's image is pulled by tag (`app:1`): a redeploy would pull it again.
    expect(result.consumers[0]?.mutableImages).toEqual(['app:1']);
    expect(scripted.server.requests.some((r) => r.api === 'secretsmanager:DescribeSecret')).toBe(
      true,
    );
    expect(scripted.server.requests.some((r) => r.api.includes('GetSecretValue'))).toBe(false);
  });

  it("falls back to the event's time, and says so, when the secret cannot be described", async () => {
    account.secrets = [];
    account.tasks = [
      {
        cluster: 'prod',
        id: 'old',
        taskDefinition: 'app:1',
        group: 'family:app',
        createdAt: at(-5),
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
      },
    ];
    // The secret is gone: a deletion, judged at the event's time.
    const result = await run(labelEvent(at(1)));
    expect(result.changes[0]).toMatchObject({ effect: 'deleted', timeSource: 'event' });
    expect(result.consumers[0]?.staleReason).toMatch(
      /by the event's time: AWS's record could not be read/,
    );
  });
});

describe('array jobs, judged by their children', () => {
  it('lists the running children of a PENDING parent and counts the stale ones', async () => {
    account.jobs = [
      {
        id: 'p',
        name: 'render',
        queue: 'nightly',
        definition: 'etl:1',
        status: 'PENDING',
        createdAt: at(-30),
        arraySize: 3,
      },
      ...[0, 1, 2].map((k) => ({
        id: `p:${k}`,
        name: 'render',
        queue: 'nightly',
        definition: 'etl:1',
        status: k === 2 ? ('RUNNABLE' as const) : ('RUNNING' as const),
        createdAt: at(-30),
        startedAt: at(-20),
        arrayParent: 'p',
        arrayIndex: k,
      })),
    ];
    const result = await run(labelEvent(at(1)));
    expect(result.consumers).toHaveLength(1);
    expect(result.consumers[0]).toMatchObject({
      kind: 'batch-job',
      name: 'render',
      stale: true,
      staleRuns: 2,
      job: { arraySize: 3 },
      staleReason: expect.stringMatching(/^2 of 2 running jobs may hold the old value/),
    });
    const byParent = scripted.server.requests.filter(
      (r) => r.api === 'batch:ListJobs' && r.input.arrayJobId === 'p',
    );
    expect(byParent.map((r) => r.input.jobStatus).sort()).toEqual(['RUNNING', 'STARTING']);
  });
});

describe('array jobs whose children say nothing yet', () => {
  it('raises the alarm for a deleted value even when no child runs yet', async () => {
    account.secrets = [];
    account.jobs = [
      {
        id: 'p',
        name: 'render',
        queue: 'nightly',
        definition: 'etl:1',
        status: 'PENDING',
        createdAt: at(-30),
        arraySize: 2,
      },
      ...[0, 1].map((k) => ({
        id: `p:${k}`,
        name: 'render',
        queue: 'nightly',
        definition: 'etl:1',
        status: 'RUNNABLE' as const,
        createdAt: at(-30),
        arrayParent: 'p',
        arrayIndex: k,
      })),
    ];
    const result = await run(labelEvent(at(1)));
    expect(result.consumers[0]).toMatchObject({ stale: false, cause: 'no-run' });
    expect(result.consumers[0]?.changes.map((change) => change.effect)).toEqual(['deleted']);
    const { decide } = await import('../../lib/plan.js');
    expect(
      decide(result.consumers[0] as never, { defaultAction: 'notify', maxActions: 25 }),
    ).toMatchObject({ severity: 'alarm', basis: 'value-deleted' });
  });

  it('does not list the children of a SUBMITTED parent: it has none yet', async () => {
    account.jobs = [
      {
        id: 'p',
        name: 'render',
        queue: 'nightly',
        definition: 'etl:1',
        status: 'SUBMITTED',
        createdAt: at(-30),
        arraySize: 5,
      },
    ];
    const result = await run(labelEvent(at(1)));
    expect(result.consumers[0]).toMatchObject({ stale: false, cause: 'no-run' });
    expect(scripted.server.requests.filter((r) => r.input.arrayJobId !== undefined)).toEqual([]);
  });
});

describe('a task started by hand into a service group', () => {
  it('is a standalone task: no rollout of the service replaces it', async () => {
    account.services = [
      {
        cluster: 'prod',
        name: 'api',
        status: 'ACTIVE',
        desiredCount: 1,
        deployments: [
          {
            id: 'ecs-svc/2',
            status: 'PRIMARY',
            rolloutState: 'COMPLETED',
            createdAt: at(5),
            updatedAt: at(8),
            taskDefinition: 'app:1',
          },
        ],
      },
    ];
    account.tasks = [
      {
        cluster: 'prod',
        id: 'fresh',
        taskDefinition: 'app:1',
        group: 'service:api',
        startedBy: 'ecs-svc/2',
        createdAt: at(6),
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
      },
      {
        cluster: 'prod',
        id: 'manual',
        taskDefinition: 'app:1',
        group: 'service:api',
        startedBy: 'debug-session',
        createdAt: at(-60),
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
      },
    ];
    const result = await run(labelEvent(at(0)));
    const byKind = Object.fromEntries(result.consumers.map((c) => [c.kind, c]));
    expect(byKind['ecs-service']).toMatchObject({
      name: 'api',
      stale: false,
      runs: [expect.objectContaining({ arn: expect.stringMatching(/fresh$/) })],
    });
    expect(byKind['ecs-task']).toMatchObject({ stale: true, name: 'service:api manual' });
  });
});

describe('services that no longer exist', () => {
  it.each(['DRAINING', 'gone'] as const)(
    'reports a %s service with its status, for the plan to leave alone',
    async (status) => {
      account.services = [
        {
          cluster: 'prod',
          name: 'api',
          status,
          desiredCount: 0,
          deployments: [
            {
              id: 'ecs-svc/1',
              status: 'PRIMARY',
              rolloutState: 'COMPLETED',
              createdAt: at(-90),
              updatedAt: at(-80),
              taskDefinition: 'app:1',
            },
          ],
        },
      ];
      account.tasks = [
        {
          cluster: 'prod',
          id: 't',
          taskDefinition: 'app:1',
          group: 'service:api',
          startedBy: 'ecs-svc/1',
          createdAt: at(-60),
          lastStatus: 'RUNNING',
          desiredStatus: 'RUNNING',
        },
      ];
      const result = await run(labelEvent(at(1)));
      expect(result.consumers[0]).toMatchObject({
        kind: 'ecs-service',
        stale: true,
        service: { status: status === 'gone' ? 'MISSING' : 'DRAINING' },
      });
    },
  );
});
