// Synthetic accounts for the bench: clusters, services, running tasks, task definition revisions,
// Batch queues, job definitions and jobs in four sizes, built as a scripted account (model.ts), so
// that the bench and the tests read one model of AWS through one server.
import { emptyAccount, type ScriptedAccount, type ScriptedSecretRef } from './model.js';

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
const STARTED = Date.parse('2026-11-01T00:00:00Z');
/** When the rotated parameter last changed: the time of the bench's first change event. */
export const ROTATED_AT = Date.parse('2026-11-20T00:00:00Z');

/** What the bench knows of the account it built: the consumers to find and how work spreads. */
export interface SyntheticFacts {
  servicesReferencing: number;
  jobsReferencing: number;
  /** Tasks in each cluster, in cluster order. */
  tasksByCluster: number[];
  /** Jobs in each queue, in queue order. */
  jobsByQueue: number[];
}

/**
 * A scripted account of `size`: services spread over clusters, each running one revision; tasks
 * spread over services (round robin), each started by its service's one completed deployment;
 * jobs spread over queues and definitions, all RUNNING. 1% of revisions and job definitions
 * reference `ROTATED`, which exists as a parameter last changed at `ROTATED_AT`.
 */
export function syntheticAccount(size: AccountSize): {
  account: ScriptedAccount;
  facts: SyntheticFacts;
} {
  const account = emptyAccount(ROTATED_AT);
  Object.assign(account, { region: REGION, account: ACCOUNT });
  const clusterOf = (s: number) => `c${s % size.clusters}`;
  const revisionOf = (s: number) => Math.floor((s * size.revisions) / size.services);
  const jobDefinitionOf = (j: number) => Math.floor((j * size.jobDefinitions) / size.jobs);
  const secrets = (own: ScriptedSecretRef, index: number) =>
    REFERENCES_ROTATED(index) ? [own, { name: 'DB_PASSWORD', valueFrom: ROTATED }] : [own];
  account.parameters = [
    { name: ROTATED, version: 2, lastModified: ROTATED_AT, type: 'SecureString' },
  ];
  account.clusters = Array.from({ length: size.clusters }, (_, c) => `c${c}`);
  account.taskDefinitions = Array.from({ length: size.revisions }, (_, r) => ({
    family: `app${r}`,
    revision: 1,
    secrets: secrets({ name: 'API_KEY', valueFrom: `/bench/app${r}/api-key` }, r),
  }));
  const tasksOf = (s: number) =>
    Math.floor(size.tasks / size.services) + (s < size.tasks % size.services ? 1 : 0);
  account.services = Array.from({ length: size.services }, (_, s) => ({
    cluster: clusterOf(s),
    name: `svc${s}`,
    status: 'ACTIVE' as const,
    desiredCount: tasksOf(s),
    deployments: [
      {
        id: `ecs-svc/${s}`,
        status: 'PRIMARY' as const,
        rolloutState: 'COMPLETED' as const,
        createdAt: STARTED - 120_000,
        updatedAt: STARTED - 120_000,
        taskDefinition: `app${revisionOf(s)}:1`,
      },
    ],
  }));
  account.tasks = Array.from({ length: size.tasks }, (_, t) => {
    const s = t % size.services;
    return {
      cluster: clusterOf(s),
      id: t.toString(16).padStart(32, '0'),
      taskDefinition: `app${revisionOf(s)}:1`,
      group: `service:svc${s}`,
      startedBy: `ecs-svc/${s}`,
      createdAt: STARTED - 30_000,
      startedAt: STARTED,
      lastStatus: 'RUNNING' as const,
      desiredStatus: 'RUNNING' as const,
      tags: { team: `t${s % 7}` },
    };
  });
  account.jobQueues = Array.from({ length: size.queues }, (_, q) => ({ name: `q${q}` }));
  account.jobDefinitions = Array.from({ length: size.jobDefinitions }, (_, d) => ({
    name: `job${d}`,
    revision: 1,
    secrets: secrets({ name: 'TOKEN', valueFrom: `/bench/job${d}/token` }, d),
  }));
  account.jobs = Array.from({ length: size.jobs }, (_, j) => ({
    id: `job-${j}`,
    name: `job-${j}`,
    queue: `q${j % size.queues}`,
    definition: `job${jobDefinitionOf(j)}:1`,
    status: 'RUNNING' as const,
    createdAt: STARTED - 60_000,
    startedAt: STARTED,
  }));

  const count = <T>(items: T[], keys: string[], key: (item: T) => string) =>
    keys.map((k) => items.filter((item) => key(item) === k).length);
  const facts: SyntheticFacts = {
    servicesReferencing: account.services.filter((_, s) => REFERENCES_ROTATED(revisionOf(s)))
      .length,
    jobsReferencing: account.jobs.filter((_, j) => REFERENCES_ROTATED(jobDefinitionOf(j))).length,
    tasksByCluster: count(account.tasks, account.clusters, (task) => task.cluster),
    jobsByQueue: count(
      account.jobs,
      account.jobQueues.map((queue) => queue.name),
      (job) => job.queue,
    ),
  };
  return { account, facts };
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
  facts: SyntheticFacts,
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
