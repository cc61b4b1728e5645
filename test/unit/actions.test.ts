import {
  BatchClient,
  ClientException,
  SubmitJobCommand,
  TerminateJobCommand,
} from '@aws-sdk/client-batch';
import {
  AccessDeniedException,
  ClusterNotFoundException,
  ECSClient,
  ServiceNotActiveException,
  ServiceNotFoundException,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { execute } from '../../lib/actions/index.js';
import { AwsClients } from '../../lib/aws/index.js';
import type { Consumer } from '../../lib/domain/index.js';
import type { PlannedAction } from '../../lib/plan.js';
import { ACCOUNT, aChange, aConsumer } from '../helpers/factories.js';

const ecs = mockClient(ECSClient);
const batch = mockClient(BatchClient);

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };
const clients = () => new AwsClients({ credentials, maxAttempts: 1 });

beforeEach(() => {
  ecs.reset();
  batch.reset();
});

function planned(consumer: Consumer, status: PlannedAction['status'] = 'planned'): PlannedAction {
  return {
    kind: consumer.kind === 'batch-job' ? 'resubmit' : 'redeploy',
    consumer,
    status,
    detail: status === 'planned' ? 'by the tag' : 'held back: WATCHER_MAX_ACTIONS allows 0',
  };
}

const deployments = (id: string) => ({
  service: {
    deployments: [
      { id: 'ecs-svc/old', status: 'ACTIVE' },
      { id, status: 'PRIMARY' },
    ],
  },
});

describe('redeploy', () => {
  it('forces a new deployment of the service in its cluster and reports the new deployment id', async () => {
    const service = aConsumer({ kind: 'ecs-service' });
    ecs.on(UpdateServiceCommand).resolves(deployments('ecs-svc/1234567890'));

    const [outcome] = await execute([planned(service)], { clients: clients(), dryRun: false });

    expect(ecs.commandCalls(UpdateServiceCommand).map((call) => call.args[0].input)).toEqual([
      {
        cluster: `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/prod`,
        service: service.arn,
        forceNewDeployment: true,
      },
    ]);
    expect(outcome).toMatchObject({ kind: 'redeploy', target: service.arn, status: 'done' });
    expect(outcome?.detail).toContain('ecs-svc/1234567890');
  });

  it("calls ECS in the consumer's own region", async () => {
    const service = aConsumer({ kind: 'ecs-service', region: 'eu-west-1' });
    ecs.on(UpdateServiceCommand).resolves(deployments('ecs-svc/1'));

    await execute([planned(service)], { clients: clients(), dryRun: false });

    const client = ecs.call(0).thisValue as ECSClient;
    expect(await client.config.region()).toBe('eu-west-1');
  });

  it.each([
    [
      'ClusterNotFoundException',
      new ClusterNotFoundException({
        message: 'Cluster not found.',
        $metadata: { httpStatusCode: 400 },
      }),
    ],
    [
      'AccessDeniedException',
      new AccessDeniedException({
        message: 'User is not authorized to perform ecs:UpdateService',
        $metadata: { httpStatusCode: 400 },
      }),
    ],
  ])('reports %s as failed, and still completes the other actions', async (name, error) => {
    const broken = aConsumer({ kind: 'ecs-service' });
    const healthy = aConsumer({ kind: 'ecs-service' });
    const job = aConsumer({ kind: 'batch-job' });
    ecs.on(UpdateServiceCommand).resolves(deployments('ecs-svc/ok'));
    ecs.on(UpdateServiceCommand, { service: broken.arn }).rejects(error);
    batch.on(SubmitJobCommand).resolves({ jobId: 'job-new', jobName: job.name, jobArn: 'x' });
    batch.on(TerminateJobCommand).resolves({});

    const outcomes = await execute([planned(broken), planned(healthy), planned(job)], {
      clients: clients(),
      dryRun: false,
    });

    expect(outcomes.map((outcome) => [outcome.target, outcome.status])).toEqual([
      [broken.arn, 'failed'],
      [healthy.arn, 'done'],
      [job.arn, 'done'],
    ]);
    expect(outcomes[0]?.detail).toBe(`${name}: ${error.message}`);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(2);
    expect(batch.commandCalls(TerminateJobCommand)).toHaveLength(1);
  });
});

