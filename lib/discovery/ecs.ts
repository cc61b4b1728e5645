import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListClustersCommand,
  ListTasksCommand,
  type Service,
  type Task,
} from '@aws-sdk/client-ecs';
import { type AwsClients, allPages, chunks } from '../aws/index.js';
import { accountOf, contextOfArn, taskDefinitionReferences } from '../refs/index.js';
import type { CachedDefinition, DefinitionCache } from './cache.js';
import { guarded, isoTime, listAll, tagRecord, usable } from './shared.js';
import type { ConsumerReference, Gap, Progress } from './types.js';

/** A task ECS reports as meant to be running, with the references of its task definition. */
export interface ScannedTask {
  arn: string;
  region: string;
  account: string | null;
  cluster: string;
  /** `service:NAME` for a service's tasks, `family:NAME` for standalone ones. */
  group: string | null;
  lastStatus: string;
  /** ECS is stopping it (desired status STOPPED): its containers run until its last status is. */
  stopping: boolean;
  /** When the task was created: the agent fetches its secrets at some moment after this. */
  createdAt: string | null;
  startedAt: string | null;
  /** The deployment that started it, for a service's task. */
  startedBy: string | null;
  definitionArn: string;
  tags: Record<string, string>;
  references: ConsumerReference[];
  /** The images of its task definition's containers. */
  images: string[];
}

export interface ScanDeps {
  clients: AwsClients;
  cache: DefinitionCache;
  onProgress?: (progress: Progress) => void;
}

const DESCRIBE_TASKS_MAX = 100;
const DESCRIBE_SERVICES_MAX = 10;

/** Every running task of every cluster in `region`, each with its task definition's references. */
export async function scanEcs(region: string, deps: ScanDeps, gaps: Gap[]): Promise<ScannedTask[]> {
  const { clients } = deps;
  const ecs = clients.get('ecs', region);
  const call = <T>(task: () => Promise<T>) => clients.limited('ecs', region, task);
  const clusters = await listAll(
    gaps,
    { region, scope: 'ecs', api: 'ecs:ListClusters' },
    call,
    async (nextToken) => {
      const page = await ecs.send(new ListClustersCommand({ nextToken, maxResults: 100 }));
      return { items: page.clusterArns, next: page.nextToken };
    },
  );
  if (!clusters) return [];
  let done = 0;
  const perCluster = await Promise.all(
    clusters.map(async (cluster) => {
      const tasks = await guarded(
        gaps,
        { region, scope: cluster, api: 'ecs:ListTasks' },
        async () => {
          // Tasks being stopped (desired STOPPED, last status not yet) still run their
          // containers, on whatever they read: ListTasks shows them only under STOPPED.
          const arns: string[] = [];
          for (const desiredStatus of ['RUNNING', 'STOPPED'] as const)
            arns.push(
              ...(await allPages(async (nextToken) => {
                const page = await call(() =>
                  ecs.send(
                    new ListTasksCommand({ cluster, desiredStatus, nextToken, maxResults: 100 }),
                  ),
                );
                return { items: page.taskArns, next: page.nextToken };
              })),
            );
          const described = await Promise.all(
            chunks(arns, DESCRIBE_TASKS_MAX).map((batch) =>
              guarded(gaps, { region, scope: cluster, api: 'ecs:DescribeTasks' }, async () => {
                const reply = await call(() =>
                  ecs.send(new DescribeTasksCommand({ cluster, tasks: batch, include: ['TAGS'] })),
                );
                return reply.tasks ?? [];
              }),
            ),
          );
          return described.flatMap((batch) => batch ?? []);
        },
      );
      deps.onProgress?.({ region, phase: 'ECS clusters', done: ++done, total: clusters.length });
      // A task names its own cluster; trust that over the list it came from (moto 5.2 lists
      // other clusters' tasks too when filtering by status).
      return (tasks ?? []).map((task) => ({ task, cluster: task.clusterArn ?? cluster }));
    }),
  );
  // Each task once, even if two list calls returned it.
  const seen = new Set<string>();
  const found = perCluster
    .flat()
    .filter(({ task }) => task.taskArn && task.taskDefinitionArn && isRunningTask(task))
    .filter(({ task }) => !seen.has(task.taskArn as string) && seen.add(task.taskArn as string));
  const definitions = await taskDefinitions(
    found.map(({ task }) => task.taskDefinitionArn as string),
    region,
    deps,
    gaps,
  );
  return found.map(({ task, cluster }) => {
    const definitionArn = task.taskDefinitionArn as string;
    return {
      arn: task.taskArn as string,
      region,
      account: accountOf(task.taskArn as string),
      cluster,
      group: task.group ?? null,
      lastStatus: task.lastStatus ?? 'UNKNOWN',
      stopping: task.desiredStatus === 'STOPPED',
      createdAt: isoTime(task.createdAt),
      startedAt: isoTime(task.startedAt),
      startedBy: task.startedBy ?? null,
      definitionArn,
      tags: tagRecord(task.tags),
      references: usable(definitions.get(definitionArn)?.references ?? []),
      images: definitions.get(definitionArn)?.images ?? [],
    };
  });
}

