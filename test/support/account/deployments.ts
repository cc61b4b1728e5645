// ECS service deployments as the account's clock moves them on: UpdateService starts one with
// the service's next script, and `advanceDeployments` applies each step of every PRIMARY
// deployment's script whose time has come, stamped with that time, as ECS's rolling update would
// have: new tasks launched, then RUNNING, the old ones drained; or the new tasks failing to start
// and the circuit breaker failing the rollout, and rolling back when asked to.
import { randomUUID } from 'node:crypto';
import type {
  DeploymentScript,
  ScriptedAccount,
  ScriptedDeployment,
  ScriptedService,
  ScriptedTask,
} from './model.js';
import { SECRETS_PULL_FAILURE } from './shared.js';

/** ECS's default stop timeout: how long a stopping task's containers run on. */
const DRAIN_SECONDS = 30;
export const CIRCUIT_BREAKER_FAILURE = 'ECS deployment circuit breaker: tasks failed to start.';

let deploymentsIssued = 0;

/** A deployment id in ECS's form that no service of the account uses yet. */
function freshDeploymentId(a: ScriptedAccount): string {
  const used = new Set(a.services.flatMap((s) => s.deployments.map((d) => d.id)));
  let id: string;
  do id = `ecs-svc/${String(++deploymentsIssued).padStart(19, '9')}`;
  while (used.has(id));
  return id;
}

/** The script the service's next deployment follows: the head of its queue, the last one kept. */
function nextScript(service: ScriptedService): DeploymentScript | undefined {
  const { onDeploy } = service;
  if (!Array.isArray(onDeploy)) return onDeploy;
  return onDeploy.length > 1 ? onDeploy.shift() : onDeploy[0];
}

/**
 * Makes a new PRIMARY deployment of `taskDefinition` at `at`, listed first as ECS lists it; the
 * former PRIMARY turns ACTIVE and keeps its tasks (and the count it had) until it is drained.
 */
export function startDeployment(
  a: ScriptedAccount,
  service: ScriptedService,
  taskDefinition: string,
  at: number,
  script = nextScript(service),
  rolloutStateReason?: string,
): ScriptedDeployment {
  const primary = service.deployments.find((d) => d.status === 'PRIMARY');
  if (primary) {
    primary.desiredCount ??= service.desiredCount;
    primary.status = 'ACTIVE';
  }
  const deployment: ScriptedDeployment = {
    id: freshDeploymentId(a),
    status: 'PRIMARY',
    rolloutState: 'IN_PROGRESS',
    createdAt: at,
    updatedAt: at,
    taskDefinition,
    ...(rolloutStateReason ? { rolloutStateReason } : {}),
    ...(script ? { script, stepsDone: 0 } : {}),
  };
  service.deployments.unshift(deployment);
  return deployment;
}

interface Step {
  /** Epoch milliseconds. */
  at: number;
  run(a: ScriptedAccount, service: ScriptedService, d: ScriptedDeployment, at: number): void;
}

/** The steps of a deployment's script, each at its own time. */
function stepsOf(d: ScriptedDeployment, script: DeploymentScript): Step[] {
  const at = (seconds: number) => d.createdAt + seconds * 1000;
  switch (script.kind) {
    case 'stall':
      return [];
    case 'complete': {
      const drain = script.drain ?? DRAIN_SECONDS;
      return [
        { at: at(0), run: launch },
        { at: at(script.after), run: replace },
        { at: at(script.after + drain), run: complete },
      ];
    }
    case 'fail':
      return [
        { at: at(0), run: launch },
        {
          at: at(script.after),
          run: (a, service, deployment, when) =>
            fail(a, service, deployment, when, script.stoppedReason, script.reason),
        },
      ];
    case 'rollback':
      return [
        { at: at(0), run: launch },
        {
          at: at(script.after),
          run: (a, service, deployment, when) => {
            fail(a, service, deployment, when, script.stoppedReason, CIRCUIT_BREAKER_FAILURE);
            rollBack(a, service, deployment, when, {
              kind: 'complete',
              after: script.completeAfter ?? script.after,
              ...(script.drain !== undefined ? { drain: script.drain } : {}),
            });
          },
        },
      ];
  }
}

/**
 * Applies every step whose time has come, in time order across services (a rollback's new
 * deployment may have steps due already). A deployment no longer PRIMARY stops where it was:
 * ECS abandons it for the newer one, which drains its tasks.
 */
