// The ECS reads both ECS kinds use: the one call site of each of ListTasks, DescribeTasks and
// DescribeServices, and what a described task is as a run.

import {
  DescribeServicesCommand,
  type DescribeServicesCommandInput,
  DescribeTasksCommand,
  ListTasksCommand,
  type ListTasksCommandInput,
  type Service,
  type Task,
} from '@aws-sdk/client-ecs';
import { type AwsClients, allPages, chunks } from '../aws/index.js';
import { guarded, isoTime } from '../aws/reads.js';
import type {
  ConsumerReference,
  DeploymentState,
  Gap,
  Run,
  ServiceDetails,
} from '../domain/index.js';

const DESCRIBE_TASKS_MAX = 100;
const DESCRIBE_SERVICES_MAX = 10;

/**
 * The ARNs of a cluster's tasks (all, or one service's), every page, for both desired statuses:
 * tasks being stopped (desired STOPPED, last status not yet) still run their containers, on
 * whatever they read, and ListTasks shows them only under STOPPED. A failed call throws.
 */
export async function listTaskArns(
  region: string,
  cluster: string,
  options: Pick<ListTasksCommandInput, 'serviceName' | 'maxResults'>,
  clients: AwsClients,
): Promise<string[]> {
  const ecs = clients.get('ecs', region);
  const arns: string[] = [];
  for (const desiredStatus of ['RUNNING', 'STOPPED'] as const)
    arns.push(
      ...(await allPages(async (nextToken) => {
        const page = await clients.limited('ecs', region, () =>
          ecs.send(new ListTasksCommand({ cluster, ...options, desiredStatus, nextToken })),
        );
        return { items: page.taskArns, next: page.nextToken };
      })),
    );
  return arns;
}

/** DescribeTasks for tasks of one cluster, 100 a call (with their tags if asked); a failed call is a gap. */
export async function describeTasks(
  region: string,
  cluster: string,
  arns: string[],
  clients: AwsClients,
  gaps: Gap[],
  options: { tags?: boolean } = {},
): Promise<Task[]> {
  const ecs = clients.get('ecs', region);
  // A task unread may be a consumer of anything.
  const where = {
    region,
    scope: cluster,
    api: 'ecs:DescribeTasks',
    affects: { kind: 'any' },
  } as const;
  const batches = await Promise.all(
    chunks(arns, DESCRIBE_TASKS_MAX).map((batch) =>
      guarded(gaps, where, async () => {
        const reply = await clients.limited('ecs', region, () =>
          ecs.send(
            new DescribeTasksCommand({
              cluster,
              tasks: batch,
              ...(options.tags ? { include: ['TAGS' as const] } : {}),
            }),
          ),
        );
        // MISSING: ECS no longer knows the task (it stopped long ago). Any other failure leaves
        // a task unread, which is not the same as gone.
        for (const failure of reply.failures ?? [])
          if (failure.reason !== 'MISSING')
            gaps.push({
              ...where,
              error: `${failure.arn ?? 'a task'}: ${failure.reason ?? 'failed'}${failure.detail ? ` (${failure.detail})` : ''}`,
            });
        return reply.tasks ?? [];
      }),
    ),
  );
  return batches.flatMap((batch) => batch ?? []);
}

/** DescribeServices for the named services of one cluster, 10 a call, with their tags; a failed call is a gap. */
export async function describeServices(
  region: string,
  cluster: string,
  names: string[],
  clients: AwsClients,
  gaps: Gap[],
): Promise<Service[]> {
  // The services of tasks already found: only their consumers' changes are in doubt.
  const where = {
    region,
    scope: cluster,
    api: 'ecs:DescribeServices',
    affects: { kind: 'consumers', region, parent: cluster },
  } as const;
  const batches = await Promise.all(
    chunks(names, DESCRIBE_SERVICES_MAX).map((batch) =>
      guarded(gaps, where, () =>
        servicesNamed(region, { cluster, services: batch, include: ['TAGS'] }, clients),
      ),
    ),
  );
  return batches.flatMap((batch) => batch ?? []);
}

