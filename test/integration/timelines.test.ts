// Timelines that moto cannot hold (tasks created before a change that reach RUNNING after it,
// rollouts that fail or stall, array children, deleted services), generated at random, served by
// the scripted account to the real SDK clients over HTTP, and judged by the whole pipeline. An
// oracle written here, from the account itself, says which containers may hold the old value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { readSettings } from '../../lib/config.js';
import { DefinitionCache } from '../../lib/discovery/index.js';
import { parsePayload } from '../../lib/events/index.js';
import { type PipelineRun, runPipeline } from '../../lib/pipeline.js';
import { parameterChange } from '../helpers/events.js';
import { useScriptedAccount } from '../helpers/scripted.js';
import {
  emptyAccount,
  type ScriptedAccount,
  type ScriptedDeployment,
  type ScriptedJob,
  type ScriptedService,
  type ScriptedTask,
} from '../support/account/index.js';

const MINUTE = 60_000;
/** AWS's record of the change: the parameter's LastModifiedDate. */
const CHANGE = Date.parse('2026-11-20T12:00:00Z');
const NAME = '/app/db/password';
/** As the watcher's rule: a rollout ECS has not updated for this long is not replacing anything. */
const STALLED_AFTER = 30 * MINUTE;
const RUNS = Number(process.env.TIMELINE_RUNS ?? 60);

/** Offsets from the change, in minutes: long before, just before, at, just after, long after. */
const offset = fc.constantFrom(-120, -20, -1, 0, 1, 20, 35);
interface TaskPlan {
  created: number | null;
  startedAfter: number | null;
  status: ScriptedTask['lastStatus'];
  deployment: number;
}
const taskPlan = fc.record({
  created: fc.option(offset, { freq: 6 }),
  startedAfter: fc.option(fc.constantFrom(0, 1, 3, 30), { freq: 3 }),
  status: fc.constantFrom<ScriptedTask['lastStatus']>(
    'PROVISIONING',
    'PENDING',
    'ACTIVATING',
    'RUNNING',
  ),
  deployment: fc.nat(2),
});
const deploymentPlan = fc.record({
  created: offset,
  idleFor: fc.constantFrom(0, 5, 40),
  rollout: fc.constantFrom<ScriptedDeployment['rolloutState'] | undefined>(
    'IN_PROGRESS',
    'COMPLETED',
    'FAILED',
    undefined,
  ),
});
const servicePlan = fc.record({
  status: fc.constantFrom<ScriptedService['status']>(
    'ACTIVE',
    'ACTIVE',
    'ACTIVE',
    'DRAINING',
    'gone',
  ),
  deployments: fc.array(deploymentPlan, { minLength: 1, maxLength: 3 }),
  tasks: fc.array(taskPlan, { minLength: 1, maxLength: 4 }),
});
const jobStatus = fc.constantFrom<ScriptedJob['status']>(
  'SUBMITTED',
  'PENDING',
  'RUNNABLE',
  'STARTING',
  'RUNNING',
);
const jobPlan = fc.record({
  created: offset,
  status: jobStatus,
  /** An array job: its children's statuses and creation offsets. */
  children: fc.option(
    fc.array(fc.record({ status: jobStatus, created: offset }), { maxLength: 4 }),
  ),
});
const timeline = fc.record({
  services: fc.array(servicePlan, { minLength: 1, maxLength: 3 }),
  standalone: fc.array(taskPlan, { maxLength: 2 }),
  jobs: fc.array(jobPlan, { maxLength: 3 }),
  /** Minutes after the change when the watcher first looks. */
  firstLook: fc.constantFrom(1, 10, 40),
});
type Timeline = typeof timeline extends fc.Arbitrary<infer T> ? T : never;

