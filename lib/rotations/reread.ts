import type { JobDetail } from '@aws-sdk/client-batch';
import { ListTasksCommand, type Task } from '@aws-sdk/client-ecs';
import { type AwsClients, allPages } from '../aws/index.js';
import { describeJobs } from '../discovery/batch.js';
import { describeServices, describeTasks, isRunningTask } from '../discovery/ecs.js';
import {
  assessConsumer,
  type ConsumerKind,
  type ConsumerReference,
  type Gap,
  type Run,
  type ServiceDetails,
  serviceDetails,
} from '../discovery/index.js';
import { isoTime } from '../discovery/shared.js';
import type { Change } from '../events/index.js';
import { lastPart, resolveReference } from '../refs/index.js';
import { CLEARED, type Observation, type RecordedConsumer, type RotationRecord } from './record.js';

/**
 * The record's consumers as they are now, reading only them, and judged by discovery's own rule
 * (`assessConsumer`), so a follow-up and discovery never disagree on who may hold the old value:
 * a service's tasks (ListTasks by service name, for both desired statuses: a task being stopped
 * still runs until its last status is STOPPED) and deployments (DescribeServices, 10 a call per
 * cluster), a task (DescribeTasks, 100 a call per cluster), a job (DescribeJobs, 100 a call per
 * region). A consumer whose read failed is not observed (it keeps its state) and the look is
 * incomplete; the others are still observed.
 */
export async function reread(
  record: RotationRecord,
  change: Change,
  clients: AwsClients,
  now: Date,
): Promise<{ observations: Observation[]; complete: boolean }> {
  const gaps: Gap[] = [];
  const open = record.consumers.filter((consumer) => !CLEARED.has(consumer.state));
  const references = referencesOf(record);
  const judge = (
    consumer: RecordedConsumer,
    runs: Run[],
    service: ServiceDetails | null = null,
  ) => {
    const verdict = assessConsumer(consumer.kind as ConsumerKind, runs, [change], service, now);
    return observed(consumer, {
      running: runs.length > 0,
      staleRuns: verdict.staleRuns,
      replacing: verdict.cause === 'replaced',
    });
  };
  const observations: Observation[] = [];
  let unread = 0;
  for (const [where, members] of group(
    open.filter((c) => c.kind === 'ecs-service'),
    place,
  )) {
    const [region = '', cluster = ''] = where.split('|');
    const before = gaps.length;
    const described = await describeServices(
      region,
      cluster,
      members.map((c) => c.arn),
      clients,
      gaps,
    );
    for (const consumer of members) {
      const service = described.find((s) => s.serviceArn === consumer.arn);
      if (!service) {
        if (gaps.length === before) observations.push(observed(consumer, gone));
        continue;
      }
      if (service.status === 'INACTIVE') {
        observations.push(observed(consumer, gone));
        continue;
      }
      const tasks = await serviceTasks(region, cluster, lastPart(consumer.arn), clients);
      if (!tasks) {
        unread++;
        continue;
      }
      const runs = tasks.map((task) => toRun(task, references));
      observations.push(judge(consumer, runs, serviceDetails(cluster, service)));
    }
  }
  for (const [where, members] of group(
    open.filter((c) => c.kind === 'ecs-task'),
    place,
  )) {
    const [region = '', cluster = ''] = where.split('|');
    const before = gaps.length;
    const tasks = await describeTasks(
      region,
      cluster,
      members.map((c) => c.arn),
      clients,
      gaps,
    );
    for (const consumer of members) {
      const task = tasks.find((t) => t.taskArn === consumer.arn);
      // A task ECS no longer knows has stopped; one in a failed call is unknown.
      if (!task && gaps.length > before) continue;
      const runs = task && isRunningTask(task) ? [toRun(task, references)] : [];
      observations.push(judge(consumer, runs));
    }
  }
  for (const [region, members] of group(
    open.filter((c) => c.kind === 'batch-job'),
    (c) => c.region,
  )) {
    const before = gaps.length;
    const jobs = await describeJobs(
      region,
      members.map((c) => lastPart(c.arn)),
      clients,
      gaps,
    );
    for (const consumer of members) {
      const job = jobs.find((j) => j.jobArn === consumer.arn || j.jobId === lastPart(consumer.arn));
      if (!job && gaps.length > before) continue;
      observations.push(jobObservation(consumer, job, references, change, judge));
    }
  }
  // A failed call is a gap; a service whose tasks could not be listed is counted in `unread`.
  return { observations, complete: unread === 0 && gaps.length === 0 };
}

