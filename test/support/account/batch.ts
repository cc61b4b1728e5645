// Batch as the scripted account answers it: queues, jobs (array parents and children, multi-node
// parents and nodes), job definitions, and SubmitJob/TerminateJob applied to the model.
// Batch's REST-JSON protocol sends times as epoch milliseconds, as the model keeps them.
import { randomUUID } from 'node:crypto';
import type { AwsReply } from '../wire.js';
import { advanceJobs } from './job-runs.js';
import type { ScriptedAccount, ScriptedJob, ScriptedJobDefinition } from './model.js';
import { arns, firstById, type Input, lastPart, list, page, reject } from './shared.js';

const CLIENT = 'ClientException';
const STATUSES = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'];
const IMAGE = 'job:1';

const arrayIndexOf = (job: ScriptedJob) => job.arrayIndex ?? Number(job.id.split(':').pop());
const nodeIndexOf = (job: ScriptedJob) => job.nodeIndex ?? Number(job.id.split('#').pop());
const childrenOf = (a: ScriptedAccount, id: string) =>
  a.jobs.filter((job) => job.arrayParent === id || job.nodeParent === id);

/** The definitions a reference names: an ARN or `name:revision`, or every revision of a name. */
function definitionsNamed(a: ScriptedAccount, ref: unknown): ScriptedJobDefinition[] {
  const [name, revision] = lastPart(ref).split(':');
  return a.jobDefinitions.filter(
    (d) => d.name === name && (revision === undefined || d.revision === +revision),
  );
}

/** The model keeps no node count on a definition; take it from a job that runs it. */
function numNodesOf(a: ScriptedAccount, definition: string): number {
  return a.jobs.find((job) => job.definition === definition && job.numNodes)?.numNodes ?? 2;
}

function numNodesOfJob(a: ScriptedAccount, job: ScriptedJob): number {
  const parent = job.nodeParent ? a.jobs.find((p) => p.id === job.nodeParent) : undefined;
  return job.numNodes ?? parent?.numNodes ?? numNodesOf(a, job.definition);
}

function nodeProperties(numNodes: number, secrets: unknown) {
  return {
    numNodes,
    mainNode: 0,
    nodeRangeProperties: [{ targetNodes: '0:', container: { image: IMAGE, secrets } }],
  };
}

function summary(a: ScriptedAccount, job: ScriptedJob) {
  const arn = arns(a);
  return {
    jobArn: arn.job(job.id),
    jobId: job.id,
    jobName: job.name,
    createdAt: job.createdAt,
    ...(job.startedAt !== undefined ? { startedAt: job.startedAt } : {}),
    ...ending(job),
    status: job.status,
    jobDefinition: arn.jobDefinition(job.definition),
    ...(job.exitCode !== undefined ? { container: { exitCode: job.exitCode } } : {}),
    ...(job.arraySize !== undefined ? { arrayProperties: { size: job.arraySize } } : {}),
    ...(job.arrayParent !== undefined ? { arrayProperties: { index: arrayIndexOf(job) } } : {}),
    ...(job.numNodes !== undefined ? { nodeProperties: { numNodes: job.numNodes } } : {}),
    ...(job.nodeParent !== undefined
      ? {
          nodeProperties: {
            isMainNode: nodeIndexOf(job) === 0,
            numNodes: numNodesOfJob(a, job),
            nodeIndex: nodeIndexOf(job),
          },
        }
      : {}),
  };
}