/** Describes each task definition ARN not yet in the cache, one call each (the API takes one). */
function taskDefinitions(
  arns: string[],
  region: string,
  deps: ScanDeps,
  gaps: Gap[],
): Promise<Map<string, CachedDefinition>> {
  const { clients, cache } = deps;
  const ecs = clients.get('ecs', region);
  return cache.getMany(arns, async (missing) => {
    const found = new Map<string, CachedDefinition>();
    const failed: string[] = [];
    await Promise.all(
      missing.map(async (arn) => {
        const reply = await guarded(
          gaps,
          { region, scope: arn, api: 'ecs:DescribeTaskDefinition' },
          () =>
            clients.limited('ecs', region, () =>
              ecs.send(
                new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }),
              ),
            ),
        );
        if (!reply) failed.push(arn);
        else if (reply.taskDefinition) {
          found.set(arn, {
            arn,
            references: taskDefinitionReferences(reply.taskDefinition, contextOfArn(arn)),
            tags: tagRecord(reply.tags),
            images: (reply.taskDefinition.containerDefinitions ?? []).flatMap((container) =>
              container.image ? [container.image] : [],
            ),
          });
        }
      }),
    );
    return { found, failed };
  });
}

/** DescribeServices for the named services of one cluster, 10 a call, with their tags. */
export async function describeServices(
  region: string,
  cluster: string,
  names: string[],
  clients: AwsClients,
  gaps: Gap[],
): Promise<Service[]> {
  const ecs = clients.get('ecs', region);
  const batches = await Promise.all(
    chunks(names, DESCRIBE_SERVICES_MAX).map((batch) =>
      guarded(gaps, { region, scope: cluster, api: 'ecs:DescribeServices' }, async () => {
        const reply = await clients.limited('ecs', region, () =>
          ecs.send(new DescribeServicesCommand({ cluster, services: batch, include: ['TAGS'] })),
        );
        return reply.services ?? [];
      }),
    ),
  );
  return batches.flatMap((batch) => batch ?? []);
}

/** A task runs its containers until its last status is STOPPED, whatever its desired status. */
export function isRunningTask(task: Pick<Task, 'lastStatus'>): boolean {
  return task.lastStatus !== 'STOPPED';
}

/** DescribeTasks for tasks of one cluster, 100 a call; a failed call is a gap. */
export async function describeTasks(
  region: string,
  cluster: string,
  arns: string[],
  clients: AwsClients,
  gaps: Gap[],
): Promise<Task[]> {
  const ecs = clients.get('ecs', region);
  const batches = await Promise.all(
    chunks(arns, DESCRIBE_TASKS_MAX).map((batch) =>
      guarded(gaps, { region, scope: cluster, api: 'ecs:DescribeTasks' }, async () => {
        const reply = await clients.limited('ecs', region, () =>
          ecs.send(new DescribeTasksCommand({ cluster, tasks: batch })),
        );
        return reply.tasks ?? [];
      }),
    ),
  );
  return batches.flatMap((batch) => batch ?? []);
}
