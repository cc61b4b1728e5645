import { describe, expect, it } from 'vitest';
import { assessConsumer, assessRun } from '../../lib/discovery/index.js';
import type { DeploymentState, JobDetails, Run, ServiceDetails } from '../../lib/domain/index.js';
import { decide } from '../../lib/plan.js';
import { aChange, aConsumer, actionTags, CHANGED_AT } from '../helpers/factories.js';

const change = aChange();
const minutes = (m: number) => new Date(Date.parse(CHANGED_AT) + m * 60_000).toISOString();
const NOW = new Date(minutes(40));
const reference = aConsumer().references[0] as Run['references'][number];

function aRun(overrides: Partial<Run> = {}): Run {
  return {
    arn: 'arn:aws:ecs:us-east-1:123456789012:task/prod/t1',
    definitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:7',
    status: 'RUNNING',
    createdAt: minutes(-60),
    startedAt: minutes(-59),
    startedBy: 'ecs-svc/old',
    stopping: false,
    references: [reference],
    ...overrides,
  };
}

function aService(
  deployments: Partial<DeploymentState>[],
  status: ServiceDetails['status'] = 'ACTIVE',
): ServiceDetails {
  return {
    cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod',
    status,
    deploymentController: 'ECS',
    desiredCount: 2,
    deployments: deployments.map((d, i) => ({
      id: `ecs-svc/${i}`,
      status: i === 0 ? 'PRIMARY' : 'ACTIVE',
      rolloutState: 'COMPLETED',
      createdAt: minutes(-120),
      updatedAt: minutes(-110),
      ...d,
    })),
  };
}

describe('one task or job against one change', () => {
  it.each<[string, Partial<Run>, 'ecs' | 'batch', boolean, string]>([
    ['an ECS task created and started before', {}, 'ecs', true, 'created-before'],
    [
      'an ECS task created before and RUNNING after (it fetched at an unknown moment)',
      { createdAt: minutes(-1), startedAt: minutes(2) },
      'ecs',
      true,
      'created-before',
    ],
    [
      'a PENDING ECS task created before',
      { status: 'PENDING', startedAt: null },
      'ecs',
      true,
      'created-before',
    ],
    [
      'an ACTIVATING ECS task created before',
      { status: 'ACTIVATING', startedAt: null },
      'ecs',
      true,
      'created-before',
    ],
    [
      'an ECS task created after',
      { createdAt: minutes(1), startedAt: minutes(2) },
      'ecs',
      false,
      'created-after',
    ],
    [
      'an ECS task created at the very moment',
      { createdAt: CHANGED_AT },
      'ecs',
      false,
      'created-after',
    ],
    ['an ECS task with no creation time', { createdAt: null }, 'ecs', true, 'time-unknown'],
    [
      'a STARTING job created before',
      { status: 'STARTING', startedAt: null },
      'batch',
      true,
      'created-before',
    ],
    ['a RUNNING job created before', { status: 'RUNNING' }, 'batch', true, 'created-before'],
    [
      'a RUNNABLE job created before (no container yet)',
      { status: 'RUNNABLE', startedAt: null },
      'batch',
      false,
      'not-started',
    ],
    [
      'a SUBMITTED job created before',
      { status: 'SUBMITTED', startedAt: null },
      'batch',
      false,
      'not-started',
    ],
  ])('%s: stale %s', (_label, overrides, platform, stale, cause) => {
    const verdict = assessRun(aRun(overrides), [change], platform);
    expect(verdict).toMatchObject({ stale, cause });
  });

  it('says when the time is only the event’s, because AWS’s record could not be read', () => {
    const verdict = assessRun(aRun(), [aChange({ timeSource: 'event' })], 'ecs');
    expect(verdict.reason).toMatch(/by the event's time: AWS's record could not be read/);
  });

  it('keeps pinned references out: a version id pin is not affected', () => {
    const pinned = {
      ...reference,
      target: { ...reference.target, versionId: 'v-1', service: 'secretsmanager' as const },
    };
    const secretChange = aChange({
      service: 'secretsmanager',
      name: reference.target.name,
      arn: reference.target.arn,
    });
    const verdict = assessRun(aRun({ references: [pinned] }), [secretChange], 'ecs');
    expect(verdict).toMatchObject({ stale: false, cause: 'unaffected' });
  });
});

describe('a service: its tasks, and a deployment begun after the change', () => {
  const oldTask = aRun();
  it.each<[string, Partial<DeploymentState>, boolean, RegExp]>([
    [
      'none newer',
      { createdAt: minutes(-120) },
      true,
      /1 of 1 running task may hold the old value/,
    ],
    [
      'one newer, COMPLETED',
      { createdAt: minutes(5), rolloutState: 'COMPLETED' },
      false,
      /COMPLETED: its tasks read the new value/,
    ],
    [
      'one newer, IN_PROGRESS and moving',
      { createdAt: minutes(5), rolloutState: 'IN_PROGRESS', updatedAt: minutes(35) },
      false,
      /is replacing them \(IN_PROGRESS\)/,
    ],
    [
      'one newer, no rollout state (Classic Load Balancer) and moving',
      { createdAt: minutes(5), rolloutState: null, updatedAt: minutes(35) },
      false,
      /is replacing them/,
    ],
    [
      'one newer, FAILED',
      { createdAt: minutes(5), rolloutState: 'FAILED', updatedAt: minutes(35) },
      true,
      /deployment ecs-svc\/0 began .* but its rollout FAILED: it replaces nothing/,
    ],
    [
      'one newer, IN_PROGRESS but idle for 35 minutes',
      { createdAt: minutes(5), rolloutState: 'IN_PROGRESS', updatedAt: minutes(5) },
      true,
      /has made no progress for 35 minutes \(IN_PROGRESS\)/,
    ],
  ])('%s: stale %s', (_label, newest, stale, reason) => {
    const verdict = assessConsumer('ecs-service', [oldTask], [change], aService([newest]), NOW);
    expect(verdict.stale).toBe(stale);
    expect(verdict.reason).toMatch(reason);
    expect(verdict.stuckRollout).toBe(
      stale && newest.createdAt === minutes(5) ? 'ecs-svc/0' : null,
    );
  });

  it('is fresh when every task was created after the change, whatever its deployments', () => {
    const fresh = aRun({ createdAt: minutes(1) });
    const verdict = assessConsumer(
      'ecs-service',
      [fresh],
      [change],
      aService([{ rolloutState: 'FAILED' }]),
      NOW,
    );
    expect(verdict).toMatchObject({ stale: false, cause: 'created-after', staleRuns: 0 });
  });

  it('counts the tasks that may hold the old value', () => {
    const runs = [aRun(), aRun({ createdAt: minutes(1) }), aRun({ createdAt: null })];
    const verdict = assessConsumer('ecs-service', runs, [change], aService([{}]), NOW);
    expect(verdict).toMatchObject({ stale: true, staleRuns: 2 });
    expect(verdict.reason).toMatch(/^2 of 3 running tasks may hold the old value/);
  });
});