function detail(a: ScriptedAccount, job: ScriptedJob) {
  const arn = arns(a);
  const secrets = definitionsNamed(a, job.definition)[0]?.secrets ?? [];
  const statusSummary = () =>
    Object.fromEntries(
      STATUSES.map((status) => [
        status,
        childrenOf(a, job.id).filter((child) => child.status === status).length,
      ]),
    );
  const multiNode = job.numNodes !== undefined || job.nodeParent !== undefined;
  return {
    jobArn: arn.job(job.id),
    jobId: job.id,
    jobName: job.name,
    jobQueue: arn.queue(job.queue),
    status: job.status,
    createdAt: job.createdAt,
    ...(job.startedAt !== undefined ? { startedAt: job.startedAt } : {}),
    ...ending(job),
    jobDefinition: arn.jobDefinition(job.definition),
    parameters: job.parameters ?? {},
    tags: job.tags ?? {},
    propagateTags: false,
    retryStrategy: { attempts: 1 },
    attempts: attemptsOf(job),
    ...(job.arraySize !== undefined
      ? { arrayProperties: { size: job.arraySize, statusSummary: statusSummary() } }
      : {}),
    ...(job.arrayParent !== undefined ? { arrayProperties: { index: arrayIndexOf(job) } } : {}),
    // A multi-node parent describes its node ranges; a node also says which node it is and runs
    // a container. `nodeIndex` lives in `nodeDetails`, the SDK reads no such field elsewhere.
    ...(multiNode ? { nodeProperties: nodeProperties(numNodesOfJob(a, job), secrets) } : {}),
    ...(job.nodeParent !== undefined
      ? { nodeDetails: { nodeIndex: nodeIndexOf(job), isMainNode: nodeIndexOf(job) === 0 } }
      : {}),
    ...(!multiNode || job.nodeParent !== undefined
      ? {
          container: {
            image: IMAGE,
            environment: [],
            secrets,
            ...(job.exitCode !== undefined ? { exitCode: job.exitCode } : {}),
          },
        }
      : {}),
  };
}

/** When and why a job ended, as DescribeJobs and ListJobs tell it. */
function ending(job: ScriptedJob) {
  return {
    ...(job.stoppedAt !== undefined ? { stoppedAt: job.stoppedAt } : {}),
    ...(job.statusReason !== undefined ? { statusReason: job.statusReason } : {}),
  };
}

/** Batch records an attempt once a started container has stopped. */
function attemptsOf(job: ScriptedJob) {
  if (job.startedAt === undefined || job.stoppedAt === undefined) return [];
  return [
    {
      container: job.exitCode !== undefined ? { exitCode: job.exitCode } : {},
      startedAt: job.startedAt,
      stoppedAt: job.stoppedAt,
      ...(job.statusReason !== undefined ? { statusReason: job.statusReason } : {}),
    },
  ];
}

function listJobs(a: ScriptedAccount, input: Input): AwsReply {
  const selectors = ['jobQueue', 'arrayJobId', 'multiNodeJobId'].filter(
    (key) => input[key] !== undefined && input[key] !== null,
  );
  if (selectors.length !== 1)
    return reject(CLIENT, 'Exactly one of jobQueue, arrayJobId or multiNodeJobId is required.');
  const status = String(input.jobStatus ?? 'RUNNING');
  const queue = input.jobQueue === undefined ? undefined : lastPart(input.jobQueue);
  const jobs = a.jobs.filter((job) => {
    if (job.status !== status) return false;
    // By queue AWS lists top-level jobs only: array children and nodes never appear there.
    if (queue !== undefined)
      return job.queue === queue && job.arrayParent === undefined && job.nodeParent === undefined;
    if (input.arrayJobId !== undefined) return job.arrayParent === input.arrayJobId;
    return job.nodeParent === input.multiNodeJobId;
  });
  // ListJobs returns at most 1000 jobs a page and caps a bigger maxResults rather than failing.
  const spec = { limit: 1000, fallback: 100, error: CLIENT, clamp: true };
  const { items, next } = page(a, jobs, input, spec);
  return { body: { jobSummaryList: items.map((job) => summary(a, job)), nextToken: next } };
}

function submitJob(a: ScriptedAccount, input: Input): AwsReply {
  const name = String(input.jobName ?? '');
  if (!name) return reject(CLIENT, 'jobName is required.');
  const queue = a.jobQueues.find((q) => q.name === lastPart(input.jobQueue));
  if (!queue) return reject(CLIENT, `Job queue ${String(input.jobQueue)} does not exist.`);
  const definition = definitionsNamed(a, input.jobDefinition).reduce<
    ScriptedJobDefinition | undefined
  >((latest, d) => (latest && latest.revision > d.revision ? latest : d), undefined);
  if (!definition)
    return reject(CLIENT, `Job definition ${String(input.jobDefinition)} not found.`);
  const ref = `${definition.name}:${definition.revision}`;
  const size = (input.arrayProperties as { size?: number } | undefined)?.size;
  const nodes = (input.nodeOverrides as { numNodes?: number } | undefined)?.numNodes;
  const job: ScriptedJob = {
    id: randomUUID(),
    name,
    queue: queue.name,
    definition: ref,
    status: 'SUBMITTED',
    createdAt: a.now,
    ...(size !== undefined ? { arraySize: size } : {}),
    ...(definition.multiNode ? { numNodes: nodes ?? numNodesOf(a, ref) } : {}),
    ...(input.tags ? { tags: input.tags as Record<string, string> } : {}),
    ...(input.parameters ? { parameters: input.parameters as Record<string, string> } : {}),
    ...(definition.onSubmit ? { script: definition.onSubmit, stepsDone: 0 } : {}),
  };
  a.jobs.push(job);
  advanceJobs(a);
  return { body: { jobArn: arns(a).job(job.id), jobName: job.name, jobId: job.id } };
}

