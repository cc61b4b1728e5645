// Calls that change something are sent once: the SDK does not retry them, and a failure that may
// hide a success (no answer, a 5xx) is decided by reading back what AWS did. Served through the
// real SDK stack from recorded replies, so a retry by the SDK would show as a second request.
import { describe, expect, it } from 'vitest';
import { execute } from '../../lib/actions/index.js';
import { AwsClients } from '../../lib/aws/index.js';
import type { PlannedAction } from '../../lib/plan.js';
import { aConsumer } from '../helpers/factories.js';
import { type AwsReply, type AwsRequest, awsError, RecordedAws } from '../helpers/recorded-aws.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };

/** The deployment discovery saw on the service `redeployOf` acts on. */
let seenDeployment = '';

function redeployOf(route: (request: AwsRequest) => AwsReply) {
  const recorded = new RecordedAws(route);
  const consumer = aConsumer({ kind: 'ecs-service' });
  seenDeployment = consumer.service?.deployments[0]?.id ?? '';
  const action: PlannedAction = { kind: 'redeploy', consumer, status: 'planned', detail: '' };
  const clients = new AwsClients({ requestHandler: recorded, credentials, maxAttempts: 3 });
  return { recorded, run: () => execute([action], { clients, dryRun: false }) };
}

const service = (createdAt: number, id = 'ecs-svc/new') => ({
  body: {
    services: [
      {
        serviceName: 'svc',
        deployments: [{ id, status: 'PRIMARY', createdAt: createdAt / 1000 }],
      },
    ],
    failures: [],
  },
});

describe('UpdateService, sent once', () => {
  it('is not retried by the SDK after a 503, and counts as done when DescribeServices shows the deployment it made', async () => {
    const { recorded, run } = redeployOf((request) =>
      request.operation === 'UpdateService'
        ? awsError('ServiceUnavailableException', 'Service Unavailable', 503)
        : service(Date.now()),
    );
    const [outcome] = await run();
    expect(recorded.calls('ecs:UpdateService')).toHaveLength(1);
    expect(outcome).toMatchObject({
      status: 'done',
      detail: expect.stringMatching(
        /^new deployment ecs-svc\/new \(the answer was lost: .*DescribeServices shows it\)/,
      ),
    });
  });

  it('is not sent again when the read-back shows nothing yet: it fails, and the record comes back', async () => {
    // The read-back shows the very deployment discovery saw: AWS shows no result (yet).
    const { recorded, run } = redeployOf((request) =>
      request.operation === 'UpdateService'
        ? awsError('InternalFailure', 'Internal', 500)
        : service(Date.now() - 3_600_000, seenDeployment),
    );
    const [outcome] = await run();
    expect(recorded.calls('ecs:UpdateService')).toHaveLength(1);
    expect(recorded.calls('ecs:DescribeServices')).toHaveLength(1);
    expect(outcome).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/AWS shows no result yet, so it is not sent again/),
    });
  });

  it('keeps the lease when the read-back itself fails: AWS may have done it', async () => {
    const recorded = new RecordedAws((request) =>
      request.operation === 'UpdateService'
        ? awsError('InternalFailure', 'Internal', 500)
        : awsError('AccessDeniedException', 'not authorized to perform ecs:DescribeServices'),
    );
    const consumer = aConsumer({ kind: 'ecs-service' });
    const released: string[] = [];
    const leases = {
      acquire: async () => true,
      release: async (key: string) => {
        released.push(key);
      },
    };
    const clients = new AwsClients({ requestHandler: recorded, credentials, maxAttempts: 1 });
    const [outcome] = await execute(
      [{ kind: 'redeploy', consumer, status: 'planned', detail: '' }],
      { clients, dryRun: false, leases },
    );
    expect(outcome).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/reading it back failed too \(AccessDeniedException/),
    });
    expect(released).toEqual([]);
    expect(recorded.calls('ecs:UpdateService')).toHaveLength(1);
  });

  it('gives the lease back after a refusal: nothing changed', async () => {
    const recorded = new RecordedAws(() =>
      awsError('AccessDeniedException', 'not authorized to perform ecs:UpdateService'),
    );
    const consumer = aConsumer({ kind: 'ecs-service' });
    const released: string[] = [];
    const leases = {
      acquire: async () => true,
      release: async (key: string) => {
        released.push(key);
      },
    };
    const clients = new AwsClients({ requestHandler: recorded, credentials, maxAttempts: 1 });
    await execute([{ kind: 'redeploy', consumer, status: 'planned', detail: '' }], {
      clients,
      dryRun: false,
      leases,
    });
    expect(released).toEqual([`redeploy#${consumer.arn}`]);
  });

  it('sends a throttled call again (it was refused, so nothing was done), without reading back', async () => {
    let sends = 0;
    const { recorded, run } = redeployOf((request) =>
      request.operation === 'UpdateService' && sends++ === 0
        ? awsError('ThrottlingException', 'Rate exceeded')
        : { body: { service: { deployments: [{ id: 'ecs-svc/new', status: 'PRIMARY' }] } } },
    );
    const [outcome] = await run();
    expect(recorded.calls('ecs:UpdateService')).toHaveLength(2);
    expect(recorded.calls('ecs:DescribeServices')).toHaveLength(0);
    expect(outcome).toMatchObject({ status: 'done', detail: 'new deployment ecs-svc/new' });
  });

  it('does not read back after a refusal (4xx): nothing was done', async () => {
    const { recorded, run } = redeployOf(() =>
      awsError('AccessDeniedException', 'User is not authorized to perform ecs:UpdateService'),
    );
    const [outcome] = await run();
    expect(outcome?.status).toBe('failed');
    expect(recorded.calls('ecs:DescribeServices')).toHaveLength(0);
  });
});

describe('SubmitJob, sent once', () => {
  it('finds the job AWS made despite a 500, by its name and the tag naming the job it replaces, and terminates the old one', async () => {
    const consumer = aConsumer({ kind: 'batch-job', name: 'nightly' });
    const recorded = new RecordedAws((request) => {
      switch (request.operation) {
        case 'SubmitJob':
          return awsError('ServerException', 'Internal', 500);
        case 'ListJobs':
          return {
            body: {
              jobSummaryList: [{ jobId: 'made', jobName: 'nightly', createdAt: Date.now() }],
            },
          };
        case 'DescribeJobs':
          return {
            body: {
              jobs: [
                {
                  jobId: 'made',
                  jobName: 'nightly',
                  tags: { 'rotation-watcher:replaces': consumer.job?.jobId },
                },
              ],
            },
          };
        default:
          return { body: {} };
      }
    });
    const clients = new AwsClients({ requestHandler: recorded, credentials, maxAttempts: 3 });
    const [outcome] = await execute(
      [{ kind: 'resubmit', consumer, status: 'planned', detail: '' }],
      { clients, dryRun: false },
    );
    expect(recorded.calls('batch:SubmitJob')).toHaveLength(1);
    expect(recorded.calls('batch:TerminateJob')).toHaveLength(1);
    expect(outcome).toMatchObject({
      status: 'done',
      detail: expect.stringMatching(/^resubmitted as job made/),
    });
  });
});
