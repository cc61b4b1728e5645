// The scan of every Batch queue's live jobs, each with its job definition's references and tags.

import {
  DescribeJobDefinitionsCommand,
  DescribeJobQueuesCommand,
  type JobStatus,
} from '@aws-sdk/client-batch';
import { type AwsClients, chunks } from '../aws/index.js';
import { guarded, isoTime, listAll } from '../aws/reads.js';
import { TAGS_MAX_AGE_MS } from '../consumers/definitions.js';
import type { CachedDefinition, ConsumerReference, Gap, TagsLoaded } from '../domain/index.js';
import { accountOf, contextOfArn, jobDefinitionReferences, siblingArn } from '../refs/index.js';
import { describeJobs, listJobs } from './batch-reads.js';
import { tagRecord, usable } from './shared.js';
import type { ScanDeps } from './types.js';

/** The statuses of a job that is running or will run: the ones that hold or will read a value. */
export const LIVE_JOB_STATUSES: JobStatus[] = [
  'SUBMITTED',
  'PENDING',
  'RUNNABLE',
  'STARTING',
  'RUNNING',
];

/** A Batch job that is queued or running, with its job definition's references. */
export interface ScannedJob {
  arn: string;
  jobId: string;
  name: string;
  region: string;
  account: string | null;
  queue: string;
  queueTags: Record<string, string>;
  status: string;
  /** When the job was submitted: its containers fetch secrets at some moment after this. */
  createdAt: string | null;
  startedAt: string | null;
  definitionArn: string;
  definitionTags: Record<string, string>;
  /**
   * The job definition's tags could not be read again and are older than TAGS_MAX_AGE_MS (a gap
   * says why): an opt-out added since may be missing, so they must not decide a restart.
   */
  definitionTagsOutdated: boolean;
  references: ConsumerReference[];
  /** An array job's size: its children (`ID:N`) are the ones that run. */
  arraySize: number | null;
  /** A multi-node parallel job's node count: its nodes (`ID#N`) are the ones that run. */
  numNodes: number | null;
}

const DESCRIBE_DEFINITIONS_MAX = 100;

