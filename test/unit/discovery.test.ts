import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { DefinitionCache, discover } from '../../lib/discovery/index.js';
import type { Change } from '../../lib/domain/index.js';
import { cli } from '../helpers/cli.js';
import { type AwsReply, type AwsRequest, awsError, RecordedAws } from '../helpers/recorded-aws.js';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const CHANGED_AT = '2026-11-20T12:00:00.000Z';
const BEFORE = Date.parse('2026-11-20T11:00:00Z') / 1000;
const AFTER = Date.parse('2026-11-20T13:00:00Z') / 1000;
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };

const clusterArn = (name: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${name}`;
const taskArn = (cluster: string, id: string) =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${cluster}/${id}`;
const tdArn = (family: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:1`;
const jdArn = (name: string) => `arn:aws:batch:${REGION}:${ACCOUNT}:job-definition/${name}:1`;

const change: Change = {
  service: 'ssm',
  name: '/prod/db/password',
  arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/prod/db/password`,
  region: REGION,
  account: ACCOUNT,
  partition: 'aws',
  operation: 'Update',
  effect: 'value',
  changedAt: CHANGED_AT,
  versionStage: null,
  versionId: null,
  eventId: 'e-1',
  detailType: 'Parameter Store Change',
  timeSource: 'event',
  eventTime: CHANGED_AT,
  version: null,
};

interface RecordedTask {
  id: string;
  family: string;
  group?: string;
  lastStatus?: string;
  /** RUNNING unless ECS is stopping it. */
  desiredStatus?: 'RUNNING' | 'STOPPED';
  /** Epoch seconds; `null`: AWS gives none. Default: 30 s before it started. */
  createdAt?: number | null;
  startedAt?: number;
  tags?: Record<string, string>;
}

interface RecordedAccount {
  clusters: Record<string, RecordedTask[]>;
  services?: Record<
    string,
    { deployedAt: number; controller?: string; tags?: Record<string, string> }
  >;
  families?: Record<string, string[]>;
  jobs?: Record<string, unknown>[];
  jobDefinitions?: Record<string, unknown>[];
  /** The children (array) or nodes (multi-node) of a parent job, by the parent's id. */
  children?: Record<string, Record<string, unknown>[]>;
  /** Parameters DescribeParameters no longer finds (every other name exists). */
  deletedParameters?: string[];
  /** Answer a request with this instead (faults), or undefined to answer normally. */
  fault?: (request: AwsRequest) => AwsReply | undefined;
  pageSize?: number;
}

/** Serves an account as AWS would: recorded shapes, real page limits, tokens that are page offsets. */
function recordedAccount(account: RecordedAccount): RecordedAws {
  const families = account.families ?? { web: ['/prod/db/password'], other: ['/unrelated'] };
  const page = <T>(items: T[], token: unknown, size: number) => {
    const start = Number(token ?? 0);
    const next = start + size < items.length ? String(start + size) : undefined;
    return { items: items.slice(start, start + size), next };
  };
  return new RecordedAws((request) => {
    const faulted = account.fault?.(request);
    if (faulted) return faulted;
    const { input } = request;
    const api = `${request.service}:${request.operation}`;
    const size = account.pageSize ?? 100;
    switch (api) {
      case 'ecs:ListClusters': {
        const { items, next } = page(
          Object.keys(account.clusters).map(clusterArn),
          input.nextToken,
          Math.min(size, Number(input.maxResults ?? 100)),
        );
        return { body: { clusterArns: items, nextToken: next } };
      }
      case 'ecs:ListTasks': {
        const name = String(input.cluster).split('/').pop() as string;
        // ListTasks filters by desired status, RUNNING when none is given.
        const tasks = (account.clusters[name] ?? [])
          .filter(
            (task) => (task.desiredStatus ?? 'RUNNING') === (input.desiredStatus ?? 'RUNNING'),
          )
          .map((task) => taskArn(name, task.id));
        const { items, next } = page(
          tasks,
          input.nextToken,
          Math.min(size, Number(input.maxResults ?? 100)),
        );
        return { body: { taskArns: items, nextToken: next } };
      }
      case 'ecs:DescribeTasks': {
        const name = String(input.cluster).split('/').pop() as string;
        const wanted = new Set(input.tasks as string[]);
        const tasks = (account.clusters[name] ?? [])
          .filter((task) => wanted.has(taskArn(name, task.id)))
          .map((task) => ({
            taskArn: taskArn(name, task.id),
            clusterArn: clusterArn(name),
            taskDefinitionArn: tdArn(task.family),
            group: task.group ?? `family:${task.family}`,
            lastStatus: task.lastStatus ?? 'RUNNING',
            desiredStatus: task.desiredStatus ?? 'RUNNING',
            ...(task.createdAt !== null
              ? { createdAt: task.createdAt ?? (task.startedAt ?? BEFORE) - 30 }
              : {}),
            ...(task.startedAt !== undefined ? { startedAt: task.startedAt } : {}),
            launchType: 'FARGATE',
            tags: Object.entries(task.tags ?? {}).map(([key, value]) => ({ key, value })),
          }));
        return { body: { tasks, failures: [] } };
      }
      case 'ecs:DescribeTaskDefinition': {
        const family = String(input.taskDefinition).split('/').pop()?.split(':')[0] as string;
        const secrets = (families[family] ?? []).map((valueFrom, i) => ({
          name: `S${i}`,
          valueFrom,
        }));
        return {
          body: {
            taskDefinition: {
              taskDefinitionArn: tdArn(family),
              family,
              revision: 1,
              containerDefinitions: [{ name: family, image: 'x', secrets }],
            },
            tags: [],
          },
        };
      }
      case 'ecs:DescribeServices': {
        const services = (input.services as string[]).map((serviceName) => {
          const spec = account.services?.[serviceName] ?? { deployedAt: BEFORE };
          return {
            serviceName,
            serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${String(input.cluster).split('/').pop()}/${serviceName}`,
            deploymentController: { type: spec.controller ?? 'ECS' },
            deployments: [
              {
                id: `ecs-svc/${serviceName}`,
                status: 'PRIMARY',
                createdAt: spec.deployedAt,
                rolloutState: 'COMPLETED',
              },
            ],
            desiredCount: 1,
            tags: Object.entries(spec.tags ?? {}).map(([key, value]) => ({ key, value })),
          };
        });
        return { body: { services, failures: [] } };
      }
      case 'batch:DescribeJobQueues':
        return {
          body: {
            jobQueues: account.jobs
              ? [
                  {
                    jobQueueName: 'q',
                    jobQueueArn: `arn:aws:batch:${REGION}:${ACCOUNT}:job-queue/q`,
                    state: 'ENABLED',
                    status: 'VALID',
                    priority: 1,
                    computeEnvironmentOrder: [],
                    tags: { team: 'data' },
                  },
                ]
              : [],
          },
        };
      case 'batch:ListJobs': {
        const parent = input.arrayJobId ?? input.multiNodeJobId;
        const listed = parent ? (account.children?.[String(parent)] ?? []) : (account.jobs ?? []);
        return {
          body: { jobSummaryList: listed.filter((job) => job.status === input.jobStatus) },
        };
      }
      case 'batch:DescribeJobDefinitions':
        return {
          body: {
            jobDefinitions: (account.jobDefinitions ?? []).filter((d) =>
              (input.jobDefinitions as string[]).includes(d.jobDefinitionArn as string),
            ),
          },
        };
      case 'batch:DescribeJobs':
        return {
          body: {
            jobs: (account.jobs ?? [])
              .filter((job) => (input.jobs as string[]).includes(job.jobId as string))
              .map((job) => ({
                ...job,
                jobQueue: `arn:aws:batch:${REGION}:${ACCOUNT}:job-queue/q`,
                tags: { owner: 'etl' },
                parameters: { day: 'today' },
                retryStrategy: { attempts: 2 },
              })),
          },
        };
      case 'ssm:DescribeParameters': {
        const names = (input.ParameterFilters as Array<{ Values: string[] }>)[0]?.Values ?? [];
        const gone = new Set(account.deletedParameters ?? []);
        const Parameters = names
          .filter((Name) => !gone.has(Name))
          .map((Name) => ({
            Name,
            Type: 'SecureString',
            Version: 2,
            LastModifiedDate: Date.parse(CHANGED_AT) / 1000,
          }));
        return { body: { Parameters } };
      }
      default:
        return awsError('UnknownOperationException', `not recorded: ${api}`);
    }
  });
}

async function run(recorded: RecordedAws, changes: Change[] = [change]) {
  const clients = new AwsClients({ requestHandler: recorded, credentials, maxAttempts: 3 });
  const result = await discover(
    { changes },
    { regions: [REGION], clients, cache: new DefinitionCache() },
  );
  return { result, clients };
}

describe('discovery with recorded AWS replies', () => {
  it('reads every page of clusters and tasks, and describes tasks 100 at a time with tags', async () => {
    const clusters = Object.fromEntries(
      Array.from({ length: 3 }, (_, c) => [
        `c${c}`,
        Array.from({ length: c === 0 ? 250 : 1 }, (_, t) => ({
          id: `t${t}`,
          family: 'web',
          startedAt: BEFORE,
        })),
      ]),
    );
    const byPage = recordedAccount({ clusters });
    const { result, clients } = await run(byPage);
    expect(result.complete).toBe(true);
    expect(result.consumers.filter((c) => c.kind === 'ecs-task')).toHaveLength(252);
    // Three pages of tasks meant to run, one (empty) page of tasks being stopped.
    expect(
      byPage
        .calls('ecs:ListTasks')
        .filter((r) => r.input.cluster === clusterArn('c0'))
        .map((r) => r.input.desiredStatus),
    ).toEqual(['RUNNING', 'RUNNING', 'RUNNING', 'STOPPED']);
    const describes = byPage
      .calls('ecs:DescribeTasks')
      .filter((r) => r.input.cluster === clusterArn('c0'));
    expect(describes.map((r) => (r.input.tasks as string[]).length).sort()).toEqual([100, 100, 50]);
    expect(describes.every((r) => JSON.stringify(r.input.include) === '["TAGS"]')).toBe(true);
    expect(byPage.calls('ecs:ListTasks').every((r) => r.input.maxResults === 100)).toBe(true);
    expect(clients.counter.of('ecs:DescribeTaskDefinition')).toBe(1);
  });

  it('counts a task ECS is stopping as running until its last status is STOPPED', async () => {
    const recorded = recordedAccount({
      clusters: {
        c: [
          // Draining behind a load balancer: desired STOPPED, containers still running.
          { id: 'draining', family: 'web', startedAt: BEFORE, desiredStatus: 'STOPPED' },
          {
            id: 'stopping',
            family: 'web',
            startedAt: BEFORE,
            desiredStatus: 'STOPPED',
            lastStatus: 'DEACTIVATING',
          },
          {
            id: 'gone',
            family: 'web',
            startedAt: BEFORE,
            desiredStatus: 'STOPPED',
            lastStatus: 'STOPPED',
          },
        ],
      },
    });
    const { result } = await run(recorded);
    const found = result.consumers.map((c) => [c.arn.split('/').pop(), c.stale, c.staleRuns]);
    expect(found).toEqual([
      ['draining', true, 1],
      ['stopping', true, 1],
    ]);
    expect(result.consumers[0]?.staleReason).toMatch(/^being stopped; created /);
  });

  it('follows ListClusters pages', async () => {
    const clusters = Object.fromEntries(
      Array.from({ length: 5 }, (_, c) => [
        `c${c}`,
        [{ id: 't', family: 'web', startedAt: BEFORE }],
      ]),
    );
    const recorded = recordedAccount({ clusters, pageSize: 2 });
    const { result } = await run(recorded);
    expect(recorded.calls('ecs:ListClusters')).toHaveLength(3);
    expect(result.consumers).toHaveLength(5);
  });

  describe('task start times around the change', () => {
    it.each([
      [
        'created and started before the change',
        { startedAt: BEFORE },
        true,
        /created 2026-11-20T10:59:30.000Z, before the change of \/prod\/db\/password/,
      ],
      [
        'created before the change and started after it',
        { createdAt: BEFORE, startedAt: AFTER },
        true,
        /created .* before the change .* and started 2026-11-20T13:00:00.000Z, after it: it may have fetched either value/,
      ],
      ['created after the change', { startedAt: AFTER }, false, /created .*, after the change/],
      ['with no creation time', { createdAt: null }, true, /creation time unknown/],
      [
        'still PENDING, created before the change',
        { lastStatus: 'PENDING', createdAt: BEFORE },
        true,
        /created .* before the change/,
      ],
      [
        'still PENDING, created after the change',
        { lastStatus: 'PENDING', createdAt: AFTER },
        false,
        /created .*, after the change/,
      ],
    ])('a standalone task %s: stale %s', async (_label, task, stale, reason) => {
      const { result } = await run(
        recordedAccount({ clusters: { c: [{ id: 't', family: 'web', ...task }] } }),
      );
      expect(result.consumers[0]).toMatchObject({
        kind: 'ecs-task',
        stale,
        staleReason: expect.stringMatching(reason),
      });
    });

    it('calls a service fresh when its newest deployment began after the change', async () => {
      const recorded = recordedAccount({
        clusters: { c: [{ id: 't', family: 'web', group: 'service:api', startedAt: BEFORE }] },
        services: { api: { deployedAt: AFTER } },
      });
      const { result } = await run(recorded);
      expect(result.consumers[0]).toMatchObject({
        kind: 'ecs-service',
        name: 'api',
        stale: false,
        staleReason: expect.stringMatching(/deployment ecs-svc\/api began .* after the change/),
      });
    });

    it('calls a service stale when one of its tasks predates the change and no deployment is newer', async () => {
      const recorded = recordedAccount({
        clusters: {
          c: [
            { id: 'old', family: 'web', group: 'service:api', startedAt: BEFORE },
            { id: 'new', family: 'web', group: 'service:api', startedAt: AFTER },
          ],
        },
        services: {
          api: { deployedAt: BEFORE - 600, tags: { 'rotation-watcher:action': 'redeploy' } },
        },
      });
      const { result } = await run(recorded);
      expect(result.consumers).toHaveLength(1);
      expect(result.consumers[0]).toMatchObject({
        stale: true,
        cause: 'created-before',
        staleRuns: 1,
        staleReason: expect.stringMatching(/^1 of 2 running tasks may hold the old value/),
      });
      expect(result.consumers[0]?.tags[0]?.tags).toEqual({ 'rotation-watcher:action': 'redeploy' });
      expect(recorded.calls('ecs:DescribeServices')[0]?.input).toMatchObject({
        services: ['api'],
        include: ['TAGS'],
      });
    });

    it('describes services 10 at a time, and only those whose tasks reference the change', async () => {
      const tasks = Array.from({ length: 23 }, (_, i) => ({
        id: `t${i}`,
        family: i < 21 ? 'web' : 'other',
        group: `service:s${i}`,
        startedAt: BEFORE,
      }));
      const recorded = recordedAccount({ clusters: { c: tasks } });
      const { result } = await run(recorded);
      expect(result.consumers).toHaveLength(21);
      expect(
        recorded.calls('ecs:DescribeServices').map((r) => (r.input.services as string[]).length),
      ).toEqual([10, 10, 1]);
    });
  });

  describe('Batch', () => {
    const ms = (seconds: number) => seconds * 1000;
    const jobDefinitions = [
      {
        jobDefinitionName: 'single',
        jobDefinitionArn: jdArn('single'),
        revision: 1,
        type: 'container',
        containerProperties: {
          image: 'x',
          secrets: [{ name: 'P', valueFrom: '/prod/db/password' }],
        },
        tags: { 'rotation-watcher:action': 'resubmit' },
      },
      {
        jobDefinitionName: 'mnp',
        jobDefinitionArn: jdArn('mnp'),
        revision: 1,
        type: 'multinode',
        nodeProperties: {
          numNodes: 2,
          mainNode: 0,
          nodeRangeProperties: [
            {
              targetNodes: '0:',
              container: {
                image: 'x',
                secrets: [
                  {
                    name: 'P',
                    valueFrom: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/prod/db/password`,
                  },
                ],
              },
            },
          ],
        },
      },
      {
        jobDefinitionName: 'ecs',
        jobDefinitionArn: jdArn('ecs'),
        revision: 1,
        type: 'container',
        ecsProperties: {
          taskProperties: [
            {
              containers: [
                {
                  name: 'main',
                  image: 'x',
                  secrets: [{ name: 'P', valueFrom: 'prod/db/password' }],
                },
              ],
            },
          ],
        },
      },
    ];
    const jobs = [
      {
        jobArn: `arn:aws:batch:${REGION}:${ACCOUNT}:job/j1`,
        jobId: 'j1',
        jobName: 'nightly',
        status: 'RUNNING',
        createdAt: ms(BEFORE - 60),
        startedAt: ms(BEFORE),
        jobDefinition: jdArn('single'),
      },
      {
        jobArn: `arn:aws:batch:${REGION}:${ACCOUNT}:job/j2`,
        jobId: 'j2',
        jobName: 'queued',
        status: 'RUNNABLE',
        createdAt: ms(BEFORE),
        jobDefinition: jdArn('single'),
      },
      {
        jobArn: `arn:aws:batch:${REGION}:${ACCOUNT}:job/j3`,
        jobId: 'j3',
        jobName: 'solver',
        status: 'RUNNING',
        createdAt: ms(BEFORE),
        startedAt: ms(BEFORE),
        jobDefinition: jdArn('mnp'),
        nodeProperties: { isMainNode: true, numNodes: 2 },
      },
      {
        jobArn: `arn:aws:batch:${REGION}:${ACCOUNT}:job/j4`,
        jobId: 'j4',
        jobName: 'etl',
        status: 'RUNNING',
        createdAt: ms(AFTER),
        startedAt: ms(AFTER),
        jobDefinition: jdArn('ecs'),
        // DescribeJobs carries the resolved task properties; ListJobs' summaries do not.
        ecsProperties: {
          taskProperties: [
            {
              containers: [
                {
                  name: 'main',
                  command: ['etl', '--day', 'today'],
                  environment: [
                    { name: 'MODE', value: 'full' },
                    { name: 'AWS_BATCH_JOB_ID', value: 'j4' },
                  ],
                  resourceRequirements: [{ type: 'MEMORY', value: '2048' }],
                },
              ],
            },
          ],
        },
      },
    ];

    it('lists running and queued jobs of multi-node and ecsProperties definitions, with start times in epoch ms', async () => {
      const node = (n: number) => ({
        jobArn: `arn:aws:batch:${REGION}:${ACCOUNT}:job/j3#${n}`,
        jobId: `j3#${n}`,
        jobName: 'solver',
        status: 'RUNNING',
        createdAt: ms(BEFORE),
        startedAt: ms(BEFORE),
        nodeProperties: { nodeIndex: n },
      });
      const recorded = recordedAccount({
        clusters: {},
        jobs,
        jobDefinitions,
        children: { j3: [node(0), node(1)] },
      });
      const { result } = await run(recorded);
      const byName = Object.fromEntries(result.consumers.map((c) => [c.name, c]));
      expect(Object.keys(byName).sort()).toEqual(['etl', 'nightly', 'queued', 'solver']);
      expect(byName.nightly).toMatchObject({ kind: 'batch-job', stale: true });
      expect(byName.queued).toMatchObject({
        stale: false,
        staleReason: expect.stringMatching(
          /runnable, no container yet: it will read the current value/,
        ),
      });
      // A multi-node job is judged by its nodes, listed by multiNodeJobId.
      expect(byName.solver).toMatchObject({ stale: true, staleRuns: 2 });
      expect(byName.solver?.runs.map((r) => r.arn.split('/').pop())).toEqual(['j3#0', 'j3#1']);
      expect(byName.etl).toMatchObject({
        stale: false,
        staleReason: expect.stringMatching(/after the change/),
      });
      expect(byName.etl?.job?.submit.ecsPropertiesOverride).toEqual({
        taskProperties: [
          {
            containers: [
              {
                name: 'main',
                command: ['etl', '--day', 'today'],
                environment: [{ name: 'MODE', value: 'full' }],
                resourceRequirements: [{ type: 'MEMORY', value: '2048' }],
              },
            ],
          },
        ],
      });
      expect(byName.solver?.job?.submit.nodeOverrides).toEqual({ numNodes: 2 });
      expect(byName.nightly?.tags.map((t) => t.level)).toEqual([
        'job',
        'job-definition',
        'job-queue',
      ]);
      expect(byName.nightly?.job).toMatchObject({
        jobId: 'j1',
        definitionArn: jdArn('single'),
        parameters: { day: 'today' },
        submit: { retryStrategy: { attempts: 2 } },
      });
      const byQueue = recorded.calls('batch:ListJobs').filter((r) => r.input.jobQueue);
      expect(byQueue.map((r) => r.input.jobStatus).sort()).toEqual([
        'PENDING',
        'RUNNABLE',
        'RUNNING',
        'STARTING',
        'SUBMITTED',
      ]);
      const byParent = recorded.calls('batch:ListJobs').filter((r) => r.input.multiNodeJobId);
      expect(byParent.map((r) => r.input.jobStatus).sort()).toEqual(['RUNNING', 'STARTING']);
      expect(recorded.calls('batch:DescribeJobDefinitions')).toHaveLength(1);
    });
  });

  describe('faults', () => {
    it('retries a throttled call and then answers in full', async () => {
      let throttled = 0;
      const recorded = recordedAccount({
        clusters: { c: [{ id: 't', family: 'web', startedAt: BEFORE }] },
        fault: (request) =>
          request.operation === 'ListTasks' && throttled++ === 0
            ? awsError('ThrottlingException', 'Rate exceeded')
            : undefined,
      });
      const { result, clients } = await run(recorded);
      expect(result.complete).toBe(true);
      expect(result.consumers).toHaveLength(1);
      // RUNNING (throttled once, then answered) and STOPPED.
      expect(clients.counter.byApi()['ecs:ListTasks']).toEqual({
        calls: 2,
        attempts: 3,
        throttled: 1,
        failed: 0,
      });
    });

    it('counts a task DescribeTasks failed for as unread, not gone (only MISSING is gone)', async () => {
      const recorded = recordedAccount({
        clusters: { c: [{ id: 't', family: 'web', startedAt: BEFORE }] },
        fault: (request) =>
          request.operation === 'DescribeTasks'
            ? {
                body: {
                  tasks: [],
                  failures: [{ arn: taskArn('c', 't'), reason: 'ACCESS_DENIED' }],
                },
              }
            : undefined,
      });
      const { result } = await run(recorded);
      expect(result.complete).toBe(false);
      expect(result.gaps).toContainEqual(
        expect.objectContaining({
          api: 'ecs:DescribeTasks',
          error: expect.stringMatching(/ACCESS_DENIED/),
        }),
      );
    });

    it('isolates an AccessDenied cluster: the others are answered and the gap is named', async () => {
      const recorded = recordedAccount({
        clusters: {
          open: [{ id: 't', family: 'web', startedAt: BEFORE }],
          locked: [{ id: 'u', family: 'web', startedAt: BEFORE }],
        },
        fault: (request) =>
          request.operation === 'ListTasks' && request.input.cluster === clusterArn('locked')
            ? awsError('AccessDeniedException', 'User is not authorized to perform: ecs:ListTasks')
            : undefined,
      });
      const { result } = await run(recorded);
      expect(result.complete).toBe(false);
      expect(result.consumers.map((c) => c.parent)).toEqual([clusterArn('open')]);
      expect(result.gaps).toEqual([
        {
          region: REGION,
          scope: clusterArn('locked'),
          api: 'ecs:ListTasks',
          error: 'AccessDeniedException: User is not authorized to perform: ecs:ListTasks',
          affects: { kind: 'any' },
        },
      ]);
    });

    it('has each failed read say which changes it could concern', async () => {
      const recorded = recordedAccount({
        clusters: { c: [{ id: 't', family: 'web', group: 'service:api', startedAt: BEFORE }] },
        fault: (request) =>
          request.operation === 'DescribeServices' || request.operation === 'DescribeParameters'
            ? awsError('AccessDeniedException', `not authorized to ${request.operation}`)
            : request.operation === 'DescribeJobQueues'
              ? awsError('AccessDeniedException', 'no batch for you')
              : undefined,
      });
      const { result } = await run(recorded);
      const affects = Object.fromEntries(result.gaps.map((gap) => [gap.api, gap.affects]));
      expect(affects).toEqual({
        // The service's tasks are known: only its cluster's consumers' changes are in doubt.
        'ecs:DescribeServices': { kind: 'consumers', region: REGION, parent: clusterArn('c') },
        // Only the times of parameters in this region are unknown.
        'ssm:DescribeParameters': { kind: 'values', service: 'ssm', region: REGION },
        // A queue that cannot be listed may hold a consumer of anything.
        'batch:DescribeJobQueues': { kind: 'any' },
      });
    });

    it('makes the CLI exit 3 and say what is missing when the answer is incomplete', async () => {
      const recorded = recordedAccount({
        clusters: { open: [{ id: 't', family: 'web', startedAt: BEFORE }] },
        fault: (request) =>
          request.service === 'batch'
            ? awsError('AccessDeniedException', 'no batch for you')
            : request.service === 'ssm'
              ? {
                  body: {
                    Parameters: [
                      { Name: '/prod/db/password', LastModifiedDate: BEFORE + 1800, Version: 3 },
                    ],
                  },
                }
              : undefined,
      });
      const { code, stdout, stderr } = await cli(
        ['who-uses', '/prod/db/password', '--region', REGION, '--json'],
        undefined,
        { requestHandler: recorded, credentials, maxAttempts: 2 },
      );
      expect(code).toBe(3);
      expect(JSON.parse(stdout)).toMatchObject({
        complete: false,
        gaps: [
          { api: 'batch:DescribeJobQueues', error: 'AccessDeniedException: no batch for you' },
        ],
      });
      expect(stdout).toContain('"stale": true');
      expect(stderr).toMatch(
        /warning: could not read batch in us-east-1 \(batch:DescribeJobQueues\): AccessDeniedException: no batch for you/,
      );
      expect(stderr).toMatch(/the answer is incomplete: 1 part of the account could not be read/);
    });
  });
});

