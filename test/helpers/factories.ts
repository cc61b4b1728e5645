import type {
  ActionKind,
  Change,
  Consumer,
  ConsumerKind,
  TagLevel,
} from '../../lib/domain/index.js';
import { ACTION_TAG } from '../../lib/plan.js';
import { changeJson, consumerJson, type RunReport } from '../../lib/report.js';

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
/** When the default change happened; the default consumer started an hour before it. */
export const CHANGED_AT = '2026-11-20T12:00:00.000Z';
export const STARTED_AT = '2026-11-20T11:00:00.000Z';

/** The tag levels each kind of consumer carries, most specific first (as discovery builds them). */
export const TAG_LEVELS: Record<ConsumerKind, string[]> = {
  'ecs-service': ['service'],
  'ecs-task': ['task'],
  'batch-job': ['job', 'job-definition', 'job-queue'],
};

let serial = 0;

/**
 * A change to a Parameter Store value, as the event parser makes it.
 *
 * @example aChange({ effect: 'deleted', operation: 'Delete' })
 */
export function aChange(overrides: Partial<Change> = {}): Change {
  const name = overrides.name ?? '/prod/db/password';
  return {
    service: 'ssm',
    name,
    arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${name.replace(/^\//, '')}`,
    partition: 'aws',
    region: REGION,
    account: ACCOUNT,
    operation: 'Update',
    effect: 'value',
    changedAt: CHANGED_AT,
    versionStage: null,
    versionId: null,
    eventId: 'e-1',
    detailType: 'Parameter Store Change',
    timeSource: 'aws',
    eventTime: CHANGED_AT,
    version: '2',
    ...overrides,
  };
}

/**
 * A stale running consumer of `/prod/db/password`, with a unique ARN. The kind decides the
 * details: an `ecs-service` has its service, a `batch-job` its job, an `ecs-task` neither.
 *
 * @example aConsumer({ kind: 'batch-job', tags: actionTags('batch-job', { job: 'resubmit' }) })
 */
export function aConsumer(overrides: Partial<Consumer> = {}): Consumer {
  const kind = overrides.kind ?? 'ecs-service';
  serial += 1;
  const id = `${kind.replace('-', '')}${serial}`;
  const cluster = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`;
  const queue = `arn:aws:batch:${REGION}:${ACCOUNT}:job-queue/nightly`;
  const definitionArn =
    kind === 'batch-job'
      ? `arn:aws:batch:${REGION}:${ACCOUNT}:job-definition/etl:3`
      : `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/web:7`;
  const arn =
    kind === 'ecs-service'
      ? `arn:aws:ecs:${REGION}:${ACCOUNT}:service/prod/${id}`
      : kind === 'ecs-task'
        ? `arn:aws:ecs:${REGION}:${ACCOUNT}:task/prod/${id}`
        : `arn:aws:batch:${REGION}:${ACCOUNT}:job/${id}`;
  const change = aChange();
  const reference = {
    container: kind === 'batch-job' ? null : 'app',
    field: 'secrets',
    name: 'DB_PASSWORD',
    valueFrom: change.name,
    target: {
      service: 'ssm' as const,
      partition: 'aws',
      region: REGION,
      account: ACCOUNT,
      name: change.name,
      arn: change.arn,
      jsonKey: null,
      versionStage: null,
      versionId: null,
    },
  };
  return {
    kind,
    arn,
    name: id,
    region: REGION,
    account: ACCOUNT,
    parent: kind === 'batch-job' ? queue : cluster,
    references: [reference],
    runs: [
      {
        arn: kind === 'ecs-service' ? `arn:aws:ecs:${REGION}:${ACCOUNT}:task/prod/t${serial}` : arn,
        definitionArn,
        status: 'RUNNING',
        createdAt: STARTED_AT,
        startedAt: STARTED_AT,
        startedBy: kind === 'ecs-service' ? `ecs-svc/${serial}` : null,
        stopping: false,
        references: [reference],
      },
    ],
    tags: actionTags(kind, {}),
    stale: true,
    cause: 'created-before',
    staleReason: `created ${STARTED_AT}, before the change of ${change.name} at ${CHANGED_AT} (Update)`,
    staleRuns: 1,
    stuckRollout: null,
    mutableImages: [],
    changes: [change],
    service:
      kind === 'ecs-service'
        ? {
            cluster,
            status: 'ACTIVE',
            deploymentController: 'ECS',
            deployments: [
              {
                id: `ecs-svc/${serial}`,
                status: 'PRIMARY',
                rolloutState: 'COMPLETED',
                createdAt: STARTED_AT,
                updatedAt: STARTED_AT,
              },
            ],
            desiredCount: 2,
          }
        : null,
    job:
      kind === 'batch-job'
        ? {
            jobId: id,
            queue,
            definitionArn,
            parameters: { day: 'today' },
            submit: { retryStrategy: { attempts: 2 } },
            replacedBy: null,
            arraySize: null,
            numNodes: null,
            childrenUnknown: false,
          }
        : null,
    ...overrides,
  };
}

/**
 * The tag levels of a consumer kind, with `rotation-watcher:action` set where `values` says
 * (an unrelated tag sits on every level, so "no action tag" is not "no tags").
 *
 * @example actionTags('batch-job', { 'job-queue': 'resubmit' })
 */
export function actionTags(
  kind: ConsumerKind,
  values: Record<string, string | undefined>,
): TagLevel[] {
  return TAG_LEVELS[kind].map((level) => {
    const value = values[level];
    const tags: Record<string, string> = { team: 'data' };
    if (value !== undefined) tags[ACTION_TAG] = value;
    return { level, tags };
  });
}

/** One consumer as a run report lists it: the consumer, the action decided and why. */
export function aReportedConsumer(
  overrides: Partial<Consumer> = {},
  decision: { action?: ActionKind; reason?: string; alarm?: boolean } = {},
): RunReport['consumers'][number] {
  const consumer = aConsumer(overrides);
  return consumerJson(consumer, {
    consumer,
    action: decision.action ?? (consumer.stale ? 'notify' : 'none'),
    basis: decision.alarm ? 'value-deleted' : consumer.stale ? 'policy' : 'fresh',
    severity: decision.alarm ? 'alarm' : 'normal',
    source: consumer.stale ? { kind: 'default' } : null,
    reason: decision.reason ?? (consumer.stale ? 'notify by the default' : consumer.staleReason),
  });
}

/**
 * A complete run report: one change, one stale ECS service that was notified, no outcomes.
 *
 * @example aReport({ complete: false, actions: [] })
 */
export function aReport(overrides: Partial<RunReport> = {}): RunReport {
  return {
    changes: [changeJson(aChange())],
    consumers: [aReportedConsumer()],
    actions: [],
    complete: true,
    gaps: [],
    ...overrides,
  };
}