/** Every live job of every queue in `region`, each with its job definition's references. */
export async function scanBatch(
  region: string,
  deps: ScanDeps,
  gaps: Gap[],
): Promise<ScannedJob[]> {
  const { clients } = deps;
  const batch = clients.get('batch', region);
  const call = <T>(task: () => Promise<T>) => clients.limited('batch', region, task);
  const queues = await listAll(
    gaps,
    { region, scope: 'batch', api: 'batch:DescribeJobQueues', affects: { kind: 'any' } },
    call,
    async (nextToken) => {
      const page = await batch.send(new DescribeJobQueuesCommand({ nextToken, maxResults: 100 }));
      return { items: page.jobQueues, next: page.nextToken };
    },
  );
  if (!queues) return [];
  let done = 0;
  const perQueue = await Promise.all(
    queues.map(async (queue) => {
      const queueArn = queue.jobQueueArn ?? queue.jobQueueName ?? 'unknown queue';
      const lists = await listJobs(
        { jobQueue: queueArn },
        LIVE_JOB_STATUSES,
        { region, scope: queueArn, affects: { kind: 'any' } },
        clients,
        gaps,
      );
      deps.onProgress?.({ region, phase: 'Batch queues', done: ++done, total: queues.length });
      // A status list that failed is a gap; the others still answer.
      return lists.jobs.map((job) => ({ job, queueArn, queueTags: tagRecord(queue.tags) }));
    }),
  );
  // A job seen under two statuses (it moved between the two list calls) counts once.
  const seen = new Set<string>();
  // Listing by queue returns parents only; a child (`ID:N`) or node (`ID#N`) is judged with its
  // parent, never as a job of its own.
  const found = perQueue
    .flat()
    .filter(({ job }) => job.jobId && !/[:#]/.test(job.jobId))
    .filter(({ job }) => !seen.has(job.jobId as string) && seen.add(job.jobId as string));
  const withDefinition = await definitionsOf(
    found.map(({ job }) => job),
    region,
    deps,
    gaps,
  );
  const definitions = await jobDefinitions(
    [...new Set(withDefinition.values())],
    region,
    deps,
    gaps,
  );
  return found.flatMap(({ job, queueArn, queueTags }) => {
    const definitionArn = withDefinition.get(job.jobId as string);
    if (!definitionArn) return [];
    const definition = definitions.get(definitionArn);
    const arn = job.jobArn ?? siblingArn(queueArn, `job/${job.jobId}`);
    return [
      {
        arn,
        jobId: job.jobId as string,
        name: job.jobName ?? (job.jobId as string),
        region,
        account: accountOf(arn),
        queue: queueArn,
        queueTags,
        status: job.status as string,
        createdAt: isoTime(job.createdAt),
        startedAt: isoTime(job.startedAt),
        definitionArn,
        definitionTags: definition?.tags ?? {},
        definitionTagsOutdated: definition ? !deps.cache.tagsFresh(definition) : false,
        references: usable(definition?.references ?? []),
        // A parent's summary has a size and no index; a child's has an index.
        arraySize:
          job.arrayProperties?.size !== undefined && job.arrayProperties.index === undefined
            ? job.arrayProperties.size
            : null,
        numNodes:
          job.nodeProperties?.numNodes !== undefined && job.nodeProperties.nodeIndex === undefined
            ? job.nodeProperties.numNodes
            : null,
      },
    ];
  });
}

/**
 * The job definition of each job. ListJobs summaries carry it; where one does not (older API
 * versions and some emulators), DescribeJobs fills it in, 100 jobs a call.
 */
async function definitionsOf(
  jobs: Array<{ jobId?: string; jobDefinition?: string }>,
  region: string,
  deps: ScanDeps,
  gaps: Gap[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const unknown: string[] = [];
  for (const job of jobs) {
    if (!job.jobId) continue;
    if (job.jobDefinition) out.set(job.jobId, job.jobDefinition);
    else unknown.push(job.jobId);
  }
  for (const detail of await describeJobs(region, unknown, deps.clients, gaps)) {
    if (detail.jobId && detail.jobDefinition) out.set(detail.jobId, detail.jobDefinition);
  }
  return out;
}

/**
 * DescribeJobDefinitions for the ARNs not yet cached, 100 a call; then, for cached ones whose tags
 * are older than TAGS_MAX_AGE_MS, the same call again for their tags only (revisions never
 * change, their tags can).
 */
async function jobDefinitions(
  arns: string[],
  region: string,
  deps: ScanDeps,
  gaps: Gap[],
): Promise<Map<string, CachedDefinition>> {
  const { clients, cache } = deps;
  const cached = await cache.getMany(arns, async (missing) => {
    const found = new Map<string, CachedDefinition>();
    const failed: string[] = [];
    await Promise.all(
      chunks(missing, DESCRIBE_DEFINITIONS_MAX).map(async (group) => {
        const reply = await describeDefinitions(region, group, 'job definitions', clients, gaps);
        if (!reply) {
          failed.push(...group);
          return;
        }
        for (const definition of reply.jobDefinitions ?? []) {
          const arn = definition.jobDefinitionArn;
          if (!arn) continue;
          found.set(arn, {
            arn,
            references: jobDefinitionReferences(definition, contextOfArn(arn)),
            tags: tagRecord(definition.tags),
          });
        }
      }),
    );
    return { found, failed };
  });
  return cache.withFreshTags(cached, (old) => jobDefinitionTags(old, region, clients, gaps));
}

/**
 * The current tags of job definitions read more than TAGS_MAX_AGE_MS ago: DescribeJobDefinitions
 * by ARN, 100 a call (Batch's ListTagsForResource would take one call per ARN). A call that fails,
 * or a definition it does not return, is a gap: its old tags are kept but marked outdated.
 */
async function jobDefinitionTags(
  arns: string[],
  region: string,
  clients: AwsClients,
  gaps: Gap[],
): Promise<TagsLoaded> {
  const found = new Map<string, Record<string, string>>();
  const failed: string[] = [];
  const hours = TAGS_MAX_AGE_MS / 3_600_000;
  await Promise.all(
    chunks(arns, DESCRIBE_DEFINITIONS_MAX).map(async (group) => {
      const reply = await describeDefinitions(region, group, 'job definition tags', clients, gaps);
      if (!reply) {
        failed.push(...group);
        return;
      }
      for (const definition of reply.jobDefinitions ?? []) {
        if (definition.jobDefinitionArn)
          found.set(definition.jobDefinitionArn, tagRecord(definition.tags));
      }
      for (const arn of group.filter((arn) => !found.has(arn))) {
        failed.push(arn);
        gaps.push({
          region,
          scope: arn,
          api: 'batch:DescribeJobDefinitions',
          affects: { kind: 'any' },
          error: `the job definition was not returned: its tags, read more than ${hours} hours ago, could not be read again`,
        });
      }
    }),
  );
  return { found, failed };
}

/** The one DescribeJobDefinitions call site: up to 100 ARNs; a failed call is a gap under `scope`. */
function describeDefinitions(
  region: string,
  group: string[],
  scope: string,
  clients: AwsClients,
  gaps: Gap[],
) {
  const batch = clients.get('batch', region);
  const where = {
    region,
    scope,
    api: 'batch:DescribeJobDefinitions',
    affects: { kind: 'any' },
  } as const;
  return guarded(gaps, where, () =>
    clients.limited('batch', region, () =>
      batch.send(
        new DescribeJobDefinitionsCommand({
          jobDefinitions: group,
          maxResults: DESCRIBE_DEFINITIONS_MAX,
        }),
      ),
    ),
  );
}
