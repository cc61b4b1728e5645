// Which records a gap keeps for a retry: only those it could concern, and a gap that could
// concern anything only while the record is young. Served by the scripted account.
import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { readSettings } from '../../lib/config.js';
import { DefinitionCache } from '../../lib/discovery/index.js';
import type { Gap, GapScope } from '../../lib/domain/index.js';
import { parsePayload } from '../../lib/events/index.js';
import { concerns, RETRY_GAPS_FOR_RECEIVES } from '../../lib/gaps.js';
import { runPipeline } from '../../lib/pipeline.js';
import { parameterChange } from '../helpers/events.js';
import { aChange, aConsumer } from '../helpers/factories.js';
import { useScriptedAccount } from '../helpers/scripted.js';
import { emptyAccount } from '../support/account/index.js';

const scripted = useScriptedAccount();
const { account } = scripted;
const CHANGE = Date.parse('2026-11-20T12:00:00Z');

function sqsRecord(id: string, receives: number, name: string) {
  return {
    messageId: id,
    body: JSON.stringify(parameterChange(name, { id: `evt-${id}`, time: CHANGE + 60_000 })),
    attributes: { ApproximateReceiveCount: String(receives) },
  };
}

describe('a gap that could concern any change (a task definition that can no longer be described)', () => {
  it('keeps young records for a retry and lets records go once it has persisted', async () => {
    Object.assign(account, emptyAccount(CHANGE + 5 * 60_000));
    account.clusters = ['prod'];
    account.parameters = [{ name: '/app/db', version: 2, lastModified: CHANGE }];
    // The task runs a revision that was deregistered and deleted: DescribeTaskDefinition fails.
    account.tasks = [
      {
        cluster: 'prod',
        id: 't',
        taskDefinition: 'gone:1',
        group: 'family:gone',
        createdAt: CHANGE - 60_000,
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
      },
    ];
    const clients = new AwsClients({ maxAttempts: 1 });
    const run = await runPipeline(
      {
        records: parsePayload({
          Records: [
            sqsRecord('young', 1, '/app/db'),
            sqsRecord('old', RETRY_GAPS_FOR_RECEIVES, '/app/db'),
          ],
        }),
      },
      {
        clients,
        cache: new DefinitionCache(),
        settings: readSettings({}),
        regions: [account.region],
        home: account.region,
        now: () => new Date(account.now),
      },
      { apply: true },
    );
    clients.destroy();
    expect(run.result.gaps.map((gap) => gap.api)).toEqual(['ecs:DescribeTaskDefinition']);
    // The read that failed says what it could hide: the definition's consumers are unknown.
    expect(run.result.gaps.map((gap) => gap.affects)).toEqual([{ kind: 'any' }]);
    expect(run.failedRecords).toEqual(['young']);
  });
});

describe('gaps that concern only some changes', () => {
  // As the reads set them (lib/discovery/value-records.ts, lib/consumers/ecs-reads.ts, ecs-scan.ts).
  const gap = (api: string, scope: string, affects: GapScope): Gap => ({
    region: 'us-east-1',
    scope,
    api,
    error: 'AccessDeniedException: denied',
    affects,
  });

  it('a parameter metadata gap concerns parameters of that region, not secrets', () => {
    const g = gap('ssm:DescribeParameters', 'parameters', {
      kind: 'values',
      service: 'ssm',
      region: 'us-east-1',
    });
    expect(concerns(g, aChange(), [], 99)).toBe(true);
    expect(concerns(g, aChange({ service: 'secretsmanager', name: 'prod/db' }), [], 1)).toBe(false);
    expect(concerns(g, aChange({ region: 'eu-west-1' }), [], 1)).toBe(false);
  });

  it("a DescribeServices gap concerns only the changes of that cluster's consumers", () => {
    const consumer = aConsumer({ kind: 'ecs-service' });
    const cluster = consumer.parent as string;
    const g = gap('ecs:DescribeServices', cluster, {
      kind: 'consumers',
      region: 'us-east-1',
      parent: cluster,
    });
    expect(concerns(g, aChange(), [consumer], 99)).toBe(true);
    expect(concerns(g, aChange({ name: '/other/value' }), [consumer], 1)).toBe(false);
    const other = 'arn:aws:ecs:us-east-1:123456789012:cluster/other';
    expect(
      concerns(
        gap('ecs:DescribeServices', other, {
          kind: 'consumers',
          region: 'us-east-1',
          parent: other,
        }),
        aChange(),
        [consumer],
        1,
      ),
    ).toBe(false);
  });

  it('a listing gap concerns any change, while the record is young', () => {
    const g = gap('ecs:ListTasks', 'arn:aws:ecs:us-east-1:123456789012:cluster/denied', {
      kind: 'any',
    });
    expect(concerns(g, aChange(), [], 1)).toBe(true);
    expect(concerns(g, aChange(), [], RETRY_GAPS_FOR_RECEIVES)).toBe(false);
  });
});
