import { describe, expect, it } from 'vitest';
import {
  DEPLOYMENT_EVENT_NAMES,
  JOB_STATUSES,
  MalformedEventError,
  parseEvent,
  parsePayload,
} from '../../lib/events/index.js';
import { type JsonObject, loadEvent, sqsBatch } from '../helpers/events.js';

// ECS's and Batch's own words about the restarts the watcher made: not changes of a value, but
// nudges that tell the staged restarts to look again.

const SERVICE_ARN = 'arn:aws:ecs:us-west-2:111122223333:service/default/servicetest';
const JOB_ID = '4c7599ae-0a82-49aa-ba5a-4727fcce14a8';
const JOB_ARN = `arn:aws:batch:us-east-1:123456789012:job/${JOB_ID}`;

/** A fixture with `detail` fields set (`undefined` removes one). */
function withDetail(fixture: string, fields: Record<string, unknown>): JsonObject {
  const event = loadEvent(fixture);
  const detail = event.detail as JsonObject;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) Reflect.deleteProperty(detail, key);
    else detail[key] = value;
  }
  return event;
}

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, but none was thrown');
}

describe('ECS Deployment State Change', () => {
  it('turns a completed deployment into a nudge naming the service and the deployment', () => {
    const result = parseEvent(loadEvent('ecs/deployment-completed'));

    expect(result).toEqual({
      changes: [],
      ignored: null,
      nudge: {
        kind: 'ecs-deployment',
        service: SERVICE_ARN,
        deploymentId: 'ecs-svc/123',
        eventName: 'SERVICE_DEPLOYMENT_COMPLETED',
        reason: 'ECS deployment ecs-svc/123 completed.',
        at: '2020-05-23T12:31:14.000Z',
      },
    });
  });

  it("keeps ECS's reason for a failed deployment, for the halt to quote", () => {
    const { nudge } = parseEvent(loadEvent('ecs/deployment-failed'));

    expect(nudge).toMatchObject({
      kind: 'ecs-deployment',
      eventName: 'SERVICE_DEPLOYMENT_FAILED',
      reason: 'ECS deployment circuit breaker: task failed to start.',
    });
  });

  it('gives a null reason when ECS gives none', () => {
    const { nudge } = parseEvent(withDetail('ecs/deployment-completed', { reason: undefined }));

    expect(nudge).toMatchObject({ reason: null });
  });

  it('ignores a deployment in progress: the watcher reads the rollout itself', () => {
    const result = parseEvent(loadEvent('ecs/deployment-in-progress'));

    expect(result.nudge).toBeUndefined();
    expect(result.changes).toEqual([]);
    expect(result.ignored).toMatch(/SERVICE_DEPLOYMENT_IN_PROGRESS is not/);
  });

  it('ignores a deployment state it does not wait for even when fields it would need are missing', () => {
    const event = withDetail('ecs/deployment-in-progress', { deploymentId: undefined });

    expect(parseEvent(event).ignored).toMatch(/IN_PROGRESS/);
  });

  it.each<{ label: string; event: () => JsonObject; path: string }>([
    {
      label: 'a deployment event without deploymentId',
      event: () => withDetail('ecs/deployment-completed', { deploymentId: undefined }),
      path: 'detail.deploymentId',
    },
    {
      label: 'a deployment event whose deploymentId is a number',
      event: () => withDetail('ecs/deployment-failed', { deploymentId: 123 }),
      path: 'detail.deploymentId',
    },
    {
      label: 'a deployment event without eventName',
      event: () => withDetail('ecs/deployment-completed', { eventName: undefined }),
      path: 'detail.eventName',
    },
    {
      label: 'a deployment event whose reason is an object',
      event: () => withDetail('ecs/deployment-failed', { reason: { text: 'no' } }),
      path: 'detail.reason',
    },
    {
      label: 'a deployment event with no service ARN in resources',
      event: () => ({ ...loadEvent('ecs/deployment-completed'), resources: [] }),
      path: 'resources',
    },
    {
      label: 'a job event without jobId',
      event: () => withDetail('batch/job-failed', { jobId: undefined }),
      path: 'detail.jobId',
    },
    {
      label: 'a job event whose status is a number',
      event: () => withDetail('batch/job-running', { status: 3 }),
      path: 'detail.status',
    },
    {
      label: 'a job event whose statusReason is a list',
      event: () => withDetail('batch/job-failed', { statusReason: ['a', 'b'] }),
      path: 'detail.statusReason',
    },
  ])('rejects $label in one line naming $path', ({ event, path }) => {
    const error = thrownBy(() => parseEvent(event()));

    expect(error).toBeInstanceOf(MalformedEventError);
    expect(error).toMatchObject({ name: 'MalformedEventError', path });
    const message = (error as Error).message;
    expect(message).toContain(path);
    expect(message).not.toContain('\n');
  });

  it('refuses a reason longer than any ECS writes, rather than carry it into notifications', () => {
    const error = thrownBy(() =>
      parseEvent(withDetail('ecs/deployment-failed', { reason: 'x'.repeat(100_000) })),
    );

    expect(error).toMatchObject({ path: 'detail.reason' });
    expect((error as Error).message.length).toBeLessThan(200);
  });
});