describe('the progress line', () => {
  const account = () =>
    recordedAccount({
      clusters: {
        a: [{ id: 't', family: 'web', startedAt: BEFORE }],
        b: [{ id: 'u', family: 'web', startedAt: BEFORE }],
      },
    });
  const runWith = async (interactive: boolean) => {
    let err = '';
    let out = '';
    const { run: cliRun } = await import('../../lib/cli/main.js');
    const code = await cliRun(
      ['drift', '--region', REGION, '--json'],
      { out: (t) => (out += t), err: (t) => (err += t), interactive },
      { clientOptions: { requestHandler: account(), credentials } },
    );
    return { code, err, out };
  };

  it('shows scan progress on stderr when a person watches a terminal, and clears it', async () => {
    const { err, out } = await runWith(true);
    expect(err).toContain('\r\x1b[Kscanning us-east-1: ECS clusters 1/2');
    expect(err).toContain('\r\x1b[Kscanning us-east-1: ECS clusters 2/2');
    expect(err.endsWith('\r\x1b[K')).toBe(true);
    expect(() => JSON.parse(out)).not.toThrow();
  });

  it('prints nothing on stderr when stderr is not a terminal', async () => {
    const { err } = await runWith(false);
    expect(err).toBe('');
  });
});

describe("an event's change, judged by AWS's record", () => {
  const late: Change = { ...change, changedAt: '2026-11-20T12:30:00.000Z' };
  const between = Date.parse('2026-11-20T12:10:00Z') / 1000;

  it("uses the parameter's LastModifiedDate and Version, not the late event's time", async () => {
    const recorded = recordedAccount({
      clusters: { c: [{ id: 't', family: 'web', createdAt: between, startedAt: between + 30 }] },
    });
    const { result } = await run(recorded, [late]);
    expect(result.changes[0]).toMatchObject({
      changedAt: CHANGED_AT,
      timeSource: 'aws',
      version: '2',
      eventTime: CHANGED_AT,
    });
    // Created after AWS's record of the change, before the event's time: fresh.
    expect(result.consumers[0]).toMatchObject({ stale: false, cause: 'created-after' });
  });

  it("falls back to the event's time when the metadata cannot be read, and says so", async () => {
    const recorded = recordedAccount({
      clusters: { c: [{ id: 't', family: 'web', createdAt: between, startedAt: between + 30 }] },
      fault: (request) =>
        request.operation === 'DescribeParameters'
          ? awsError('AccessDeniedException', 'not authorized to perform ssm:DescribeParameters')
          : undefined,
    });
    const { result } = await run(recorded, [late]);
    expect(result.changes[0]).toMatchObject({ changedAt: late.changedAt, timeSource: 'event' });
    expect(result.gaps.map((gap) => gap.api)).toEqual(['ssm:DescribeParameters']);
    expect(result.consumers[0]).toMatchObject({
      stale: true,
      staleReason: expect.stringMatching(/by the event's time: AWS's record could not be read/),
    });
  });
});

