// A synthetic AWS account for the benchmark: clusters, services, running tasks, task definition
// revisions, Batch queues and jobs, answered with AWS's real response shapes and page limits.
import { type AwsReply, type AwsRequest, awsError } from './aws-wire.js';

export interface AccountSize {
  name: string;
  clusters: number;
  services: number;
  tasks: number;
  /** Task definition revisions in use. */
  revisions: number;
  jobs: number;
  queues: number;
  jobDefinitions: number;
}

export const SIZES: AccountSize[] = [
  {
    name: 'small',
    clusters: 2,
    services: 50,
    tasks: 250,
    revisions: 20,
    jobs: 100,
    queues: 2,
    jobDefinitions: 10,
  },
  {
    name: 'medium',
    clusters: 8,
    services: 300,
    tasks: 1500,
    revisions: 120,
    jobs: 600,
    queues: 3,
    jobDefinitions: 30,
  },
  {
    name: 'large',
    clusters: 20,
    services: 1000,
    tasks: 5000,
    revisions: 400,
    jobs: 2000,
    queues: 4,
    jobDefinitions: 100,
  },
  {
    name: 'extra-large',
    clusters: 50,
    services: 5000,
    tasks: 20000,
    revisions: 2000,
    jobs: 10000,
    queues: 10,
    jobDefinitions: 500,
  },
];

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const ROTATED = '/bench/db/password';
/** Every 100th revision and definition references the rotated parameter: 1% of consumers. */
const REFERENCES_ROTATED = (index: number) => index % 100 === 0;
const STARTED = Date.parse('2026-11-01T00:00:00Z') / 1000;

