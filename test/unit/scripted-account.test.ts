import { BatchClient, DescribeJobsCommand, ListJobsCommand } from '@aws-sdk/client-batch';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  InvalidParameterException,
  ListTasksCommand,
  ServiceNotActiveException,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeSecretCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  emptyAccount,
  type ScriptedAccount,
  type ScriptedServer,
  serveScripted,
} from '../support/account/index.js';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** One cluster with a live, a draining and a long-deleted service; a queue with an array job. */
function account(): ScriptedAccount {
  const a = emptyAccount(NOW);
  a.clusters = ['prod'];
  a.taskDefinitions = [
    { family: 'web', revision: 3, secrets: [{ name: 'DB', valueFrom: '/prod/db/password' }] },
  ];
  const deployment = (id: string) => ({
    id,
    status: 'PRIMARY' as const,
    rolloutState: 'COMPLETED' as const,
    createdAt: NOW - 2 * HOUR,
    updatedAt: NOW - 2 * HOUR + 5 * MINUTE,
    taskDefinition: 'web:3',
  });
  const service = (name: string, status: 'ACTIVE' | 'DRAINING' | 'gone', deployments = 1) => ({
    cluster: 'prod',
    name,
    status,
    desiredCount: 5,
    deployments: Array.from({ length: deployments }, () => deployment(`ecs-svc/${name}`)),
  });
  a.services = [service('web', 'ACTIVE'), service('drain', 'DRAINING'), service('old', 'gone', 0)];
  const task = (n: number, id = `t${n}`) => ({
    cluster: 'prod',
    id,
    taskDefinition: 'web:3',
    group: 'service:web',
    startedBy: 'ecs-svc/web',
    // A fraction of a second, to show times keep their milliseconds on the wire.
    createdAt: NOW - 2 * HOUR + n * MINUTE + 250,
    startedAt: NOW - 2 * HOUR + n * MINUTE + 30_000,
    lastStatus: 'RUNNING' as const,
    desiredStatus: 'RUNNING' as const,
    tags: { team: 'payments' },
  });
  a.tasks = [1, 2, 3, 4, 5].map((n) => task(n));
  a.tasks.push(
    { ...task(6, 'stopping'), desiredStatus: 'STOPPED', lastStatus: 'DEACTIVATING' },
    { ...task(7, 'no-times'), createdAt: undefined, startedAt: undefined },
  );
  a.jobQueues = [{ name: 'jobs' }];
  a.jobDefinitions = [{ name: 'nightly', revision: 1, secrets: [] }];
  const job = (id: string, startedMinutesAgo?: number) => ({
    id,
    name: 'nightly',
    queue: 'jobs',
    definition: 'nightly:1',
    status: 'RUNNING' as const,
    createdAt: NOW - HOUR,
    startedAt: startedMinutesAgo === undefined ? undefined : NOW - startedMinutesAgo * MINUTE,
  });
  a.jobs = [
    { ...job('arr', 50), arraySize: 2 },
    { ...job('arr:0', 50), arrayParent: 'arr', arrayIndex: 0 },
    { ...job('arr:1', 40), arrayParent: 'arr', arrayIndex: 1 },
    job('solo'),
  ];
  a.parameters = [{ name: '/prod/db/password', version: 3, lastModified: NOW - 30 * MINUTE }];
  a.secrets = [
    {
      name: 'prod/api',
      suffix: 'AbCdEf',
      lastChanged: NOW - 10 * MINUTE,
      currentVersion: 'v2',
      previousVersion: 'v1',
    },
  ];
  return a;
}

function clients(endpoint: string) {
  const config = {
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  };
  return {
    ecs: new ECSClient(config),
    batch: new BatchClient(config),
    ssm: new SSMClient(config),
    secrets: new SecretsManagerClient(config),
  };
}

let model: ScriptedAccount;
let server: ScriptedServer;
let aws: ReturnType<typeof clients>;
beforeEach(async () => {
  model = account();
  server = await serveScripted(model);
  aws = clients(server.endpoint);
});
afterEach(() => server.stop());