describe('an array job whose children cannot be listed', () => {
  it('is counted as stale and marked so that nothing restarts it on a guess', async () => {
    const recorded = recordedAccount({
      clusters: {},
      jobDefinitions: [
        {
          jobDefinitionName: 'j',
          jobDefinitionArn: jdArn('j'),
          revision: 1,
          type: 'container',
          containerProperties: {
            image: 'x',
            secrets: [{ name: 'P', valueFrom: '/prod/db/password' }],
          },
        },
      ],
      jobs: [
        {
          jobArn: `arn:aws:batch:${REGION}:${ACCOUNT}:job/p`,
          jobId: 'p',
          jobName: 'render',
          status: 'PENDING',
          createdAt: BEFORE * 1000,
          jobDefinition: jdArn('j'),
          arrayProperties: { size: 100 },
        },
      ],
      fault: (request) =>
        request.operation === 'ListJobs' && request.input.arrayJobId
          ? awsError('AccessDeniedException', 'not authorized to perform batch:ListJobs')
          : undefined,
    });
    const { result } = await run(recorded);
    expect(result.complete).toBe(false);
    expect(result.consumers[0]).toMatchObject({
      stale: true,
      cause: 'time-unknown',
      job: { arraySize: 100, childrenUnknown: true },
    });
  });
});