describe('a service deleted between discovery and the redeploy', () => {
  it.each([
    [
      'ServiceNotFoundException',
      new ServiceNotFoundException({
        message: 'Service not found.',
        $metadata: { httpStatusCode: 400 },
      }),
    ],
    [
      'ServiceNotActiveException',
      new ServiceNotActiveException({
        message: 'Service was not ACTIVE.',
        $metadata: { httpStatusCode: 400 },
      }),
    ],
  ])('is skipped on %s, not failed: nothing is left to redeploy', async (name, error) => {
    const gone = aConsumer({ kind: 'ecs-service' });
    ecs.on(UpdateServiceCommand).rejects(error);

    const [outcome] = await execute([planned(gone)], { clients: clients(), dryRun: false });

    expect(outcome).toMatchObject({ status: 'skipped' });
    expect(outcome?.detail).toBe(
      `not redeployed: the service was deleted before the redeploy (${name})`,
    );
  });
});

describe('what is not carried out', () => {
  it('fails a service it cannot redeploy (no cluster known) with the reason alone, and calls nothing', async () => {
    const orphan = aConsumer({ kind: 'ecs-service', parent: null, service: null });

    const [outcome] = await execute([planned(orphan)], { clients: clients(), dryRun: false });

    expect(outcome).toMatchObject({ status: 'failed', detail: 'the service has no cluster' });
    expect(ecs.calls()).toHaveLength(0);
  });

  it('keeps an action the cap held back skipped, with its detail, and calls nothing', async () => {
    const action = planned(aConsumer({ kind: 'ecs-service' }), 'skipped');

    const [outcome] = await execute([action], { clients: clients(), dryRun: false });

    expect(outcome).toMatchObject({ status: 'skipped', detail: action.detail });
    expect(ecs.calls()).toHaveLength(0);
  });

  it('reports every planned action as skipped in a dry run and makes no AWS call', async () => {
    const actions = [
      planned(aConsumer({ kind: 'ecs-service' })),
      planned(aConsumer({ kind: 'batch-job' })),
      planned(aConsumer({ kind: 'ecs-service' }), 'skipped'),
    ];

    const outcomes = await execute(actions, { clients: clients(), dryRun: true });

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(outcomes[0]?.detail).toMatch(/dry run/);
    expect(outcomes[1]?.detail).toMatch(/dry run/);
    expect(outcomes[2]?.detail).toBe(actions[2]?.detail);
    expect(ecs.calls()).toHaveLength(0);
    expect(batch.calls()).toHaveLength(0);
  });
});

