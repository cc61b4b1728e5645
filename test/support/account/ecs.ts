// ECS as the scripted account answers it: clusters, tasks, task definitions and services, and
// UpdateService's forced deployments applied to the model at the account's clock (deployments.ts
// moves them on when the service scripts what they do).
import type { AwsReply } from '../wire.js';
import { advanceDeployments, CIRCUIT_BREAKER_FAILURE, startDeployment } from './deployments.js';
import type {
  ScriptedAccount,
  ScriptedDeployment,
  ScriptedService,
  ScriptedTask,
} from './model.js';
import {
  arns,
  firstById,
  type Input,
  lastPart,
  list,
  page,
  reject,
  seconds,
  tagList,
} from './shared.js';

const INVALID = 'InvalidParameterException';

/** Clusters exist when listed or when a service or task names them (tests need not list both). */
function clusters(a: ScriptedAccount): string[] {
  return [
    ...new Set([
      ...a.clusters,
      ...a.services.map((service) => service.cluster),
      ...a.tasks.map((task) => task.cluster),
    ]),
  ];
}

/** The cluster a request names (name or ARN; ECS's `default` when none). */
function clusterOf(a: ScriptedAccount, input: Input): string {
  const name = lastPart(input.cluster ?? 'default');
  if (!clusters(a).includes(name)) reject('ClusterNotFoundException', 'Cluster not found.');
  return name;
}

const familyOf = (ref: string) => ref.split(':')[0];
const includesTags = (input: Input) => list(input.include).includes('TAGS');

/** Containers report PENDING, RUNNING or STOPPED, not the task's finer lifecycle states. */
function containerStatus(task: ScriptedTask): string {
  if (task.lastStatus === 'STOPPED' || task.lastStatus === 'DEPROVISIONING') return 'STOPPED';
  // STOPPING: the containers were told to stop and run until their stop timeout.
  if (['RUNNING', 'DEACTIVATING', 'STOPPING'].includes(task.lastStatus)) return 'RUNNING';
  return 'PENDING';
}

function taskView(a: ScriptedAccount, task: ScriptedTask, tags: boolean) {
  const arn = arns(a);
  const taskArn = arn.task(task.cluster, task.id);
  return {
    taskArn,
    clusterArn: arn.cluster(task.cluster),
    taskDefinitionArn: arn.taskDefinition(task.taskDefinition),
    group: task.group,
    ...(task.startedBy !== undefined ? { startedBy: task.startedBy } : {}),
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus,
    ...(task.createdAt !== undefined ? { createdAt: seconds(task.createdAt) } : {}),
    ...(task.startedAt !== undefined ? { startedAt: seconds(task.startedAt) } : {}),
    ...(task.stoppingAt !== undefined ? { stoppingAt: seconds(task.stoppingAt) } : {}),
    ...(task.stoppedAt !== undefined ? { stoppedAt: seconds(task.stoppedAt) } : {}),
    ...(task.stopCode !== undefined ? { stopCode: task.stopCode } : {}),
    ...(task.stoppedReason !== undefined ? { stoppedReason: task.stoppedReason } : {}),
    launchType: 'FARGATE',
    containers: [{ name: 'app', taskArn, lastStatus: containerStatus(task) }],
    ...(tags ? { tags: tagList(task.tags) } : {}),
  };
}

const ROLLOUT_REASONS = {
  IN_PROGRESS: (id: string) => `ECS deployment ${id} in progress.`,
  COMPLETED: (id: string) => `ECS deployment ${id} completed.`,
  FAILED: () => CIRCUIT_BREAKER_FAILURE,
};

function serviceView(a: ScriptedAccount, service: ScriptedService, tags: boolean) {
  const arn = arns(a);
  const own = a.tasks.filter(
    (task) =>
      task.cluster === service.cluster &&
      task.group === `service:${service.name}` &&
      task.desiredStatus === 'RUNNING',
  );
  const running = (tasks: ScriptedTask[]) =>
    tasks.filter((task) => task.lastStatus === 'RUNNING').length;
  const pending = (tasks: ScriptedTask[]) =>
    tasks.filter((task) => ['PROVISIONING', 'PENDING', 'ACTIVATING'].includes(task.lastStatus))
      .length;
  // Counts the model leaves out follow from its tasks, so tests script only what they test.
  const deployment = (d: ScriptedDeployment) => ({
    id: d.id,
    status: d.status,
    taskDefinition: arn.taskDefinition(d.taskDefinition),
    desiredCount: d.desiredCount ?? (d.status === 'PRIMARY' ? service.desiredCount : 0),
    runningCount: d.runningCount ?? running(own.filter((task) => task.startedBy === d.id)),
    pendingCount: pending(own.filter((task) => task.startedBy === d.id)),
    failedTasks: d.failedTasks ?? 0,
    createdAt: seconds(d.createdAt),
    updatedAt: seconds(d.updatedAt),
    launchType: 'FARGATE',
    ...(d.rolloutState
      ? {
          rolloutState: d.rolloutState,
          rolloutStateReason: d.rolloutStateReason ?? ROLLOUT_REASONS[d.rolloutState](d.id),
        }
      : {}),
  });
  return {
    serviceArn: arn.service(service.cluster, service.name),
    serviceName: service.name,
    clusterArn: arn.cluster(service.cluster),
    // `gone` never reaches here: DescribeServices answers MISSING for it.
    status: service.status,
    desiredCount: service.desiredCount,
    runningCount: running(own),
    pendingCount: pending(own),
    launchType: 'FARGATE',
    deploymentController: { type: service.controller ?? 'ECS' },
    deployments: service.deployments.map(deployment),
    ...(tags ? { tags: tagList(service.tags) } : {}),
  };
}