/** The account a timeline describes: one changed parameter that every definition references. */
function build(plan: Timeline): ScriptedAccount {
  const a = emptyAccount(CHANGE + plan.firstLook * MINUTE);
  // Nothing happens after the watcher looks.
  const at = (minutes: number) => Math.min(CHANGE + minutes * MINUTE, a.now);
  a.clusters = ['prod'];
  a.parameters = [{ name: NAME, version: 7, lastModified: CHANGE }];
  a.taskDefinitions = [{ family: 'app', revision: 1, secrets: [{ name: 'DB', valueFrom: NAME }] }];
  a.jobQueues = [{ name: 'q' }];
  a.jobDefinitions = [{ name: 'etl', revision: 1, secrets: [{ name: 'DB', valueFrom: NAME }] }];
  const task = (t: TaskPlan, id: string, group: string, startedBy?: string): ScriptedTask => {
    const created = t.created === null ? undefined : at(t.created);
    const started =
      created !== undefined && t.startedAfter !== null && t.status === 'RUNNING'
        ? created + t.startedAfter * MINUTE
        : undefined;
    return {
      cluster: 'prod',
      id,
      taskDefinition: 'app:1',
      group,
      ...(startedBy ? { startedBy } : {}),
      ...(created !== undefined ? { createdAt: created } : {}),
      ...(started !== undefined ? { startedAt: started } : {}),
      lastStatus: t.status,
      desiredStatus: 'RUNNING',
    };
  };
  plan.services.forEach((service, s) => {
    const name = `svc${s}`;
    const deployments = service.deployments
      .map((d, k): ScriptedDeployment => {
        const created = at(d.created);
        return {
          id: `ecs-svc/${s}${k}`,
          status: 'ACTIVE',
          ...(d.rollout ? { rolloutState: d.rollout } : {}),
          createdAt: created,
          updatedAt: Math.max(created, a.now - d.idleFor * MINUTE),
          taskDefinition: 'app:1',
        };
      })
      .sort((x, y) => y.createdAt - x.createdAt);
    (deployments[0] as ScriptedDeployment).status = 'PRIMARY';
    a.services.push({
      cluster: 'prod',
      name,
      status: service.status,
      desiredCount: service.tasks.length,
      tags: { 'rotation-watcher:action': 'redeploy' },
      deployments,
    });
    service.tasks.forEach((t, k) => {
      const deployment = deployments[t.deployment % deployments.length] as ScriptedDeployment;
      a.tasks.push(task(t, `s${s}t${k}`, `service:${name}`, deployment.id));
    });
  });
  plan.standalone.forEach((t, k) => {
    a.tasks.push(task(t, `solo${k}`, 'family:app'));
  });
  plan.jobs.forEach((job, j) => {
    const id = `job${j}`;
    const parent = job.children !== null;
    a.jobs.push({
      id,
      name: id,
      queue: 'q',
      definition: 'etl:1',
      // An array parent shows only PENDING while its children run.
      status: parent ? 'PENDING' : job.status,
      createdAt: at(job.created),
      ...(job.status === 'RUNNING' && !parent ? { startedAt: at(job.created) + MINUTE } : {}),
      ...(parent ? { arraySize: job.children?.length ?? 0 } : {}),
    });
    job.children?.forEach((child, k) => {
      a.jobs.push({
        id: `${id}:${k}`,
        name: id,
        queue: 'q',
        definition: 'etl:1',
        status: child.status,
        createdAt: at(Math.max(child.created, job.created)),
        arrayParent: id,
        arrayIndex: k,
      });
    });
  });
  return a;
}

/** Whether a container created at `created` may have fetched the value before the change. */
function mayHoldOld(created: number | undefined): boolean {
  return created === undefined || created < CHANGE;
}

/** The oracle's verdict for each consumer name: may any of its containers hold the old value? */
interface Truth {
  holdsOld: boolean;
  /** A rollout begun after the change is replacing its containers. */
  excused: boolean;
  /** A deployment began after the change (replacing, or failed or stalled). */
  deployedAfter: boolean;
}

function oracle(a: ScriptedAccount): Map<string, Truth> {
  const out = new Map<string, Truth>();
  for (const service of a.services) {
    const tasks = a.tasks.filter((t) => t.group === `service:${service.name}`);
    const newest = [...service.deployments].sort((x, y) => y.createdAt - x.createdAt)[0];
    // ECS tells nothing of a service it no longer knows, its deployments included.
    const replacing =
      service.status !== 'gone' &&
      newest !== undefined &&
      newest.createdAt > CHANGE &&
      newest.rolloutState !== 'FAILED' &&
      (newest.rolloutState === 'COMPLETED' || a.now - newest.updatedAt <= STALLED_AFTER);
    out.set(service.name, {
      holdsOld: tasks.some((t) => mayHoldOld(t.createdAt)),
      excused: replacing,
      deployedAfter: service.status !== 'gone' && newest !== undefined && newest.createdAt > CHANGE,
    });
  }
  for (const task of a.tasks.filter((t) => t.group.startsWith('family:')))
    out.set(`family:app ${task.id}`, {
      holdsOld: mayHoldOld(task.createdAt),
      excused: false,
      deployedAfter: false,
    });
  const fetching = (job: ScriptedJob) => job.status === 'STARTING' || job.status === 'RUNNING';
  for (const job of a.jobs.filter((j) => j.arrayParent === undefined)) {
    const runs =
      job.arraySize !== undefined ? a.jobs.filter((c) => c.arrayParent === job.id) : [job];
    out.set(job.name, {
      holdsOld: runs.some((run) => fetching(run) && mayHoldOld(run.createdAt)),
      excused: false,
      deployedAfter: false,
    });
  }
  return out;
}

const scripted = useScriptedAccount();
const { account } = scripted;

/** One Parameter Store Change event for the change, as EventBridge delivers it at `time`. */
function event(n: number, time: number) {
  return parameterChange(NAME, { id: `evt-${n}`, time });
}