describe('an array job, judged by its running children', () => {
  it.each<[string, Partial<Run>[], boolean, string, number]>([
    ['no child running yet', [], false, 'no-run', 0],
    ['children created after the change', [{ createdAt: minutes(1) }], false, 'created-after', 0],
    [
      'one of three children created before',
      [{ createdAt: minutes(1) }, {}, { createdAt: minutes(2) }],
      true,
      'created-before',
      1,
    ],
  ])('%s: stale %s', (_label, children, stale, cause, staleRuns) => {
    const runs = children.map((child) => aRun({ status: 'RUNNING', ...child }));
    const verdict = assessConsumer('batch-job', runs, [change], null, NOW);
    expect(verdict).toMatchObject({ stale, cause, staleRuns });
  });
});

describe('decisions on typed facts', () => {
  const policy = { defaultAction: 'redeploy' as const, maxActions: 25 };

  it.each(['DRAINING', 'INACTIVE', 'MISSING'] as const)(
    'never plans a %s (deleted) service',
    (status) => {
      const consumer = aConsumer({ kind: 'ecs-service' });
      consumer.service = { ...(consumer.service as ServiceDetails), status };
      expect(decide(consumer, policy)).toMatchObject({ action: 'none', basis: 'service-gone' });
    },
  );

  it('does not redeploy again a service whose redeploy after the change failed or stalled', () => {
    const consumer = aConsumer({ kind: 'ecs-service', stuckRollout: 'ecs-svc/9' });
    expect(decide(consumer, policy)).toMatchObject({
      action: 'notify',
      basis: 'rollout-stuck',
      reason: expect.stringMatching(
        /deployment ecs-svc\/9, begun after the change, failed or stalled/,
      ),
    });
  });

  it('resubmits an array job only when it is tagged, never by the default', () => {
    const arrayJob = (tags: ReturnType<typeof actionTags>) => {
      const consumer = aConsumer({ kind: 'batch-job', tags });
      consumer.job = { ...(consumer.job as JobDetails), arraySize: 1000 };
      return consumer;
    };
    expect(
      decide(arrayJob(actionTags('batch-job', {})), { ...policy, defaultAction: 'resubmit' }),
    ).toMatchObject({ action: 'notify', basis: 'untagged-array' });
    const tagged = arrayJob(
      actionTags('batch-job', { job: 'resubmit', 'job-definition': 'resubmit' }),
    );
    expect(decide(tagged, policy)).toMatchObject({
      action: 'resubmit',
      source: { kind: 'tag', level: 'job' },
    });
  });

  it('never resubmits an array job whose children could not be listed', () => {
    const consumer = aConsumer({
      kind: 'batch-job',
      tags: actionTags('batch-job', { job: 'resubmit', 'job-definition': 'resubmit' }),
    });
    consumer.job = { ...(consumer.job as JobDetails), arraySize: 10, childrenUnknown: true };
    expect(decide(consumer, policy)).toMatchObject({ action: 'notify', basis: 'children-unknown' });
  });

  describe('a service whose images are pulled by tag', () => {
    const byTag = () =>
      aConsumer({
        kind: 'ecs-service',
        tags: actionTags('ecs-service', { service: 'redeploy' }),
        mutableImages: ['123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest'],
      });

    it('is redeployed by default, and the reason says the deployment may ship new code', () => {
      expect(decide(byTag(), policy)).toMatchObject({
        action: 'redeploy',
        reason: expect.stringMatching(
          /note: a forced deployment pulls .*app:latest by tag again, so it may ship new code/,
        ),
      });
    });

    it('is only notified with WATCHER_MUTABLE_IMAGES=notify', () => {
      expect(decide(byTag(), { ...policy, mutableImages: 'notify' })).toMatchObject({
        action: 'notify',
        basis: 'mutable-image',
      });
    });

    it('is redeployed without a note when every image is pinned by digest', () => {
      const pinned = aConsumer({
        kind: 'ecs-service',
        tags: actionTags('ecs-service', { service: 'redeploy' }),
      });
      expect(decide(pinned, { ...policy, mutableImages: 'notify' })).toMatchObject({
        action: 'redeploy',
        reason: 'redeploy by the service tag',
      });
    });
  });

  it('marks a deleted value as an alarm, whatever the policy', () => {
    const consumer = aConsumer({ changes: [aChange({ effect: 'deleted', operation: 'Delete' })] });
    expect(decide(consumer, policy)).toMatchObject({ severity: 'alarm', basis: 'value-deleted' });
  });
});