describe('Batch Job State Change', () => {
  it.each([
    ['batch/job-running', 'RUNNING', null],
    ['batch/job-succeeded', 'SUCCEEDED', 'Essential container in task exited'],
    [
      'batch/job-failed',
      'FAILED',
      'ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed',
    ],
  ])('turns %s into a nudge with the status %s and its reason', (fixture, status, reason) => {
    const result = parseEvent(loadEvent(fixture));

    expect(result).toEqual({
      changes: [],
      ignored: null,
      nudge: {
        kind: 'batch-job',
        jobId: JOB_ID,
        jobArn: JOB_ARN,
        status,
        statusReason: reason,
        at: '2022-01-11T23:36:40.000Z',
      },
    });
  });

  it("takes the job's ARN from resources when the detail has none", () => {
    const { nudge } = parseEvent(withDetail('batch/job-running', { jobArn: undefined }));

    expect(nudge).toMatchObject({ jobArn: JOB_ARN });
  });

  it('gives a null ARN when neither the detail nor resources have one', () => {
    const event = { ...withDetail('batch/job-running', { jobArn: undefined }), resources: [] };

    expect(parseEvent(event).nudge).toMatchObject({ jobId: JOB_ID, jobArn: null });
  });

  it.each(['SUBMITTED', 'PENDING', 'STARTING'])(
    'ignores a job that is only %s: the wave waits for RUNNING or an end',
    (status) => {
      const result = parseEvent(withDetail('batch/job-running', { status }));

      expect(result.nudge).toBeUndefined();
      expect(result.ignored).toContain(status);
    },
  );

  it("ignores AWS's documented example, a RUNNABLE job", () => {
    const result = parseEvent(loadEvent('batch/job-runnable'));

    expect(result).toEqual({
      changes: [],
      ignored: 'Batch job status RUNNABLE is not one the watcher waits for',
    });
  });
});

describe('the lists the EventBridge rules are built from', () => {
  it('are exactly the ECS deployment events that become nudges', () => {
    const all = [
      'SERVICE_DEPLOYMENT_IN_PROGRESS',
      'SERVICE_DEPLOYMENT_COMPLETED',
      'SERVICE_DEPLOYMENT_FAILED',
    ];
    const nudging = all.filter(
      (eventName) =>
        parseEvent(withDetail('ecs/deployment-completed', { eventName })).nudge !== undefined,
    );

    expect(nudging).toEqual([...DEPLOYMENT_EVENT_NAMES]);
  });

  it('are exactly the Batch job statuses that become nudges', () => {
    const all = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'];
    const nudging = all.filter(
      (status) => parseEvent(withDetail('batch/job-running', { status })).nudge !== undefined,
    );

    expect(nudging).toEqual([...JOB_STATUSES]);
  });
});

describe('other events of the same sources', () => {
  it.each([
    ['aws.ecs', 'ECS Task State Change'],
    ['aws.ecs', 'ECS Service Action'],
    ['aws.batch', 'Batch Job Queue Blocked'],
  ])('ignores %s "%s"', (source, detailType) => {
    const event = { ...loadEvent('batch/job-failed'), source, 'detail-type': detailType };

    const result = parseEvent(event);

    expect(result.nudge).toBeUndefined();
    expect(result.changes).toEqual([]);
    expect(result.ignored).toContain(detailType);
  });
});

describe('parsePayload with nudges', () => {
  it('carries a nudge on its record, with no change, nothing ignored and no error', () => {
    const [result] = parsePayload(sqsBatch(loadEvent('ecs/deployment-failed')));

    expect(result).toMatchObject({
      recordId: '5d1b8a3e-2c4f-4e6a-9b7d-000000000001',
      changes: [],
      ignored: null,
      error: null,
      nudge: { kind: 'ecs-deployment', eventName: 'SERVICE_DEPLOYMENT_FAILED' },
    });
  });

  it('reports a malformed deployment event as an error on its record only', () => {
    const results = parsePayload(
      sqsBatch(
        withDetail('ecs/deployment-completed', { deploymentId: undefined }),
        loadEvent('batch/job-succeeded'),
        loadEvent('ssm/update'),
      ),
    );

    expect(results[0]?.error).toMatch(/^SQS record \S+: .*detail\.deploymentId/);
    expect(results[0]?.nudge).toBeUndefined();
    expect(results[1]).toMatchObject({ error: null, nudge: { kind: 'batch-job' } });
    expect(results[2]?.changes).toHaveLength(1);
    expect(results[2]).not.toHaveProperty('nudge');
  });

  it('leaves no nudge key on records of changes or ignored events', () => {
    const results = parsePayload([loadEvent('ssm/update'), loadEvent('batch/job-runnable')]);

    for (const result of results) expect(result).not.toHaveProperty('nudge');
  });
});
