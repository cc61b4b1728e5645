// Batch jobs, plain, array and multi-node: found among the scanned live jobs, judged from the job
// or from its running children or nodes, looked at again by DescribeJobs, restarted by resubmit.

import type { JobDetail } from '@aws-sdk/client-batch';
import type { AwsClients } from '../aws/index.js';
import { isoTime } from '../aws/reads.js';
import type { Change, Consumer, Gap, JobDetails, Run } from '../domain/index.js';
import { lastPart } from '../refs/index.js';
import { childrenOf, describeJobs, type ScannedChild } from './batch-reads.js';
import { REPLACES_TAG, resubmit, submitSettings } from './batch-resubmit.js';
import type { ScannedJob } from './batch-scan.js';
import { GONE, groupBy, narrow, sightingOf, tagRecord, verdictFields } from './shared.js';
import { assessConsumer, touching, type Verdict } from './staleness.js';
import type { ConsumerStrategy, KnownConsumer, Look, Reread, Sighting } from './types.js';

export const batchJob: ConsumerStrategy = {
  kind: 'batch-job',

  async find(scanned, changes, { clients, gaps, now }) {
    const jobs = scanned.jobs.flatMap((job) => narrow(job, changes));
    const [details, children] = await Promise.all([
      jobDetailsOf(jobs, clients, gaps),
      childrenOfParents(jobs, clients, gaps),
    ]);
    const replacements = replacementsOf(details);
    return jobs.map((job) =>
      jobConsumer(
        job,
        details.get(job.jobId),
        changes,
        replacements.get(job.jobId) ?? null,
        children,
        now,
      ),
    );
  },

  judge: (runs, changes, now) => assessConsumer('batch-job', runs, changes, null, now),

  /** Each job by DescribeJobs, 100 a call per region. */
  async reread<K extends KnownConsumer>(known: K[], look: Look): Promise<Reread<K>> {
    const { clients, gaps } = look;
    const seen: Reread<K> = { sightings: [], unread: 0 };
    for (const [region, members] of groupBy(known, (c) => c.region)) {
      const before = gaps.length;
      const jobs = await describeJobs(
        region,
        members.map((c) => lastPart(c.arn)),
        clients,
        gaps,
      );
      for (const consumer of members) {
        const job = jobs.find(
          (j) => j.jobArn === consumer.arn || j.jobId === lastPart(consumer.arn),
        );
        if (!job && gaps.length > before) continue;
        seen.sightings.push({ consumer, sighting: jobSighting(consumer.arn, job, look) });
      }
    }
    return seen;
  },

  restart: resubmit,
};

/**
 * A job as a look sees it: a plain job is judged as discovery judges it. An array or multi-node
 * parent shows only SUBMITTED, PENDING (its children run), RUNNING (nodes) or a final status:
 * until it finishes, it counts as running, and as holding the old value when it was created
 * before the change.
 */
function jobSighting(arn: string, job: JobDetail | undefined, look: Look): Sighting {
  const { change, references, now } = look;
  const status = job?.status ?? '';
  if (!job || status === 'SUCCEEDED' || status === 'FAILED') return GONE;
  const createdAt = isoTime(job.createdAt);
  if (job.arrayProperties?.size || job.nodeProperties) {
    const old = createdAt === null || createdAt < change.changedAt;
    return { running: true, staleRuns: old ? 1 : 0, replacing: false };
  }
  const runs: Run[] = [
    {
      arn: job.jobArn ?? arn,
      definitionArn: job.jobDefinition ?? '',
      status,
      createdAt,
      startedAt: isoTime(job.startedAt),
      startedBy: null,
      stopping: false,
      references,
    },
  ];
  return sightingOf(runs, batchJob.judge(runs, [change], now));
}

async function jobDetailsOf(
  jobs: ScannedJob[],
  clients: AwsClients,
  gaps: Gap[],
): Promise<Map<string, JobDetail>> {
  const byRegion = new Map<string, string[]>();
  for (const job of jobs)
    byRegion.set(job.region, [...(byRegion.get(job.region) ?? []), job.jobId]);
  const found = new Map<string, JobDetail>();
  await Promise.all(
    [...byRegion].map(async ([region, ids]) => {
      for (const detail of await describeJobs(region, ids, clients, gaps))
        if (detail.jobId) found.set(detail.jobId, detail);
    }),
  );
  return found;
}