function terminateJob(a: ScriptedAccount, input: Input): AwsReply {
  const job = a.jobs.find((j) => j.id === input.jobId);
  if (!job) return reject(CLIENT, `Job ${String(input.jobId)} not found.`);
  // Finished jobs keep their outcome; the rest, children and nodes included, fail.
  for (const target of [job, ...childrenOf(a, job.id)])
    if (target.status !== 'SUCCEEDED') target.status = 'FAILED';
  return { body: {} };
}

export function batchRoute(a: ScriptedAccount, operation: string, input: Input): AwsReply | null {
  const arn = arns(a);
  switch (operation) {
    case 'DescribeJobQueues': {
      const wanted = list(input.jobQueues).map(lastPart);
      if (wanted.length > 100) return reject(CLIENT, 'At most 100 job queues can be described.');
      const queues = a.jobQueues.filter((q) => wanted.length === 0 || wanted.includes(q.name));
      const spec = { limit: 100, fallback: 100, error: CLIENT };
      const { items, next } = page(a, queues, input, spec);
      const jobQueues = items.map((q) => ({
        jobQueueName: q.name,
        jobQueueArn: arn.queue(q.name),
        state: 'ENABLED',
        status: 'VALID',
        priority: 1,
        computeEnvironmentOrder: [],
        tags: q.tags ?? {},
      }));
      return { body: { jobQueues, nextToken: next } };
    }
    case 'ListJobs':
      return listJobs(a, input);
    case 'DescribeJobs': {
      const ids = list(input.jobs);
      if (ids.length === 0 || ids.length > 100)
        return reject(CLIENT, 'jobs must contain between 1 and 100 job ids.');
      // Unknown ids are left out, not reported: DescribeJobs has no failures list.
      const byId = firstById(a.jobs);
      const jobs = ids.flatMap((id) => {
        const job = byId.get(lastPart(id));
        return job && (job.id === id || arn.job(job.id) === id) ? [detail(a, job)] : [];
      });
      return { body: { jobs } };
    }
    case 'DescribeJobDefinitions': {
      const wanted = list(input.jobDefinitions);
      if (wanted.length > 100) return reject(CLIENT, 'At most 100 job definitions.');
      const status = input.status === undefined ? 'ACTIVE' : String(input.status);
      const named = new Set(wanted.flatMap((ref) => definitionsNamed(a, ref)));
      const definitions = a.jobDefinitions.filter(
        (d) =>
          status === 'ACTIVE' &&
          (wanted.length === 0 || named.has(d)) &&
          (input.jobDefinitionName === undefined || d.name === input.jobDefinitionName),
      );
      const spec = { limit: 100, fallback: 100, error: CLIENT };
      const { items, next } = page(a, definitions, input, spec);
      const jobDefinitions = items.map((d) => {
        const ref = `${d.name}:${d.revision}`;
        return {
          jobDefinitionName: d.name,
          jobDefinitionArn: arn.jobDefinition(ref),
          revision: d.revision,
          status: 'ACTIVE',
          type: d.multiNode ? 'multinode' : 'container',
          ...(d.multiNode
            ? { nodeProperties: nodeProperties(numNodesOf(a, ref), d.secrets) }
            : { containerProperties: { image: IMAGE, secrets: d.secrets } }),
          tags: d.tags ?? {},
        };
      });
      return { body: { jobDefinitions, nextToken: next } };
    }
    case 'SubmitJob':
      return submitJob(a, input);
    case 'TerminateJob':
      return terminateJob(a, input);
    default:
      return null;
  }
}
