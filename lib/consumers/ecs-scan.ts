// The scan of every ECS cluster's running tasks, each with its task definition's references and
// images; which of them a service started, and what a scanned task is as a run.

import { DescribeTaskDefinitionCommand, ListClustersCommand } from '@aws-sdk/client-ecs';
import { guarded, isoTime, listAll } from '../aws/reads.js';
import type { CachedDefinition, ConsumerReference, Gap, Run } from '../domain/index.js';
import { accountOf, contextOfArn, taskDefinitionReferences } from '../refs/index.js';
import { describeTasks, isRunningTask, listTaskArns } from './ecs-reads.js';
import { tagRecord, usable } from './shared.js';
import type { ScanDeps } from './types.js';

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

/** Every running task of every cluster in `region`, each with its task definition's references. */
export async function scanEcs(region: string, deps: ScanDeps, gaps: Gap[]): Promise<ScannedTask[]> {
  const { clients } = deps;
  const ecs = clients.get('ecs', region);
  const call = <T>(task: () => Promise<T>) => clients.limited('ecs', region, task);
  const clusters = await listAll(
    gaps,
    { region, scope: 'ecs', api: 'ecs:ListClusters', affects: { kind: 'any' } },
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
        { region, scope: cluster, api: 'ecs:ListTasks', affects: { kind: 'any' } },
        async () => {
          const arns = await listTaskArns(region, cluster, { maxResults: 100 }, clients);
          return describeTasks(region, cluster, arns, clients, gaps, { tags: true });
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
          {
            region,
            scope: arn,
            api: 'ecs:DescribeTaskDefinition',
            affects: { kind: 'any' },
          },
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

/**
 * The service that started a task: its group names the service and its `startedBy` is one of the
 * service's deployments (`ecs-svc/…`). A task started by hand (RunTask) into a service's group is
 * a task no service started: no rollout of the service replaces it.
 */
export function serviceName(task: ScannedTask): string | null {
  if (!task.group?.startsWith('service:')) return null;
  if (task.startedBy !== null && !task.startedBy.startsWith('ecs-svc/')) return null;
  return task.group.slice('service:'.length);
}

/** The images the tasks pull by tag: an image pinned by digest (`@sha256:…`) cannot change. */
export function mutableImages(tasks: ScannedTask[]): string[] {
  return [...new Set(tasks.flatMap((task) => task.images))].filter((image) => !image.includes('@'));
}

/** A scanned task as a run of its consumer. */
export function scannedRun(task: ScannedTask): Run {
  return {
    arn: task.arn,
    definitionArn: task.definitionArn,
    status: task.lastStatus,
    createdAt: task.createdAt,
    startedAt: task.startedAt,
    startedBy: task.startedBy,
    stopping: task.stopping,
    references: task.references,
  };
}