/**
 * The starting and running children of each array job and nodes of each multi-node job, by the
 * parent's id; `undefined` for a parent whose children could not be listed.
 */
async function childrenOfParents(
  jobs: ScannedJob[],
  clients: AwsClients,
  gaps: Gap[],
): Promise<Map<string, ScannedChild[] | undefined>> {
  // A SUBMITTED or RUNNABLE parent has no child or node running yet: nothing to list.
  const parents = jobs.filter(
    (job) =>
      (job.arraySize !== null || job.numNodes !== null) &&
      job.status !== 'SUBMITTED' &&
      job.status !== 'RUNNABLE',
  );
  const lists = await Promise.all(parents.map((job) => childrenOf(job, clients, gaps)));
  return new Map(parents.map((job, i) => [job.jobId, lists[i]]));
}

/** The jobs already resubmitted, by the id of the job each replaces. */
function replacementsOf(details: Map<string, JobDetail>): Map<string, string> {
  const out = new Map<string, string>();
  for (const detail of details.values()) {
    const replaced = detail.tags?.[REPLACES_TAG];
    if (replaced && detail.jobId) out.set(replaced, detail.jobId);
  }
  return out;
}

function jobConsumer(
  job: ScannedJob,
  detail: JobDetail | undefined,
  changes: Change[],
  replacedBy: string | null,
  children: Map<string, ScannedChild[] | undefined>,
  now: Date,
): Consumer {
  const parent = job.arraySize !== null || job.numNodes !== null;
  const listed = children.has(job.jobId);
  const known = children.get(job.jobId);
  // Children that could not be listed are unknown, not absent: the plan notifies instead of
  // restarting every child on a guess.
  const runs = !parent ? [jobRun(job)] : (known ?? []).map((child) => childRun(job, child));
  const judged = batchJob.judge(runs, changes, now);
  // A deleted value is an alarm for the job whatever its children do: they cannot start.
  const deletions = touching(jobRun(job), changes).filter((change) => change.effect === 'deleted');
  const verdict: Verdict =
    parent && listed && !known
      ? {
          ...judged,
          stale: true,
          cause: 'time-unknown',
          reason: 'its children could not be listed (see the warnings), counted as stale',
        }
      : judged;
  verdict.changes = [...new Set([...verdict.changes, ...deletions])];
  return {
    kind: 'batch-job',
    arn: job.arn,
    name: job.name,
    region: job.region,
    account: job.account,
    parent: job.queue,
    references: job.references,
    runs,
    tags: [
      { level: 'job', tags: tagRecord(detail?.tags) },
      {
        level: 'job-definition',
        tags: job.definitionTags,
        // Tags that could not be read again lately may lack an opt-out: they never restart.
        ...(job.definitionTagsOutdated ? { outdated: true } : {}),
      },
      { level: 'job-queue', tags: job.queueTags },
    ],
    ...verdictFields(verdict),
    mutableImages: [],
    service: null,
    job: { ...jobDetails(job, detail), replacedBy, childrenUnknown: parent && listed && !known },
  };
}

function jobDetails(
  job: ScannedJob,
  detail: JobDetail | undefined,
): Omit<JobDetails, 'replacedBy' | 'childrenUnknown'> {
  return {
    jobId: job.jobId,
    queue: job.queue,
    definitionArn: job.definitionArn,
    parameters: detail?.parameters ?? {},
    submit: detail ? submitSettings(detail) : {},
    arraySize: job.arraySize,
    numNodes: job.numNodes,
  };
}

function jobRun(job: ScannedJob): Run {
  return {
    arn: job.arn,
    definitionArn: job.definitionArn,
    status: job.status,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    startedBy: null,
    stopping: false,
    references: job.references,
  };
}

function childRun(parent: ScannedJob, child: ScannedChild): Run {
  return {
    arn: child.arn,
    definitionArn: parent.definitionArn,
    status: child.status,
    createdAt: child.createdAt,
    startedAt: child.startedAt,
    startedBy: null,
    stopping: false,
    references: parent.references,
  };
}
