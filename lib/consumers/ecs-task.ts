// Standalone ECS tasks (RunTask, or started by anything but a service's deployment): each task is
// its own consumer, judged as its one run; never restarted, only told about.
import type { Consumer } from '../domain/index.js';
import { lastPart } from '../refs/index.js';
import { describedRun, describeTasks, isRunningTask } from './ecs-reads.js';
import { mutableImages, type ScannedTask, scannedRun, serviceName } from './ecs-scan.js';
import {
  describedByPlace,
  groupBy,
  mergeReferences,
  narrow,
  sightingOf,
  verdictFields,
} from './shared.js';
import { assessConsumer } from './staleness.js';
import type { ConsumerStrategy, KnownConsumer, Look, Reread } from './types.js';

export const ecsTask: ConsumerStrategy = {
  kind: 'ecs-task',

  async find({ tasks }, changes, { now }) {
    // Keyed by ARN: a task listed twice (the same region scanned twice) is one consumer.
    const standalone = groupBy(
      tasks.filter((task) => !serviceName(task)).flatMap((task) => narrow(task, changes)),
      (task) => task.arn,
    );
    return [...standalone.values()].map((members): Consumer => {
      const task = members[0] as ScannedTask;
      const runs = members.map(scannedRun);
      const verdict = ecsTask.judge(runs, changes, now);
      return {
        kind: 'ecs-task',
        arn: task.arn,
        name: `${task.group ?? 'task'} ${lastPart(task.arn)}`,
        region: task.region,
        account: task.account,
        parent: task.cluster,
        references: mergeReferences(runs),
        runs,
        tags: [{ level: 'task', tags: task.tags }],
        ...verdictFields(verdict),
        mutableImages: mutableImages(members),
        service: null,
        job: null,
      };
    });
  },

  judge: (runs, changes, now) => assessConsumer('ecs-task', runs, changes, null, now),

  /** Each task by DescribeTasks, 100 a call per cluster: one ECS no longer knows has stopped. */
  async reread<K extends KnownConsumer>(
    known: K[],
    { change, references, clients, now, gaps }: Look,
  ): Promise<Reread<K>> {
    const seen: Reread<K> = { sightings: [], unread: 0 };
    // A task ECS no longer knows has stopped; one in a failed call is unknown (left out).
    const described = await describedByPlace(
      known,
      gaps,
      (region, cluster, arns) => describeTasks(region, cluster, arns, clients, gaps),
      (task) => task.taskArn,
    );
    for (const { consumer, item: task } of described) {
      const runs = task && isRunningTask(task) ? [describedRun(task, references)] : [];
      seen.sightings.push({
        consumer,
        sighting: sightingOf(runs, ecsTask.judge(runs, [change], now)),
      });
    }
    return seen;
  },
};