describe('scripted account: ECS', () => {
  it('pages ListTasks by the account page size and lists only tasks meant to run', async () => {
    model.pageSize = 2;
    const pages: string[][] = [];
    let nextToken: string | undefined;
    do {
      const reply = await aws.ecs.send(new ListTasksCommand({ cluster: 'prod', nextToken }));
      pages.push(reply.taskArns ?? []);
      nextToken = reply.nextToken;
    } while (nextToken);
    expect(pages.map((page) => page.length)).toEqual([2, 2, 2]);
    const ids = pages.flat().map((arn) => arn.split('/').pop());
    expect(ids).toEqual(['t1', 't2', 't3', 't4', 't5', 'no-times']);
    expect(pages[0]?.[0]).toBe('arn:aws:ecs:us-east-1:123456789012:task/prod/t1');
    expect(server.requests.filter((r) => r.api === 'ecs:ListTasks')).toHaveLength(3);
  });

  it('DescribeTasks sends the model times as dates, omits unknown ones and reports missing tasks', async () => {
    const reply = await aws.ecs.send(
      new DescribeTasksCommand({
        cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod',
        tasks: ['t2', 'no-times', 'nope'],
        include: ['TAGS'],
      }),
    );
    const [t2, bare] = reply.tasks ?? [];
    expect(t2?.createdAt).toEqual(new Date(NOW - 2 * HOUR + 2 * MINUTE + 250));
    expect(t2?.startedAt).toEqual(new Date(NOW - 2 * HOUR + 2 * MINUTE + 30_000));
    expect(t2?.tags).toEqual([{ key: 'team', value: 'payments' }]);
    expect(bare?.createdAt).toBeUndefined();
    expect(bare?.startedAt).toBeUndefined();
    expect(reply.failures).toEqual([{ arn: 'nope', reason: 'MISSING' }]);
    const tooMany = Array.from({ length: 101 }, (_, i) => `t${i}`);
    await expect(
      aws.ecs.send(new DescribeTasksCommand({ cluster: 'prod', tasks: tooMany })),
    ).rejects.toBeInstanceOf(InvalidParameterException);
  });

  it('DescribeServices reports a long-deleted service as MISSING', async () => {
    const reply = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: 'prod', services: ['web', 'old'] }),
    );
    expect(reply.services?.map((s) => s.serviceName)).toEqual(['web']);
    expect(reply.services?.[0]?.deployments?.[0]?.createdAt).toEqual(new Date(NOW - 2 * HOUR));
    expect(reply.failures).toEqual([
      { arn: 'arn:aws:ecs:us-east-1:123456789012:service/prod/old', reason: 'MISSING' },
    ]);
  });

  it('UpdateService starts a PRIMARY deployment at the account clock', async () => {
    model.now = NOW + 5 * MINUTE;
    const reply = await aws.ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'web', forceNewDeployment: true }),
    );
    const [fresh, previous] = reply.service?.deployments ?? [];
    expect(fresh?.status).toBe('PRIMARY');
    expect(fresh?.rolloutState).toBe('IN_PROGRESS');
    expect(fresh?.createdAt).toEqual(new Date(NOW + 5 * MINUTE));
    expect(fresh?.taskDefinition).toBe('arn:aws:ecs:us-east-1:123456789012:task-definition/web:3');
    expect(fresh?.id).not.toBe('ecs-svc/web');
    expect(previous).toMatchObject({ id: 'ecs-svc/web', status: 'ACTIVE' });
    expect(model.services[0]?.deployments.map((d) => d.status)).toEqual(['PRIMARY', 'ACTIVE']);
    expect(server.mutations).toEqual([
      {
        api: 'ecs:UpdateService',
        input: { cluster: 'prod', service: 'web', forceNewDeployment: true },
        at: NOW + 5 * MINUTE,
      },
    ]);
  });

  it('UpdateService rejects a draining service', async () => {
    await expect(
      aws.ecs.send(
        new UpdateServiceCommand({ cluster: 'prod', service: 'drain', forceNewDeployment: true }),
      ),
    ).rejects.toBeInstanceOf(ServiceNotActiveException);
    expect(model.services[1]?.deployments).toHaveLength(1);
  });
});

describe('scripted account: Batch', () => {
  it('lists array children by their parent only, with their start times', async () => {
    const byQueue = await aws.batch.send(new ListJobsCommand({ jobQueue: 'jobs' }));
    expect(byQueue.jobSummaryList?.map((job) => job.jobId)).toEqual(['arr', 'solo']);
    expect(byQueue.jobSummaryList?.[0]?.arrayProperties).toEqual({ size: 2 });

    const children = await aws.batch.send(new ListJobsCommand({ arrayJobId: 'arr' }));
    expect(children.jobSummaryList?.map((job) => [job.jobId, job.startedAt])).toEqual([
      ['arr:0', NOW - 50 * MINUTE],
      ['arr:1', NOW - 40 * MINUTE],
    ]);
    expect(children.jobSummaryList?.[1]?.arrayProperties).toEqual({ index: 1 });

    // The model is read on every call: a child that finishes leaves the RUNNING list.
    const [, first] = model.jobs;
    if (first) first.status = 'SUCCEEDED';
    const after = await aws.batch.send(new ListJobsCommand({ arrayJobId: 'arr' }));
    expect(after.jobSummaryList?.map((job) => job.jobId)).toEqual(['arr:1']);
    const parent = await aws.batch.send(new DescribeJobsCommand({ jobs: ['arr'] }));
    expect(parent.jobs?.[0]?.arrayProperties?.statusSummary).toMatchObject({
      RUNNING: 1,
      SUCCEEDED: 1,
    });
  });
});

describe('scripted account: metadata', () => {
  it('DescribeParameters answers either spelling with the last modification time', async () => {
    for (const name of ['/prod/db/password', 'prod/db/password']) {
      const reply = await aws.ssm.send(
        new DescribeParametersCommand({
          ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }],
          MaxResults: 50,
        }),
      );
      expect(reply.Parameters?.map((p) => [p.Name, p.ARN, p.Version])).toEqual([
        ['/prod/db/password', 'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password', 3],
      ]);
      expect(reply.Parameters?.[0]?.LastModifiedDate).toEqual(new Date(NOW - 30 * MINUTE));
    }
  });

  it('DescribeSecret finds a secret by name, full or partial ARN', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api';
    for (const SecretId of ['prod/api', `${arn}-AbCdEf`, arn]) {
      const reply = await aws.secrets.send(new DescribeSecretCommand({ SecretId }));
      expect(reply.ARN).toBe(`${arn}-AbCdEf`);
      expect(reply.LastChangedDate).toEqual(new Date(NOW - 10 * MINUTE));
      expect(reply.DeletedDate).toBeUndefined();
      expect(reply.VersionIdsToStages).toEqual({ v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] });
    }
    await expect(
      aws.secrets.send(new DescribeSecretCommand({ SecretId: 'prod/other' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});