/** One service as ECS reports it now, without its tags; a failed call throws (a restart's read-back). */
export async function readService(
  region: string,
  cluster: string,
  service: string,
  clients: AwsClients,
): Promise<Service | undefined> {
  return (await servicesNamed(region, { cluster, services: [service] }, clients))[0];
}

/** A service as the watcher judges it: its status, controller and deployments, newest first. */
export function serviceDetails(cluster: string, service: Service | undefined): ServiceDetails {
  if (!service)
    return {
      cluster,
      status: 'MISSING',
      deploymentController: 'ECS',
      deployments: [],
      desiredCount: 0,
    };
  const deployments = (service.deployments ?? [])
    .map(
      (deployment): DeploymentState => ({
        id: deployment.id ?? '?',
        status: deployment.status ?? '?',
        rolloutState: deployment.rolloutState ?? null,
        createdAt: deployment.createdAt?.toISOString() ?? null,
        updatedAt: deployment.updatedAt?.toISOString() ?? null,
      }),
    )
    .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  const status = service.status;
  return {
    cluster,
    status: status === 'DRAINING' || status === 'INACTIVE' ? status : 'ACTIVE',
    deploymentController: service.deploymentController?.type ?? 'ECS',
    deployments,
    desiredCount: service.desiredCount ?? 0,
  };
}

/** A task runs its containers until its last status is STOPPED, whatever its desired status. */
export function isRunningTask(task: Pick<Task, 'lastStatus'>): boolean {
  return task.lastStatus !== 'STOPPED';
}

/** A task as ECS describes it, as a run holding `references` (a follow-up reads no definition). */
export function describedRun(task: Task, references: ConsumerReference[]): Run {
  return {
    arn: task.taskArn ?? '',
    definitionArn: task.taskDefinitionArn ?? '',
    status: task.lastStatus ?? 'UNKNOWN',
    createdAt: isoTime(task.createdAt),
    startedAt: isoTime(task.startedAt),
    startedBy: task.startedBy ?? null,
    stopping: task.desiredStatus === 'STOPPED',
    references,
  };
}

/** The one DescribeServices call site. */
async function servicesNamed(
  region: string,
  input: DescribeServicesCommandInput,
  clients: AwsClients,
): Promise<Service[]> {
  const ecs = clients.get('ecs', region);
  const reply = await clients.limited('ecs', region, () =>
    ecs.send(new DescribeServicesCommand(input)),
  );
  return reply.services ?? [];
}

/** Services of one cluster as ECS reports them now (no tags), 10 a call; a failed call throws. */
export async function servicesNow(
  region: string,
  cluster: string,
  services: string[],
  clients: AwsClients,
): Promise<Service[]> {
  const replies = await Promise.all(
    chunks(services, DESCRIBE_SERVICES_MAX).map((batch) =>
      servicesNamed(region, { cluster, services: batch }, clients),
    ),
  );
  return replies.flat();
}

/**
 * The stopped tasks of one deployment (ECS's `startedBy` is the deployment id), as ECS still
 * lists them (for an hour or more after they stop); a failed call throws.
 */
export async function stoppedTasksOf(
  region: string,
  cluster: string,
  deploymentId: string,
  clients: AwsClients,
): Promise<Task[]> {
  const ecs = clients.get('ecs', region);
  const arns = await allPages(async (nextToken) => {
    const page = await clients.limited('ecs', region, () =>
      ecs.send(
        new ListTasksCommand({
          cluster,
          startedBy: deploymentId,
          desiredStatus: 'STOPPED',
          nextToken,
        }),
      ),
    );
    return { items: page.taskArns, next: page.nextToken };
  });
  const gaps: Gap[] = [];
  const tasks = await describeTasks(region, cluster, arns.slice(0, 100), clients, gaps);
  if (gaps.length > 0) throw new Error(`DescribeTasks failed: ${gaps[0]?.error}`);
  return tasks;
}