function findService(a: ScriptedAccount, cluster: string, ref: unknown) {
  const name = lastPart(ref);
  return a.services.find(
    (service) => service.cluster === cluster && service.name === name && service.status !== 'gone',
  );
}

/** The task definition a reference names: an ARN, `family:revision`, or a family's latest. */
function taskDefinitionOf(a: ScriptedAccount, ref: unknown) {
  const [family, revision] = lastPart(ref).split(':');
  return a.taskDefinitions
    .filter((d) => d.family === family && (revision === undefined || d.revision === +revision))
    .reduce<ScriptedAccount['taskDefinitions'][number] | undefined>(
      (latest, d) => (latest && latest.revision > d.revision ? latest : d),
      undefined,
    );
}

function updateService(a: ScriptedAccount, input: Input): AwsReply {
  const cluster = clusterOf(a, input);
  const service = findService(a, cluster, input.service);
  if (!service) return reject('ServiceNotFoundException', 'Service not found.');
  if (service.status !== 'ACTIVE')
    return reject('ServiceNotActiveException', 'Service was not ACTIVE.');
  const primary = service.deployments.find((d) => d.status === 'PRIMARY');
  let taskDefinition = primary?.taskDefinition;
  if (input.taskDefinition !== undefined) {
    const found = taskDefinitionOf(a, input.taskDefinition);
    if (!found) return reject('ClientException', 'TaskDefinition not found.');
    taskDefinition = `${found.family}:${found.revision}`;
  }
  if (typeof input.desiredCount === 'number') service.desiredCount = input.desiredCount;
  if (input.forceNewDeployment === true || taskDefinition !== primary?.taskDefinition) {
    if (!taskDefinition) return reject(INVALID, 'The service has no task definition.');
    startDeployment(a, service, taskDefinition, a.now);
    // A script's first step (launching the new tasks) is due at once.
    advanceDeployments(a);
  }
  return { body: { service: serviceView(a, service, false) } };
}

export function ecsRoute(a: ScriptedAccount, operation: string, input: Input): AwsReply | null {
  const arn = arns(a);
  switch (operation) {
    case 'ListClusters': {
      const spec = { limit: 100, fallback: 100, error: INVALID };
      const { items, next } = page(a, clusters(a), input, spec);
      return { body: { clusterArns: items.map(arn.cluster), nextToken: next } };
    }
    case 'ListTasks': {
      const cluster = clusterOf(a, input);
      const desired = String(input.desiredStatus ?? 'RUNNING');
      const service = input.serviceName === undefined ? undefined : lastPart(input.serviceName);
      const tasks = a.tasks.filter(
        (task) =>
          task.cluster === cluster &&
          task.desiredStatus === desired &&
          (service === undefined || task.group === `service:${service}`) &&
          (input.family === undefined || familyOf(task.taskDefinition) === input.family) &&
          (input.startedBy === undefined || task.startedBy === input.startedBy),
      );
      const spec = { limit: 100, fallback: 100, error: INVALID };
      const { items, next } = page(a, tasks, input, spec);
      return {
        body: { taskArns: items.map((t) => arn.task(t.cluster, t.id)), nextToken: next },
      };
    }
    case 'DescribeTasks': {
      const wanted = list(input.tasks);
      if (wanted.length === 0 || wanted.length > 100)
        return reject(INVALID, 'Tasks must contain between 1 and 100 items.');
      const cluster = clusterOf(a, input);
      const tasks = [];
      const failures = [];
      // One pass over the account, not one a task: the bench's accounts hold 20,000 tasks.
      const byId = firstById(a.tasks.filter((t) => t.cluster === cluster));
      for (const ref of wanted) {
        const task = byId.get(lastPart(ref));
        if (task) tasks.push(taskView(a, task, includesTags(input)));
        else failures.push({ arn: ref, reason: 'MISSING' });
      }
      return { body: { tasks, failures } };
    }
    case 'DescribeTaskDefinition': {
      const found = taskDefinitionOf(a, input.taskDefinition);
      if (!found) return reject('ClientException', 'Unable to describe task definition.');
      const ref = `${found.family}:${found.revision}`;
      return {
        body: {
          taskDefinition: {
            taskDefinitionArn: arn.taskDefinition(ref),
            family: found.family,
            revision: found.revision,
            status: 'ACTIVE',
            containerDefinitions: [
              { name: 'app', image: 'app:1', memory: 512, essential: true, secrets: found.secrets },
            ],
          },
          tags: [],
        },
      };
    }
    case 'DescribeServices': {
      const wanted = list(input.services);
      if (wanted.length === 0 || wanted.length > 10)
        return reject(INVALID, 'Services must contain between 1 and 10 items.');
      const cluster = clusterOf(a, input);
      const services = [];
      const failures = [];
      for (const ref of wanted) {
        const service = findService(a, cluster, ref);
        if (service) services.push(serviceView(a, service, includesTags(input)));
        else
          failures.push({
            arn: ref.startsWith('arn:') ? ref : arn.service(cluster, ref),
            reason: 'MISSING',
          });
      }
      return { body: { services, failures } };
    }
    case 'UpdateService':
      return updateService(a, input);
    default:
      return null;
  }
}