describe('a deletion AWS does not show yet', () => {
  it('stays a deletion when the record still shows the value from before it (a lagging read)', async () => {
    const deletedAt = '2026-11-20T12:30:00.000Z';
    const deletion: Change = {
      ...change,
      operation: 'Delete',
      effect: 'deleted',
      changedAt: deletedAt,
      eventTime: deletedAt,
    };
    const recorded = recordedAccount({
      clusters: { c: [{ id: 't', family: 'web', startedAt: BEFORE }] },
    });
    const { result } = await run(recorded, [deletion]);
    expect(result.changes[0]).toMatchObject({ effect: 'deleted', changedAt: deletedAt });
  });
});

describe('a deleted value that is still referenced', () => {
  const deleted: Change = { ...change, operation: 'Delete', effect: 'deleted' };

  it('is an alarm for a job that has not started yet (it will fail to start)', async () => {
    const recorded = recordedAccount({
      clusters: {},
      deletedParameters: ['/prod/db/password'],
      jobDefinitions: [
        {
          jobDefinitionName: 'j',
          jobDefinitionArn: jdArn('j'),
          revision: 1,
          type: 'container',
          containerProperties: {
            image: 'x',
            secrets: [{ name: 'P', valueFrom: '/prod/db/password' }],
          },
        },
      ],
      jobs: [
        {
          jobArn: `arn:aws:batch:${REGION}:${ACCOUNT}:job/q1`,
          jobId: 'q1',
          jobName: 'queued',
          status: 'RUNNABLE',
          createdAt: BEFORE * 1000,
          jobDefinition: jdArn('j'),
        },
      ],
    });
    const { result } = await run(recorded, [deleted]);
    const consumer = result.consumers[0];
    expect(consumer).toMatchObject({ stale: false, changes: [deleted] });
    const { plan } = await import('../../lib/plan.js');
    expect(
      plan(result.consumers, { defaultAction: 'resubmit', maxActions: 25 }).decisions[0],
    ).toMatchObject({
      action: 'notify',
      reason: expect.stringMatching(/^alarm: \/prod\/db\/password was deleted/),
    });
  });

  it('is an alarm for a service redeployed after the deletion (its new tasks cannot start)', async () => {
    const recorded = recordedAccount({
      clusters: { c: [{ id: 't', family: 'web', group: 'service:api', startedAt: BEFORE }] },
      services: { api: { deployedAt: AFTER, tags: { 'rotation-watcher:action': 'redeploy' } } },
      deletedParameters: ['/prod/db/password'],
    });
    const { result } = await run(recorded, [deleted]);
    expect(result.consumers[0]).toMatchObject({ stale: false, changes: [deleted] });
    const { decide } = await import('../../lib/plan.js');
    expect(
      decide(result.consumers[0] as never, { defaultAction: 'notify', maxActions: 25 }).action,
    ).toBe('notify');
  });
});

