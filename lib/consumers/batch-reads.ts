// The Batch job reads: the one call site of each of ListJobs and DescribeJobs, and the children
// (array jobs) or nodes (multi-node jobs) of a parent job.

import {
  DescribeJobsCommand,
  type JobDetail,
  type JobStatus,
  type JobSummary,
  ListJobsCommand,
  type ListJobsCommandInput,
  type ListJobsCommandOutput,
} from '@aws-sdk/client-batch';
import { type AwsClients, allPages, chunks } from '../aws/index.js';
import { type GapSite, guarded, isoTime } from '../aws/reads.js';
import type { Gap } from '../domain/index.js';
import { siblingArn } from '../refs/index.js';

const DESCRIBE_JOBS_MAX = 100;

/** The statuses of a child or node whose containers may have fetched secrets. */
const FETCHING_STATUSES: JobStatus[] = ['STARTING', 'RUNNING'];

/** A child of an array job or a node of a multi-node job, as ListJobs summarises it. */
export interface ScannedChild {
  arn: string;
  status: string;
  createdAt: string | null;
  startedAt: string | null;
}

/** The parent job whose children or nodes are listed. */
export interface ParentJob {
  arn: string;
  jobId: string;
  region: string;
  arraySize: number | null;
}

/**
 * The children (array jobs) or nodes (multi-node jobs) of `job` that are starting or running:
 * ListJobs by queue lists only the parent, whose own status says nothing about them.
 */
export async function childrenOf(
  job: ParentJob,
  clients: AwsClients,
  gaps: Gap[],
): Promise<ScannedChild[] | undefined> {
  const by = job.arraySize !== null ? { arrayJobId: job.jobId } : { multiNodeJobId: job.jobId };
  const found = await listJobs(
    by,
    FETCHING_STATUSES,
    // Only this job's changes: the job is known, its children are not.
    {
      region: job.region,
      scope: job.arn,
      affects: { kind: 'consumers', region: job.region, parent: job.arn },
    },
    clients,
    gaps,
  );
  if (!found.complete) return undefined;
  const seen = new Set<string>();
  return found.jobs
    .map((child) => ({
      arn: child.jobArn ?? siblingArn(job.arn, `job/${child.jobId}`),
      status: child.status as string,
      createdAt: isoTime(child.createdAt),
      startedAt: isoTime(child.startedAt),
    }))
    .filter((child) => !seen.has(child.arn) && seen.add(child.arn));
}

/**
 * Every page of ListJobs for one selector (a queue, an array parent or a multi-node parent) and
 * each of `statuses` (the API takes one status a call). A list that fails is a gap, and the
 * answer is then not `complete`.
 */
export async function listJobs(
  selector: Pick<ListJobsCommandInput, 'jobQueue' | 'arrayJobId' | 'multiNodeJobId'>,
  statuses: JobStatus[],
  where: Omit<GapSite, 'api'>,
  clients: AwsClients,
  gaps: Gap[],
): Promise<{ jobs: JobSummary[]; complete: boolean }> {
  const lists = await Promise.all(
    statuses.map((jobStatus) =>
      guarded(gaps, { ...where, api: 'batch:ListJobs' }, () =>
        allPages(async (nextToken) => {
          const page = await jobsPage(
            where.region,
            { ...selector, jobStatus, nextToken, maxResults: 1000 },
            clients,
          );
          // ListJobs filters by status, but a job can move on between pages; keep the asked status.
          return {
            items: page.jobSummaryList?.map((job) => ({ ...job, status: job.status ?? jobStatus })),
            next: page.nextToken,
          };
        }),
      ),
    ),
  );
  return {
    jobs: lists.flatMap((list) => list ?? []),
    complete: lists.every((list) => list !== undefined),
  };
}

/** DescribeJobs, 100 jobs a call: tags, parameters and settings for a resubmit; a failed call is a gap. */
export async function describeJobs(
  region: string,
  jobIds: string[],
  clients: AwsClients,
  gaps: Gap[],
): Promise<JobDetail[]> {
  // Jobs already listed: only the changes of known consumers of the region are in doubt.
  const where = {
    region,
    scope: 'jobs',
    api: 'batch:DescribeJobs',
    affects: { kind: 'consumers', region, parent: null },
  } as const;
  const replies = await Promise.all(
    chunks(jobIds, DESCRIBE_JOBS_MAX).map((group) =>
      guarded(gaps, where, () => jobsDescribed(region, group, clients)),
    ),
  );
  return replies.flatMap((reply) => reply ?? []);
}

/** The one ListJobs call site: one page; a failed call throws. */
export async function jobsPage(
  region: string,
  input: ListJobsCommandInput,
  clients: AwsClients,
): Promise<ListJobsCommandOutput> {
  const batch = clients.get('batch', region);
  return clients.limited('batch', region, () => batch.send(new ListJobsCommand(input)));
}

/** The one DescribeJobs call site: up to 100 jobs; a failed call throws. */
export async function jobsDescribed(
  region: string,
  jobIds: string[],
  clients: AwsClients,
): Promise<JobDetail[]> {
  const batch = clients.get('batch', region);
  const reply = await clients.limited('batch', region, () =>
    batch.send(new DescribeJobsCommand({ jobs: jobIds })),
  );
  return reply.jobs ?? [];
}