const cluster = (c: number) => `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/c${c}`;
const taskDefinition = (r: number) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/app${r}:1`;
const jobDefinition = (d: number) => `arn:aws:batch:${REGION}:${ACCOUNT}:job-definition/job${d}:1`;
const queue = (q: number) => `arn:aws:batch:${REGION}:${ACCOUNT}:job-queue/q${q}`;

interface Task {
  arn: string;
  cluster: number;
  service: number;
  revision: number;
}

/** The account as data, and a route answering every call the watcher (or a naive one) makes. */
export function syntheticAccount(size: AccountSize) {
  // Services are spread over clusters; each service runs one revision, tasks spread over services.
  const serviceCluster = (s: number) => s % size.clusters;
  const serviceRevision = (s: number) => Math.floor((s * size.revisions) / size.services);
  const tasksByCluster = new Map<number, Task[]>();
  for (let t = 0; t < size.tasks; t++) {
    const service = t % size.services;
    const c = serviceCluster(service);
    const list = tasksByCluster.get(c) ?? [];
    list.push({
      arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/c${c}/${t.toString(16).padStart(32, '0')}`,
      cluster: c,
      service,
      revision: serviceRevision(service),
    });
    tasksByCluster.set(c, list);
  }
  const tasksByArn = new Map([...tasksByCluster.values()].flat().map((task) => [task.arn, task]));
  const jobDefinitionOf = (j: number) => Math.floor((j * size.jobDefinitions) / size.jobs);
  const jobs = Array.from({ length: size.jobs }, (_, j) => ({
    jobArn: `arn:aws:batch:${REGION}:${ACCOUNT}:job/${j}`,
    jobId: `job-${j}`,
    jobName: `job-${j}`,
    createdAt: (STARTED - 60) * 1000,
    startedAt: STARTED * 1000,
    status: 'RUNNING',
    jobDefinition: jobDefinition(jobDefinitionOf(j)),
    queue: j % size.queues,
  }));
  const jobsById = new Map(jobs.map((job) => [job.jobId, job]));

  const facts = {
    servicesReferencing: Array.from({ length: size.services }, (_, s) => s).filter((s) =>
      REFERENCES_ROTATED(serviceRevision(s)),
    ).length,
    jobsReferencing: jobs.filter((job) =>
      REFERENCES_ROTATED(jobDefinitionOf(Number(job.jobId.slice(4)))),
    ).length,
    tasksByCluster: [...tasksByCluster.values()].map((list) => list.length),
    jobsByQueue: Array.from(
      { length: size.queues },
      (_, q) => jobs.filter((job) => job.queue === q).length,
    ),
  };

  const page = <T>(items: T[], token: unknown, max: number) => {
    const start = Number(token ?? 0) || 0;
    return {
      items: items.slice(start, start + max),
      next: start + max < items.length ? String(start + max) : undefined,
    };
  };

  const route = (request: AwsRequest): AwsReply => {
    const { input } = request;
    switch (`${request.service}:${request.operation}`) {
      case 'ecs:ListClusters': {
        const { items, next } = page(
          Array.from({ length: size.clusters }, (_, c) => cluster(c)),
          input.nextToken,
          Math.min(100, Number(input.maxResults ?? 100)),
        );
        return { body: { clusterArns: items, nextToken: next } };
      }
      case 'ecs:ListTasks': {
        const c = Number(String(input.cluster).split('/c').pop());
        // Every task here is meant to run: none is being stopped.
        const wanted = (input.desiredStatus ?? 'RUNNING') === 'RUNNING';
        const { items, next } = page(
          wanted ? (tasksByCluster.get(c) ?? []).map((task) => task.arn) : [],
          input.nextToken,
          Math.min(100, Number(input.maxResults ?? 100)),
        );
        return { body: { taskArns: items, nextToken: next } };
      }
      case 'ecs:DescribeTasks': {
        const arns = input.tasks as string[];
        if (arns.length > 100) return awsError('InvalidParameterException', 'at most 100 tasks');
        const tasks = arns.flatMap((arn) => {
          const task = tasksByArn.get(arn);
          if (!task) return [];
          return [
            {
              taskArn: task.arn,
              clusterArn: cluster(task.cluster),
              taskDefinitionArn: taskDefinition(task.revision),
              group: `service:svc${task.service}`,
              startedBy: `ecs-svc/${task.service}`,
              lastStatus: 'RUNNING',
              desiredStatus: 'RUNNING',
              createdAt: STARTED - 30,
              startedAt: STARTED,
              launchType: 'FARGATE',
              cpu: '256',
              memory: '512',
              containers: [{ name: 'app', lastStatus: 'RUNNING', image: 'app:1' }],
              tags: [{ key: 'team', value: `t${task.service % 7}` }],
            },
          ];
        });
        return { body: { tasks, failures: [] } };
      }
      case 'ecs:DescribeTaskDefinition': {
        const r = Number(/app(\d+):/.exec(String(input.taskDefinition))?.[1]);
        const secrets = [{ name: 'API_KEY', valueFrom: `/bench/app${r}/api-key` }];
        if (REFERENCES_ROTATED(r)) secrets.push({ name: 'DB_PASSWORD', valueFrom: ROTATED });
        return {
          body: {
            taskDefinition: {
              taskDefinitionArn: taskDefinition(r),
              family: `app${r}`,
              revision: 1,
              status: 'ACTIVE',
              containerDefinitions: [
                {
                  name: 'app',
                  image: 'app:1',
                  memory: 512,
                  secrets,
                  environment: [{ name: 'PORT', value: '8080' }],
                },
              ],
            },
            tags: [],
          },
        };
      }
      case 'ecs:DescribeServices': {
        const names = input.services as string[];
        if (names.length > 10) return awsError('InvalidParameterException', 'at most 10 services');
        const services = names.map((name) => {
          const s = Number(name.replace('svc', ''));
          return {
            serviceName: name,
            serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/c${serviceCluster(s)}/${name}`,
            clusterArn: cluster(serviceCluster(s)),
            status: 'ACTIVE',
            desiredCount: 5,
            runningCount: 5,
            deploymentController: { type: 'ECS' },
            deployments: [
              {
                id: `ecs-svc/${s}`,
                status: 'PRIMARY',
                taskDefinition: taskDefinition(serviceRevision(s)),
                createdAt: STARTED - 120,
                rolloutState: 'COMPLETED',
              },
            ],
            tags: [],
          };
        });
        return { body: { services, failures: [] } };
      }
      case 'batch:DescribeJobQueues': {
        const all = Array.from({ length: size.queues }, (_, q) => ({
          jobQueueName: `q${q}`,
          jobQueueArn: queue(q),
          state: 'ENABLED',
          status: 'VALID',
          priority: 1,
          computeEnvironmentOrder: [],
          tags: {},
        }));
        const { items, next } = page(
          all,
          input.nextToken,
          Math.min(100, Number(input.maxResults ?? 100)),
        );
        return { body: { jobQueues: items, nextToken: next } };
      }
      case 'batch:ListJobs': {
        const q = Number(String(input.jobQueue).split('/q').pop());
        const matching = jobs.filter(
          (job) => job.queue === q && job.status === (input.jobStatus ?? 'RUNNING'),
        );
        const { items, next } = page(
          matching,
          input.nextToken,
          Math.min(1000, Number(input.maxResults ?? 100)),
        );
        return {
          body: { jobSummaryList: items.map(({ queue: _, ...job }) => job), nextToken: next },
        };
      }
      case 'batch:DescribeJobDefinitions': {
        const wanted = (input.jobDefinitions as string[] | undefined) ?? [];
        if (wanted.length > 100) return awsError('ClientException', 'at most 100 job definitions');
        const jobDefinitions = wanted.map((arn) => {
          const d = Number(/job(\d+):/.exec(arn)?.[1]);
          const secrets = [{ name: 'TOKEN', valueFrom: `/bench/job${d}/token` }];
          if (REFERENCES_ROTATED(d)) secrets.push({ name: 'DB_PASSWORD', valueFrom: ROTATED });
          return {
            jobDefinitionName: `job${d}`,
            jobDefinitionArn: arn,
            revision: 1,
            status: 'ACTIVE',
            type: 'container',
            containerProperties: { image: 'job:1', secrets },
            tags: {},
          };
        });
        return { body: { jobDefinitions } };
      }
      case 'batch:DescribeJobs': {
        const ids = input.jobs as string[];
        if (ids.length > 100) return awsError('ClientException', 'at most 100 jobs');
        return {
          body: {
            jobs: ids.flatMap((id) => {
              const job = jobsById.get(id);
              if (!job) return [];
              const { queue: q, ...rest } = job;
              return [
                {
                  ...rest,
                  jobQueue: queue(q),
                  parameters: {},
                  tags: {},
                  container: { image: 'job:1' },
                },
              ];
            }),
          },
        };
      }
      default:
        return awsError(
          'UnknownOperationException',
          `the benchmark account does not answer ${request.service}:${request.operation}`,
        );
    }
  };
  return { route, facts };
}

/** What any watcher needs to know of the account's definitions. */
export type IndexState = 'cold' | 'indexed' | 'in-memory';

/**
 * The fewest calls any watcher must make to find every consumer of one change in this account,
 * by AWS throttle bucket. It follows from what the APIs allow, not from this watcher: to see
 * every running task it must list each cluster's tasks (100 a page) and describe them (100 a
 * call: only DescribeTasks names a task's definition); to know what a definition references it
 * must describe each revision once (ECS takes one a call, Batch 100), or read a persisted index
 * (100 keys a call), or remember it in memory; ListJobs takes one status a call, so each queue
 * costs one list per live status (1,000 a page); it must read the services it may restart (10 a
 * call, per cluster) for their tags and deployments and the matching jobs (100 a call), and
 * AWS's record of the change once (DescribeParameters).
 */
export function lowerBound(
  size: AccountSize,
  facts: ReturnType<typeof syntheticAccount>['facts'],
  index: IndexState,
): { calls: number; byBucket: Record<string, number> } {
  const pages = (n: number, per: number) => Math.max(1, Math.ceil(n / per));
  const byBucket: Record<string, number> = {};
  const add = (bucket: string, calls: number) => {
    byBucket[bucket] = (byBucket[bucket] ?? 0) + calls;
  };
  add('ecs:cluster read', pages(size.clusters, 100));
  // Tasks meant to run (pages), tasks being stopped (one empty page here), and their describes.
  for (const tasks of facts.tasksByCluster)
    add('ecs:cluster resource read', pages(tasks, 100) + 1 + Math.ceil(tasks / 100));
  if (index === 'cold') add('ecs:task definition read', size.revisions);
  const matchingPerCluster = new Map<number, number>();
  for (let s = 0; s < size.services; s++) {
    if (Math.floor((s * size.revisions) / size.services) % 100 === 0)
      matchingPerCluster.set(
        s % size.clusters,
        (matchingPerCluster.get(s % size.clusters) ?? 0) + 1,
      );
  }
  for (const count of matchingPerCluster.values()) add('ecs:service read', Math.ceil(count / 10));
  add('batch:all', pages(size.queues, 100));
  // Five live statuses, one list call each per queue (a page of 1000 at most).
  for (const count of facts.jobsByQueue) add('batch:all', 4 + pages(count, 1000));
  if (index === 'cold') add('batch:all', Math.ceil(size.jobDefinitions / 100));
  add('batch:all', Math.ceil(facts.jobsReferencing / 100));
  if (index === 'indexed')
    add(
      'dynamodb:BatchGetItem',
      Math.ceil(size.revisions / 100) + Math.ceil(size.jobDefinitions / 100),
    );
  add('ssm:DescribeParameters', 1);
  return { calls: Object.values(byBucket).reduce((sum, n) => sum + n, 0), byBucket };
}

/**
 * The least time those calls take when a watcher may use `share` of each throttle bucket (burst
 * `B`, refill `r` a second): the slowest bucket's `(calls - share × B) / (share × r)` seconds.
 */
export function lowerBoundSeconds(
  byBucket: Record<string, number>,
  share: number,
  buckets: Array<{ name: string; burst: number; refill: number }>,
): { seconds: number; bucket: string | null } {
  let worst = { seconds: 0, bucket: null as string | null };
  for (const [name, calls] of Object.entries(byBucket)) {
    const bucket = buckets.find((candidate) => candidate.name === name);
    if (!bucket) continue;
    const seconds = Math.max(0, calls - Math.floor(share * bucket.burst)) / (share * bucket.refill);
    if (seconds > worst.seconds) worst = { seconds, bucket: name };
  }
  return worst;
}
