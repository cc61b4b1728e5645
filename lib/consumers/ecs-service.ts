// ECS services: found from the scanned tasks a deployment started, judged from their tasks and
// deployments, looked at again by service, restarted by a forced new deployment.

import type { Service, Task } from '@aws-sdk/client-ecs';
import { type AwsClients, classifyAwsError } from '../aws/index.js';
import type { Consumer, Gap } from '../domain/index.js';
import { lastPart, siblingArn } from '../refs/index.js';
import {
  describedRun,
  describeServices,
  describeTasks,
  isRunningTask,
  listTaskArns,
  serviceDetails,
} from './ecs-reads.js';
import { redeploy } from './ecs-redeploy.js';
import { mutableImages, type ScannedTask, scannedRun, serviceName } from './ecs-scan.js';
import {
  describedByPlace,
  mergeReferences,
  narrow,
  sightingOf,
  tagRecord,
  verdictFields,
} from './shared.js';
import { assessConsumer } from './staleness.js';
import type { ConsumerStrategy, KnownConsumer, Look, Reread } from './types.js';

export const ecsService: ConsumerStrategy = {
  kind: 'ecs-service',

  async find({ tasks }, changes, { clients, gaps, now }) {
    const members = tasks.filter((task) => serviceName(task)).flatMap((t) => narrow(t, changes));
    const services = await servicesOf(members, clients, gaps);
    const groups = new Map<string, ScannedTask[]>();
    for (const task of members) {
      const key = `${task.cluster}|${serviceName(task)}`;
      groups.set(key, [...(groups.get(key) ?? []), task]);
    }
    return [...groups].map(([key, group]): Consumer => {
      const first = group[0] as ScannedTask;
      const name = serviceName(first) as string;
      const runs = group.map(scannedRun);
      const described = services.get(key);
      // Unreadable (the DescribeServices call failed) is not the same as gone (AWS says MISSING).
      const unreadable = gaps.some(
        (gap) => gap.api === 'ecs:DescribeServices' && gap.scope === first.cluster,
      );
      const details = described || !unreadable ? serviceDetails(first.cluster, described) : null;
      const verdict = ecsService.judge(runs, changes, now, details);
      return {
        kind: 'ecs-service',
        arn:
          described?.serviceArn ??
          siblingArn(first.cluster, `service/${lastPart(first.cluster)}/${name}`),
        name,
        region: first.region,
        account: first.account,
        parent: first.cluster,
        references: mergeReferences(runs),
        runs,
        tags: [{ level: 'service', tags: tagRecord(described?.tags) }],
        ...verdictFields(verdict),
        mutableImages: mutableImages(group),
        staleReason: described
          ? verdict.reason
          : `${verdict.reason} (${details ? 'DescribeServices says the service does not exist' : 'DescribeServices failed: deployments unknown'})`,
        service: details,
        job: null,
      };
    });
  },

  judge: (runs, changes, now, service = null) =>
    assessConsumer('ecs-service', runs, changes, service, now),

  /**
   * Each service's deployments (DescribeServices, 10 a call per cluster) and tasks (ListTasks by
   * service name, for both desired statuses: a task being stopped still runs until its last
   * status is STOPPED).
   */
  async reread<K extends KnownConsumer>(
    known: K[],
    { change, references, clients, now, gaps }: Look,
  ): Promise<Reread<K>> {
    const seen: Reread<K> = { sightings: [], unread: 0 };
    const described = await describedByPlace(
      known,
      gaps,
      (region, cluster, arns) => describeServices(region, cluster, arns, clients, gaps),
      (service) => service.serviceArn,
    );
    for (const { consumer, region, parent: cluster, item: service } of described) {
      // A deleted service (INACTIVE, or unknown to ECS) may still have tasks being stopped,
      // running their containers on what they read: they are looked for by the service's group.
      const deleted = !service || service.status === 'INACTIVE';
      const tasks = await serviceTasks(region, cluster, lastPart(consumer.arn), clients, deleted);
      if (!tasks) {
        seen.unread++;
        continue;
      }
      const runs = tasks.map((task) => describedRun(task, references));
      const verdict = ecsService.judge(runs, [change], now, serviceDetails(cluster, service));
      seen.sightings.push({ consumer, sighting: sightingOf(runs, verdict) });
    }
    return seen;
  },

  restart: redeploy,
};

/** The services that started the tasks, by `CLUSTER|NAME`: one DescribeServices per cluster. */
async function servicesOf(
  tasks: ScannedTask[],
  clients: AwsClients,
  gaps: Gap[],
): Promise<Map<string, Service>> {
  const byCluster = new Map<string, { region: string; cluster: string; names: Set<string> }>();
  for (const task of tasks) {
    const name = serviceName(task);
    if (!name) continue;
    const entry = byCluster.get(task.cluster) ?? {
      region: task.region,
      cluster: task.cluster,
      names: new Set<string>(),
    };
    entry.names.add(name);
    byCluster.set(task.cluster, entry);
  }
  const found = new Map<string, Service>();
  await Promise.all(
    [...byCluster.values()].map(async ({ region, cluster, names }) => {
      for (const service of await describeServices(region, cluster, [...names], clients, gaps)) {
        if (service.serviceName) found.set(`${cluster}|${service.serviceName}`, service);
      }
    }),
  );
  return found;
}

/** A service's tasks that still run (any desired status), or `undefined` when they could not be read. */
async function serviceTasks(
  region: string,
  cluster: string,
  serviceName: string,
  clients: AwsClients,
  deleted: boolean,
): Promise<Task[] | undefined> {
  const group = `service:${serviceName}`;
  try {
    // ListTasks knows a service by name only while it exists: a deleted one's tasks are the
    // cluster's tasks of its group.
    const arns = await listTaskArns(region, cluster, deleted ? {} : { serviceName }, clients);
    if (arns.length === 0) return [];
    const gaps: Gap[] = [];
    const tasks = await describeTasks(region, cluster, [...new Set(arns)], clients, gaps);
    if (gaps.length > 0) return undefined;
    // Only this service's own tasks (some emulators ignore the serviceName filter).
    return tasks.filter(
      (task) => isRunningTask(task) && (task.group === undefined ? !deleted : task.group === group),
    );
  } catch (error) {
    const failure = classifyAwsError(error, 'ecs');
    if (!deleted && failure.kind === 'not-found' && failure.missing === 'service')
      return serviceTasks(region, cluster, serviceName, clients, true);
    return undefined;
  }
}
