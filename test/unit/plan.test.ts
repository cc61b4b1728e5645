import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  ActionKind,
  ChangeEffect,
  Consumer,
  ConsumerKind,
  PolicyAction,
} from '../../lib/domain/index.js';
import { decide, type Policy, plan } from '../../lib/plan.js';
import { aChange, aConsumer, actionTags, TAG_LEVELS } from '../helpers/factories.js';

const NOTIFY: Policy = { defaultAction: 'notify', maxActions: 25 };

/**
 * A consumer of `kind` whose own (most specific) level carries the action tag `value`; a Batch
 * job's definition carries it too (the role needs both to resubmit).
 */
function tagged(kind: ConsumerKind, value: string, overrides: Partial<Consumer> = {}): Consumer {
  const level = TAG_LEVELS[kind][0] as string;
  const levels =
    kind === 'batch-job' ? { job: value, 'job-definition': value } : { [level]: value };
  return aConsumer({ kind, tags: actionTags(kind, levels), ...overrides });
}

describe('decide', () => {
  describe.each<[ConsumerKind, string, [string, ActionKind, RegExp][]]>([
    [
      'ecs-service',
      'service',
      [
        ['redeploy', 'redeploy', /^redeploy by the service tag$/],
        ['resubmit', 'notify', /resubmit by the service tag does not apply to an ECS service/],
        ['notify', 'notify', /^notify by the service tag$/],
        ['ignore', 'ignore', /^ignored by the service tag$/],
      ],
    ],
    [
      'ecs-task',
      'task',
      [
        [
          'redeploy',
          'notify',
          /redeploy by the task tag, but standalone tasks are never restarted/,
        ],
        [
          'resubmit',
          'notify',
          /resubmit by the task tag, but standalone tasks are never restarted/,
        ],
        ['notify', 'notify', /^notify by the task tag$/],
        ['ignore', 'ignore', /^ignored by the task tag$/],
      ],
    ],
    [
      'batch-job',
      'job',
      [
        ['resubmit', 'resubmit', /^resubmit by the job tag$/],
        ['redeploy', 'notify', /redeploy by the job tag does not apply to a Batch job/],
        ['notify', 'notify', /^notify by the job tag$/],
        ['ignore', 'ignore', /^ignored by the job tag$/],
      ],
    ],
  ])('a stale %s tagged on its %s', (kind, _level, rows) => {
    it.each(rows)('with %s gets %s', (value, action, reason) => {
      const decision = decide(tagged(kind, value), NOTIFY);
      expect(decision.action).toBe(action);
      expect(decision.reason).toMatch(reason);
    });
  });

  describe('the most specific tag level wins', () => {
    it.each<[string, Record<string, string>, ActionKind, string]>([
      ['only the job queue is tagged', { 'job-queue': 'resubmit' }, 'notify', 'job-queue'],
      [
        'the job definition overrides the job queue',
        { 'job-definition': 'ignore', 'job-queue': 'resubmit' },
        'ignore',
        'job-definition',
      ],
      [
        'the job overrides the job definition and the job queue',
        { job: 'resubmit', 'job-definition': 'ignore', 'job-queue': 'notify' },
        'notify',
        'job',
      ],
      [
        'the job overrides the job queue when the definition has no tag',
        { job: 'notify', 'job-queue': 'resubmit' },
        'notify',
        'job',
      ],
    ])('when %s', (_label, values, action, level) => {
      const decision = decide(
        aConsumer({ kind: 'batch-job', tags: actionTags('batch-job', values) }),
        NOTIFY,
      );
      expect(decision.action).toBe(action);
      expect(decision.reason).toContain(`the ${level} tag`);
    });
  });

  describe('an unknown tag value falls back to the default and names the bad value', () => {
    it.each<[ConsumerKind, string, PolicyAction, ActionKind]>([
      ['ecs-service', 'restart', 'notify', 'notify'],
      ['ecs-service', 'restart', 'redeploy', 'redeploy'],
      ['batch-job', 'rerun', 'resubmit', 'resubmit'],
      ['ecs-task', '', 'ignore', 'ignore'],
    ])('a stale %s tagged %j with the default %s gets %s', (kind, value, defaultAction, action) => {
      const decision = decide(tagged(kind, value), { defaultAction, maxActions: 25 });
      expect(decision.action).toBe(action);
      expect(decision.reason).toContain('the default');
      expect(decision.reason).toContain(JSON.stringify(value));
      expect(decision.reason).toContain('redeploy, resubmit, notify, ignore');
    });

    it('does not fall through to a less specific level with a valid value', () => {
      const consumer = aConsumer({
        kind: 'batch-job',
        tags: actionTags('batch-job', { job: 'sometimes', 'job-queue': 'resubmit' }),
      });
      const decision = decide(consumer, NOTIFY);
      expect(decision.action).toBe('notify');
      expect(decision.reason).toMatch(/the job tag's value "sometimes"/);
    });
  });

  describe('tag values must match exactly, as the IAM conditions of the role compare them', () => {
    it.each<[ConsumerKind, string]>([
      ['ecs-service', 'REDEPLOY'],
      ['ecs-service', ' redeploy '],
      ['batch-job', 'ReSubmit'],
      ['ecs-task', 'IGNORE'],
    ])('a stale %s tagged %j gets the default, with the reason', (kind, value) => {
      const decision = decide(tagged(kind, value), NOTIFY);
      expect(decision.action).toBe('notify');
      expect(decision.reason).toContain(`value ${JSON.stringify(value)} is not one of`);
    });
  });

  describe('a resubmit by tag needs what the role needs', () => {
    it.each<[string, Record<string, string>, ActionKind, RegExp]>([
      [
        'the job and its definition',
        { job: 'resubmit', 'job-definition': 'resubmit' },
        'resubmit',
        /^resubmit by the job tag$/,
      ],
      [
        'only the job',
        { job: 'resubmit' },
        'notify',
        /the job definition is not tagged resubmit, which SubmitJob needs/,
      ],
      [
        'only the definition',
        { 'job-definition': 'resubmit' },
        'notify',
        /the job itself is not tagged resubmit, which TerminateJob needs \(tag it when submitting/,
      ],
      [
        'only the queue',
        { 'job-queue': 'resubmit' },
        'notify',
        /the job definition is not tagged resubmit/,
      ],
    ])('tagged on %s: %s', (_label, values, action, reason) => {
      const decision = decide(
        aConsumer({ kind: 'batch-job', tags: actionTags('batch-job', values) }),
        NOTIFY,
      );
      expect(decision.action).toBe(action);
      expect(decision.reason).toMatch(reason);
    });

    it('resubmits untagged jobs when the default action is resubmit (the role then allows all)', () => {
      expect(
        decide(aConsumer({ kind: 'batch-job' }), { defaultAction: 'resubmit', maxActions: 25 })
          .action,
      ).toBe('resubmit');
    });
  });

  describe('without a tag, WATCHER_DEFAULT_ACTION decides', () => {
    it.each<[ConsumerKind, PolicyAction, ActionKind]>([
      ['ecs-service', 'notify', 'notify'],
      ['ecs-service', 'redeploy', 'redeploy'],
      ['ecs-service', 'ignore', 'ignore'],
      ['ecs-service', 'resubmit', 'notify'],
      ['batch-job', 'resubmit', 'resubmit'],
      ['batch-job', 'redeploy', 'notify'],
      ['batch-job', 'ignore', 'ignore'],
      ['ecs-task', 'redeploy', 'notify'],
      ['ecs-task', 'notify', 'notify'],
    ])('a stale %s with no tag and the default %s gets %s', (kind, defaultAction, action) => {
      const decision = decide(aConsumer({ kind }), { defaultAction, maxActions: 25 });
      expect(decision.action).toBe(action);
      expect(decision.reason).toContain(
        `${defaultAction === 'ignore' ? 'ignored' : defaultAction} by the default`,
      );
    });
  });

  describe('a deleted value is an alarm, whatever the tags say', () => {
    const deleted = aChange({ effect: 'deleted', operation: 'Delete', name: '/prod/api/key' });
    it.each<[ConsumerKind, string]>([
      ['ecs-service', 'redeploy'],
      ['ecs-service', 'ignore'],
      ['batch-job', 'resubmit'],
      ['batch-job', 'ignore'],
      ['ecs-task', 'ignore'],
    ])('a stale %s tagged %s is notified', (kind, value) => {
      const decision = decide(tagged(kind, value, { changes: [aChange(), deleted] }), {
        defaultAction: 'redeploy',
        maxActions: 25,
      });
      expect(decision.action).toBe('notify');
      expect(decision.reason).toMatch(/^alarm: \/prod\/api\/key was deleted \(Delete\)/);
    });
  });

  it.each<[ConsumerKind]>([['ecs-service'], ['ecs-task'], ['batch-job']])(
    'a fresh %s gets none, with its stale reason',
    (kind) => {
      const staleReason = 'started 2026-11-20T13:00:00.000Z, after the change';
      const decision = decide(
        tagged(kind, kind === 'batch-job' ? 'resubmit' : 'redeploy', {
          stale: false,
          staleReason,
          changes: [],
        }),
        { defaultAction: 'redeploy', maxActions: 25 },
      );
      expect(decision).toMatchObject({ action: 'none', reason: staleReason });
    },
  );

  describe('ECS services whose deployments ECS does not run', () => {
    it.each([['CODE_DEPLOY'], ['EXTERNAL']])(
      'a service with the %s controller is notified, not redeployed',
      (controller) => {
        const consumer = tagged('ecs-service', 'redeploy');
        const service = { ...(consumer.service as NonNullable<Consumer['service']>) };
        service.deploymentController = controller;
        const decision = decide({ ...consumer, service }, NOTIFY);
        expect(decision.action).toBe('notify');
        expect(decision.reason).toContain(`its ${controller} deployment controller`);
      },
    );

    it('a service whose details could not be read is not restarted: its tags may say otherwise', () => {
      const decision = decide(tagged('ecs-service', 'redeploy', { service: null }), NOTIFY);
      expect(decision.action).toBe('notify');
      expect(decision.reason).toMatch(
        /DescribeServices failed: its tags and deployment controller are unknown/,
      );
    });
  });

  it.each<ConsumerKind>(['ecs-service', 'batch-job'])(
    'a %s is not restarted while the rotation of its secret is in progress',
    (kind) => {
      const rotating = aChange({
        service: 'secretsmanager',
        name: 'prod/db',
        pendingVersion: 'v9',
      });
      const decision = decide(
        tagged(kind, kind === 'batch-job' ? 'resubmit' : 'redeploy', { changes: [rotating] }),
        NOTIFY,
      );
      expect(decision).toMatchObject({ action: 'notify', basis: 'rotation-in-progress' });
      expect(decision.reason).toMatch(
        /AWSPENDING on version v9\): a restart now would read the value it replaces/,
      );
    },
  );

  it('a consumer the watcher already restarted for the change is notified, not restarted again', () => {
    const decision = decide(tagged('ecs-service', 'redeploy', { restarted: 'redeploy' }), NOTIFY);
    expect(decision).toMatchObject({ action: 'notify', basis: 'restart-undone' });
  });

  it('a standalone task is never restarted, even when the default and its tag say redeploy', () => {
    const decision = decide(tagged('ecs-task', 'redeploy'), {
      defaultAction: 'redeploy',
      maxActions: 25,
    });
    expect(decision.action).toBe('notify');
    expect(decision.reason).toMatch(/whoever started it must/);
  });

  it('a job the watcher already replaced that still runs is terminated, never submitted again', () => {
    const consumer = tagged('batch-job', 'resubmit');
    const job = { ...(consumer.job as NonNullable<Consumer['job']>), replacedBy: 'job-new' };
    const decision = decide({ ...consumer, job }, NOTIFY);
    expect(decision).toMatchObject({
      action: 'resubmit',
      basis: 'already-resubmitted',
      reason: expect.stringMatching(/^already resubmitted as job job-new, but this job still runs/),
    });
  });
});

describe('plan', () => {
  it('gives a consumer touched by several changes one decision and one action', () => {
    const consumer = tagged('ecs-service', 'redeploy', {
      changes: [
        aChange(),
        aChange({ name: '/prod/api/key', eventId: 'e-2' }),
        aChange({ eventId: 'e-3', changedAt: '2026-11-20T12:05:00.000Z' }),
      ],
    });
    const result = plan([consumer], NOTIFY);
    expect(result.decisions).toHaveLength(1);
    expect(result.actions).toHaveLength(1);
    expect(result.actions[0]).toMatchObject({ kind: 'redeploy', status: 'planned' });
  });

  it('carries the reason of the decision as the detail of a planned action', () => {
    const result = plan([tagged('batch-job', 'resubmit')], NOTIFY);
    expect(result.actions[0]?.detail).toBe('resubmit by the job tag');
  });

  describe('the cap on redeploys and resubmits per run', () => {
    const restarts = () => [
      tagged('ecs-service', 'redeploy'),
      tagged('batch-job', 'resubmit'),
      tagged('ecs-service', 'redeploy'),
      tagged('batch-job', 'resubmit'),
      tagged('ecs-service', 'redeploy'),
    ];

    it.each([[0], [1], [2], [4], [5], [9]])('with maxActions %i plans that many at most', (max) => {
      const consumers = restarts();
      const { actions } = plan(consumers, { defaultAction: 'notify', maxActions: max });
      const planned = Math.min(max, consumers.length);
      expect(actions).toHaveLength(consumers.length);
      expect(actions.map((action) => action.status)).toEqual([
        ...Array(planned).fill('planned'),
        ...Array(consumers.length - planned).fill('skipped'),
      ]);
      expect(actions.map((action) => action.consumer)).toEqual(consumers);
    });

    it('says why it held an action back, naming WATCHER_MAX_ACTIONS and the cap', () => {
      const { actions } = plan(restarts(), { defaultAction: 'notify', maxActions: 2 });
      for (const action of actions.slice(2)) {
        expect(action.detail).toMatch(/WATCHER_MAX_ACTIONS allows 2 /);
      }
    });

    it('holds back every restart when maxActions is 0', () => {
      const { actions } = plan(restarts(), { defaultAction: 'notify', maxActions: 0 });
      expect(actions.every((action) => action.status === 'skipped')).toBe(true);
      expect(actions[0]?.detail).toContain('WATCHER_MAX_ACTIONS');
    });

    it('does not count notify, ignore or none against the cap', () => {
      const consumers = [
        tagged('ecs-service', 'notify'),
        tagged('ecs-task', 'redeploy'),
        tagged('batch-job', 'ignore'),
        tagged('ecs-service', 'redeploy', { stale: false, changes: [] }),
        tagged('ecs-service', 'redeploy', {
          changes: [aChange({ effect: 'deleted', operation: 'Delete' })],
        }),
        tagged('batch-job', 'resubmit'),
        tagged('ecs-service', 'redeploy'),
      ];
      const { decisions, actions } = plan(consumers, { defaultAction: 'notify', maxActions: 2 });
      expect(decisions.map((decision) => decision.action)).toEqual([
        'notify',
        'notify',
        'ignore',
        'none',
        'notify',
        'resubmit',
        'redeploy',
      ]);
      expect(actions.map((action) => [action.kind, action.status])).toEqual([
        ['resubmit', 'planned'],
        ['redeploy', 'planned'],
      ]);
    });
  });
});

describe('plan, for any consumers and any policy', () => {
  const RESTARTS = new Set<ActionKind>(['redeploy', 'resubmit']);

  const tagValue = fc.oneof(
    fc.constantFrom('redeploy', 'resubmit', 'notify', 'ignore'),
    fc.constantFrom('REDEPLOY', ' Resubmit ', 'Ignore', 'restart', ''),
    fc.string({ maxLength: 10 }),
  );

  const change = fc
    .record({
      effect: fc.constantFrom<ChangeEffect>('value', 'deleted', 'label', 'notice'),
      name: fc.constantFrom('/prod/db/password', '/prod/api/key', 'prod/secret'),
    })
    .map(({ effect, name }) =>
      aChange({ effect, name, operation: effect === 'deleted' ? 'Delete' : 'Update' }),
    );

  const consumer = fc
    .record({
      kind: fc.constantFrom<ConsumerKind>('ecs-service', 'ecs-task', 'batch-job'),
      stale: fc.boolean(),
      values: fc.array(fc.option(tagValue, { nil: undefined }), { minLength: 3, maxLength: 3 }),
      changes: fc.array(change, { maxLength: 3 }),
      controller: fc.constantFrom('ECS', 'CODE_DEPLOY', 'EXTERNAL'),
      replacedBy: fc.option(fc.constant('job-new'), { nil: null }),
    })
    .map(({ kind, stale, values, changes, controller, replacedBy }) => {
      const levels = Object.fromEntries(
        TAG_LEVELS[kind].map((level, index) => [level, values[index]]),
      );
      const built = aConsumer({ kind, stale, changes, tags: actionTags(kind, levels) });
      if (built.service) built.service = { ...built.service, deploymentController: controller };
      if (built.job) built.job = { ...built.job, replacedBy };
      return built;
    });

  const policy = fc.record({
    defaultAction: fc.constantFrom<PolicyAction>('redeploy', 'resubmit', 'notify', 'ignore'),
    maxActions: fc.integer({ min: 0, max: 10 }),
  });

  const consumers = fc.array(consumer, { maxLength: 25 });

  it('never redeploys or resubmits a consumer with a deleted change', () => {
    fc.assert(
      fc.property(consumers, policy, (list, rules) => {
        const { decisions, actions } = plan(list, rules);
        for (const decision of decisions) {
          if (decision.consumer.changes.some((c) => c.effect === 'deleted')) {
            expect(RESTARTS.has(decision.action)).toBe(false);
            expect(decision.reason).toMatch(/^alarm: /);
          }
        }
        expect(actions.some((a) => a.consumer.changes.some((c) => c.effect === 'deleted'))).toBe(
          false,
        );
      }),
    );
  });

  it('never plans more than maxActions, and holds back only what the cap holds back', () => {
    fc.assert(
      fc.property(consumers, policy, (list, rules) => {
        const { actions } = plan(list, rules);
        const planned = actions.filter((a) => a.status === 'planned').length;
        expect(planned).toBeLessThanOrEqual(rules.maxActions);
        expect(planned).toBe(Math.min(rules.maxActions, actions.length));
      }),
    );
  });

  it('gives exactly one decision per consumer, in order', () => {
    fc.assert(
      fc.property(consumers, policy, (list, rules) => {
        const { decisions } = plan(list, rules);
        expect(decisions).toHaveLength(list.length);
        decisions.forEach((decision, index) => {
          expect(decision.consumer).toBe(list[index]);
        });
      }),
    );
  });

  it('lists exactly one action for every redeploy or resubmit decision, and no other', () => {
    fc.assert(
      fc.property(consumers, policy, (list, rules) => {
        const { decisions, actions } = plan(list, rules);
        const restarts = decisions.filter((d) => RESTARTS.has(d.action));
        expect(actions).toHaveLength(restarts.length);
        for (const decision of restarts) {
          const mine = actions.filter((a) => a.consumer === decision.consumer);
          expect(mine).toHaveLength(1);
          expect(mine[0]?.kind).toBe(decision.action);
        }
      }),
    );
  });

  it('never restarts a consumer that is not stale, nor a standalone task', () => {
    fc.assert(
      fc.property(consumers, policy, (list, rules) => {
        const { decisions } = plan(list, rules);
        for (const { consumer: c, action } of decisions) {
          if (!c.stale || c.kind === 'ecs-task') expect(RESTARTS.has(action)).toBe(false);
          if (c.kind === 'ecs-service') expect(action).not.toBe('resubmit');
          if (c.kind === 'batch-job') expect(action).not.toBe('redeploy');
        }
      }),
    );
  });
});