async function deliver(
  n: number,
  clients: AwsClients,
  cache: DefinitionCache,
): Promise<PipelineRun> {
  return runPipeline(
    { records: parsePayload(event(n, account.now)) },
    {
      clients,
      cache,
      // All at once: these timelines have no state table (the waves' own timelines are in
      // waves.property.test.ts); what is checked is who is restarted, once.
      settings: readSettings({
        WATCHER_DEFAULT_ACTION: 'notify',
        WATCHER_MAX_ACTIONS: '1000',
        WATCHER_WAVES: 'all',
      }),
      regions: [account.region],
      home: account.region,
      now: () => new Date(account.now),
    },
    { apply: true },
  );
}

describe('verdicts on generated timelines, against an oracle', () => {
  it('never calls fresh a consumer that may hold the old value and is not being replaced, nor stale one created after the change', async () => {
    await fc.assert(
      fc.asyncProperty(timeline, async (plan) => {
        Object.assign(account, build(plan));
        const expected = oracle(account);
        const clients = new AwsClients({ maxAttempts: 1 });
        try {
          const { result } = await deliver(0, clients, new DefinitionCache());
          expect(result.gaps).toEqual([]);
          for (const consumer of result.consumers) {
            const truth = expected.get(consumer.name);
            expect(truth, `the oracle knows ${consumer.name}`).toBeDefined();
            if (!truth) continue;
            if (truth.holdsOld && !truth.excused)
              expect(consumer.stale, `${consumer.name}: ${consumer.staleReason}`).toBe(true);
            if (!truth.holdsOld)
              expect(consumer.stale, `${consumer.name}: ${consumer.staleReason}`).toBe(false);
            if (truth.holdsOld && truth.excused) {
              expect(consumer.stale).toBe(false);
              expect(consumer.cause).toBe('replaced');
            }
          }
          // Every consumer the oracle sees running is found.
          const found = new Set(result.consumers.map((c) => c.name));
          for (const [name] of expected) expect(found.has(name), name).toBe(true);
        } finally {
          clients.destroy();
        }
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('redeploys exactly the services that need it, once, whatever the order, repetition and delay of deliveries and however rollouts go', async () => {
    const delivery = fc.record({
      /** Minutes until the next copy arrives (a late delivery, an archive replay, a re-send). */
      after: fc.constantFrom(1, 2, 10, 45),
      /** Whether the watcher's rollout completes before it, replacing the service's tasks. */
      completes: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        timeline,
        fc.array(delivery, { minLength: 2, maxLength: 6 }),
        async (plan, deliveries) => {
          Object.assign(account, build(plan));
          scripted.server.mutations.length = 0;
          const expected = oracle(account);
          const needs = new Set(
            account.services
              .filter((service) => service.status === 'ACTIVE')
              // Redeployed only when nothing was deployed after the change: a deployment after it
              // that failed or stalled would fail again, so it is for people to look at.
              .filter((service) => {
                const truth = expected.get(service.name);
                return truth?.holdsOld && !truth.excused && !truth.deployedAfter;
              })
              .map((service) => service.name),
          );
          const clients = new AwsClients({ maxAttempts: 1 });
          const cache = new DefinitionCache();
          try {
            for (const [n, { after, completes }] of deliveries.entries()) {
              const { plan: decided } = await deliver(n, clients, cache);
              // A redeploy the watcher already made that then stalls is notified, not forced again.
              for (const decision of decided.decisions.filter((d) => d.basis === 'rollout-stuck'))
                expect(decision.action).toBe('notify');
              account.now += after * MINUTE;
              if (completes) completeRollouts(account);
            }
            const perService = new Map<string, number>();
            for (const update of scripted.server.mutations.filter(
              (m) => m.api === 'ecs:UpdateService',
            )) {
              const name = String(update.input.service).split('/').pop() as string;
              perService.set(name, (perService.get(name) ?? 0) + 1);
            }
            for (const service of account.services)
              expect(perService.get(service.name) ?? 0, service.name).toBe(
                needs.has(service.name) ? 1 : 0,
              );
          } finally {
            clients.destroy();
          }
        },
      ),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  }, 180_000);
});

/**
 * Completes every rollout the watcher started: its deployment COMPLETED, the service's tasks
 * replaced by tasks it created (which read the current value).
 */
function completeRollouts(a: ScriptedAccount): void {
  for (const service of a.services) {
    const newest = service.deployments.find((d) => d.status === 'PRIMARY');
    if (!newest || newest.createdAt <= CHANGE || newest.rolloutState === 'COMPLETED') continue;
    newest.rolloutState = 'COMPLETED';
    newest.updatedAt = a.now;
    const count = a.tasks.filter((t) => t.group === `service:${service.name}`).length;
    a.tasks = a.tasks.filter((t) => t.group !== `service:${service.name}`);
    for (let k = 0; k < count; k++)
      a.tasks.push({
        cluster: service.cluster,
        id: `${service.name}-new-${a.now}-${k}`,
        taskDefinition: newest.taskDefinition,
        group: `service:${service.name}`,
        startedBy: newest.id,
        createdAt: a.now,
        startedAt: a.now,
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
      });
  }
}