describe('resubmit', () => {
  const definitionArn = `arn:aws:batch:us-east-1:${ACCOUNT}:job-definition/etl:3`;
  const queue = `arn:aws:batch:us-east-1:${ACCOUNT}:job-queue/nightly`;
  const containerOverrides = {
    command: ['etl', '--full'],
    environment: [{ name: 'MODE', value: 'full' }],
    resourceRequirements: [{ type: 'VCPU', value: '2' }],
  };

  function aJob(changes = [aChange()]): Consumer {
    return aConsumer({
      kind: 'batch-job',
      name: 'nightly-etl',
      changes,
      job: {
        jobId: 'job-old',
        queue,
        definitionArn,
        parameters: { day: 'today' },
        submit: {
          retryStrategy: { attempts: 2 },
          timeout: { attemptDurationSeconds: 600 },
          containerOverrides,
          tags: {
            owner: 'etl',
            'aws:batch:compute-environment': 'ce',
            'aws:cloudformation:x': 'y',
          },
          schedulingPriority: 7,
        },
        replacedBy: null,
        arraySize: null,
        numNodes: null,
        childrenUnknown: false,
      },
    });
  }

  beforeEach(() => {
    batch.on(SubmitJobCommand).resolves({ jobId: 'job-new', jobName: 'nightly-etl', jobArn: 'x' });
    batch.on(TerminateJobCommand).resolves({});
  });

  it('submits the same job again, tagged with the job it replaces', async () => {
    await execute([planned(aJob())], { clients: clients(), dryRun: false });

    const [submit] = batch.commandCalls(SubmitJobCommand);
    expect(submit?.args[0].input).toEqual({
      jobName: 'nightly-etl',
      jobQueue: queue,
      jobDefinition: definitionArn,
      parameters: { day: 'today' },
      retryStrategy: { attempts: 2 },
      timeout: { attemptDurationSeconds: 600 },
      containerOverrides,
      tags: { owner: 'etl', 'rotation-watcher:replaces': 'job-old' },
      schedulingPriorityOverride: 7,
    });
  });

  it('then terminates the old job with a reason naming the new job and the changed values', async () => {
    const changes = [aChange(), aChange({ name: '/prod/api/key' }), aChange()];

    const [outcome] = await execute([planned(aJob(changes))], {
      clients: clients(),
      dryRun: false,
    });

    expect(batch.calls().map((call) => call.args[0].constructor.name)).toEqual([
      'SubmitJobCommand',
      'TerminateJobCommand',
    ]);
    const terminate = batch.commandCalls(TerminateJobCommand)[0]?.args[0].input;
    expect(terminate?.jobId).toBe('job-old');
    expect(terminate?.reason).toContain('job-new');
    expect(terminate?.reason).toContain('/prod/db/password, /prod/api/key');
    expect(outcome).toMatchObject({ status: 'done' });
    expect(outcome?.detail).toMatch(/job-new.*job-old terminated/);
  });

  it('keeps the termination reason within 255 characters when many long names changed', async () => {
    const changes = Array.from({ length: 8 }, (_, i) =>
      aChange({ name: `/prod/${'very-long-parameter-name-'.repeat(4)}${i}` }),
    );

    await execute([planned(aJob(changes))], { clients: clients(), dryRun: false });

    const reason = batch.commandCalls(TerminateJobCommand)[0]?.args[0].input.reason ?? '';
    expect(reason.length).toBeLessThanOrEqual(255);
    expect(reason).toContain('job-new');
  });

  it('finishes a resubmit whose old job still runs: TerminateJob only, never a second SubmitJob', async () => {
    const old = aJob();
    old.job = { ...(old.job as NonNullable<typeof old.job>), replacedBy: 'job-new' };
    batch.on(TerminateJobCommand).resolves({});

    const [outcome] = await execute([planned(old)], { clients: clients(), dryRun: false });

    expect(outcome).toMatchObject({
      status: 'done',
      detail: expect.stringMatching(/already resubmitted as job-new; it is terminated now/),
    });
    expect(batch.commandCalls(SubmitJobCommand)).toHaveLength(0);
    expect(batch.commandCalls(TerminateJobCommand)[0]?.args[0].input.reason).toContain('job-new');
  });

  it('fails, and so keeps the record, when the old job cannot be terminated after a resubmit', async () => {
    batch.on(SubmitJobCommand).resolves({ jobId: 'job-new', jobName: 'x', jobArn: 'x' });
    batch
      .on(TerminateJobCommand)
      .rejects(new ClientException({ message: 'Throttled', $metadata: { httpStatusCode: 400 } }));

    const [outcome] = await execute([planned(aJob())], { clients: clients(), dryRun: false });

    expect(outcome).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(
        /^resubmitted as job job-new, but job .* could not be terminated and still runs on the old value/,
      ),
    });
  });

  it('reports a failed SubmitJob and leaves the old job running', async () => {
    batch.on(SubmitJobCommand).rejects(
      new ClientException({
        message: 'Job queue nightly does not exist.',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    const [outcome] = await execute([planned(aJob())], { clients: clients(), dryRun: false });

    expect(outcome).toMatchObject({
      kind: 'resubmit',
      status: 'failed',
      detail: 'ClientException: Job queue nightly does not exist.',
    });
    expect(batch.commandCalls(TerminateJobCommand)).toHaveLength(0);
  });
});