const gone = { running: false, staleRuns: 0, replacing: false };

function observed(
  consumer: RecordedConsumer,
  seen: Pick<Observation, 'running' | 'staleRuns' | 'replacing'>,
): Observation {
  const { arn, kind, name, region, parent, action } = consumer;
  return { arn, kind, name, region, parent, action, ...seen };
}

/**
 * A job: a plain job is judged as discovery judges it. An array or multi-node parent shows only
 * SUBMITTED, PENDING (its children run), RUNNING (nodes) or a final status: until it finishes, it
 * counts as running, and as holding the old value when it was created before the change.
 */
function jobObservation(
  consumer: RecordedConsumer,
  job: JobDetail | undefined,
  references: ConsumerReference[],
  change: Change,
  judge: (consumer: RecordedConsumer, runs: Run[]) => Observation,
): Observation {
  const status = job?.status ?? '';
  if (!job || status === 'SUCCEEDED' || status === 'FAILED') return observed(consumer, gone);
  const createdAt = isoTime(job.createdAt);
  if (job.arrayProperties?.size || job.nodeProperties) {
    const old = createdAt === null || createdAt < change.changedAt;
    return observed(consumer, { running: true, staleRuns: old ? 1 : 0, replacing: false });
  }
  return judge(consumer, [
    {
      arn: job.jobArn ?? consumer.arn,
      definitionArn: job.jobDefinition ?? '',
      status,
      createdAt,
      startedAt: isoTime(job.startedAt),
      startedBy: null,
      stopping: false,
      references,
    },
  ]);
}

/** A service's tasks that still run (any desired status), or `undefined` when they could not be read. */
async function serviceTasks(
  region: string,
  cluster: string,
  serviceName: string,
  clients: AwsClients,
): Promise<Task[] | undefined> {
  const ecs = clients.get('ecs', region);
  try {
    const arns: string[] = [];
    for (const desiredStatus of ['RUNNING', 'STOPPED'] as const)
      arns.push(
        ...(await allPages(async (nextToken) => {
          const page = await clients.limited('ecs', region, () =>
            ecs.send(new ListTasksCommand({ cluster, serviceName, desiredStatus, nextToken })),
          );
          return { items: page.taskArns, next: page.nextToken };
        })),
      );
    if (arns.length === 0) return [];
    const gaps: Gap[] = [];
    const tasks = await describeTasks(region, cluster, [...new Set(arns)], clients, gaps);
    if (gaps.length > 0) return undefined;
    // Only this service's own tasks (some emulators ignore the serviceName filter).
    return tasks.filter(
      (task) =>
        isRunningTask(task) &&
        (task.group === undefined || task.group === `service:${serviceName}`),
    );
  } catch (error) {
    // A deleted service's name is unknown to ListTasks: nothing of it runs.
    if ((error as { name?: string }).name === 'ServiceNotFoundException') return [];
    return undefined;
  }
}

function toRun(task: Task, references: ConsumerReference[]): Run {
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

/**
 * The record's value as a reference its consumers hold: a follow-up reads no task definition, so
 * every run of a recorded consumer counts as reading the value (it did when the record opened).
 */
function referencesOf(record: RotationRecord): ConsumerReference[] {
  const { value } = record;
  const spelled =
    value.arn ??
    (value.service === 'secretsmanager'
      ? `/aws/reference/secretsmanager/${value.name}`
      : value.name);
  const target = {
    ...resolveReference(spelled, { region: value.region, account: value.account }),
    ...(value.stage && value.stage !== 'AWSCURRENT' ? { versionStage: value.stage } : {}),
  };
  return [{ container: null, field: 'record', name: null, valueFrom: spelled, target }];
}

const place = (consumer: RecordedConsumer) => `${consumer.region}|${consumer.parent}`;

function group<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}