describe('WATCHER_NAME_PREFIX', () => {
  it('makes the sweep read the metadata of watched values only', async () => {
    const { runPipeline } = await import('../../lib/pipeline.js');
    const { readSettings } = await import('../../lib/config.js');
    const recorded = recordedAccount({
      clusters: {
        c: [
          { id: 't', family: 'web', startedAt: BEFORE },
          { id: 'u', family: 'other', startedAt: BEFORE },
        ],
      },
    });
    const clients = new AwsClients({ requestHandler: recorded, credentials, maxAttempts: 2 });
    const run = await runPipeline(
      { sweep: true },
      {
        clients,
        cache: new DefinitionCache(),
        regions: [REGION],
        home: REGION,
        settings: readSettings({ WATCHER_NAME_PREFIX: '/prod/' }),
      },
      { apply: false },
    );
    const asked = recorded
      .calls('ssm:DescribeParameters')
      .flatMap((r) => (r.input.ParameterFilters as Array<{ Values: string[] }>)[0]?.Values ?? []);
    expect(asked).toEqual(['/prod/db/password']);
    expect(run.report.changes.map((c) => c.name)).toEqual(['/prod/db/password']);
  });

  it('leaves changes outside the prefix alone: no discovery, no consumer', async () => {
    const { runPipeline } = await import('../../lib/pipeline.js');
    const { readSettings } = await import('../../lib/config.js');
    const { DefinitionCache: Cache } = await import('../../lib/discovery/index.js');
    const recorded = recordedAccount({
      clusters: { c: [{ id: 't', family: 'web', startedAt: BEFORE }] },
    });
    const clients = new AwsClients({ requestHandler: recorded, credentials, maxAttempts: 2 });
    const deps = { clients, cache: new Cache(), regions: [REGION], home: REGION };
    const records = [{ recordId: 'r1', changes: [change], ignored: null, error: null }];
    const outside = await runPipeline(
      { records },
      { ...deps, settings: readSettings({ WATCHER_NAME_PREFIX: '/staging/' }) },
      { apply: false },
    );
    expect(outside.report.consumers).toEqual([]);
    expect(recorded.requests).toHaveLength(0);
    const inside = await runPipeline(
      { records },
      { ...deps, settings: readSettings({ WATCHER_NAME_PREFIX: 'prod/' }) },
      { apply: false },
    );
    expect(inside.report.consumers).toHaveLength(1);
  });
});