export function advanceDeployments(a: ScriptedAccount): void {
  for (;;) {
    let next: { service: ScriptedService; d: ScriptedDeployment; step: Step } | undefined;
    for (const service of a.services)
      for (const d of service.deployments) {
        if (!d.script || d.status !== 'PRIMARY') continue;
        const step = stepsOf(d, d.script)[d.stepsDone ?? 0];
        if (step && step.at <= a.now && (!next || step.at < next.step.at))
          next = { service, d, step };
      }
    if (!next) return;
    next.d.stepsDone = (next.d.stepsDone ?? 0) + 1;
    next.step.run(a, next.service, next.d, next.step.at);
  }
}

const serviceTasks = (a: ScriptedAccount, service: ScriptedService) =>
  a.tasks.filter(
    (task) => task.cluster === service.cluster && task.group === `service:${service.name}`,
  );

/** The service's desired count of new tasks, PENDING (image and secrets being fetched). */
function launch(a: ScriptedAccount, service: ScriptedService, d: ScriptedDeployment, at: number) {
  for (let k = 0; k < service.desiredCount; k++)
    a.tasks.push({
      cluster: service.cluster,
      id: randomUUID().replaceAll('-', ''),
      taskDefinition: d.taskDefinition,
      group: `service:${service.name}`,
      startedBy: d.id,
      createdAt: at,
      lastStatus: 'PENDING',
      desiredStatus: 'RUNNING',
    });
}

/** The new tasks run; every other task of the service is told to stop (its stop timeout runs). */
function replace(a: ScriptedAccount, service: ScriptedService, d: ScriptedDeployment, at: number) {
  for (const task of serviceTasks(a, service)) {
    if (task.desiredStatus !== 'RUNNING') continue;
    if (task.startedBy === d.id) {
      task.lastStatus = 'RUNNING';
      task.startedAt = at;
    } else {
      task.desiredStatus = 'STOPPED';
      task.lastStatus = 'STOPPING';
      task.stoppingAt = at;
      task.stopCode = 'ServiceSchedulerInitiated';
      task.stoppedReason = `Scaling activity initiated by (deployment ${d.id})`;
    }
  }
  for (const other of service.deployments) if (other !== d) other.desiredCount = 0;
  d.updatedAt = at;
}

/** The old tasks have stopped: the older deployments are INACTIVE, the rollout COMPLETED. */
function complete(a: ScriptedAccount, service: ScriptedService, d: ScriptedDeployment, at: number) {
  for (const task of serviceTasks(a, service))
    if (task.startedBy !== d.id && task.lastStatus === 'STOPPING') stop(task, at);
  for (const other of service.deployments)
    if (other !== d && other.status !== 'INACTIVE') {
      other.status = 'INACTIVE';
      other.updatedAt = at;
    }
  d.rolloutState = 'COMPLETED';
  delete d.rolloutStateReason;
  d.updatedAt = at;
}

/** The new tasks failed to start: the circuit breaker fails the rollout; no task is launched again. */
function fail(
  a: ScriptedAccount,
  service: ScriptedService,
  d: ScriptedDeployment,
  at: number,
  stoppedReason = SECRETS_PULL_FAILURE,
  reason = CIRCUIT_BREAKER_FAILURE,
) {
  let failed = 0;
  for (const task of serviceTasks(a, service)) {
    if (task.startedBy !== d.id || task.desiredStatus !== 'RUNNING') continue;
    task.desiredStatus = 'STOPPED';
    task.stoppingAt = at;
    task.stopCode = 'TaskFailedToStart';
    task.stoppedReason = stoppedReason;
    stop(task, at);
    failed++;
  }
  d.failedTasks = (d.failedTasks ?? 0) + failed;
  d.rolloutState = 'FAILED';
  d.rolloutStateReason = reason;
  d.updatedAt = at;
}

/**
 * The circuit breaker's rollback: a new PRIMARY deployment of the last deployment that completed
 * (the newest other one when none says so), which replaces the tasks as any deployment does.
 */
function rollBack(
  a: ScriptedAccount,
  service: ScriptedService,
  failed: ScriptedDeployment,
  at: number,
  script: DeploymentScript,
) {
  const others = service.deployments
    .filter((d) => d !== failed)
    .sort((x, y) => y.createdAt - x.createdAt);
  const target = others.find((d) => d.rolloutState === 'COMPLETED') ?? others[0];
  if (!target) return;
  startDeployment(
    a,
    service,
    target.taskDefinition,
    at,
    script,
    `ECS deployment circuit breaker: rolling back to deploymentId ${target.id}.`,
  );
}

function stop(task: ScriptedTask, at: number) {
  task.lastStatus = 'STOPPED';
  task.stoppedAt = at;
}
