import { z } from 'zod';

// Caps keep hostile events from carrying megabytes into logs and notifications; each is at or
// above what AWS itself allows for the field.
const text = (max: number) => z.string().min(1).max(max);
const ARN = text(2048);

/**
 * The EventBridge envelope every AWS event shares.
 * https://docs.aws.amazon.com/eventbridge/latest/ref/overview-event-structure.html
 */
export const EnvelopeSchema = z.looseObject({
  id: text(256),
  'detail-type': text(256),
  source: text(256),
  account: z.string().regex(/^\d{12}$/, 'expected a 12-digit account id'),
  time: z.iso.datetime({ offset: true }),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'expected a region such as us-east-1'),
  resources: z.array(ARN).max(100).default([]),
  detail: z.unknown(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/**
 * `aws.ssm` / `Parameter Store Change`.
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html
 * @example { "operation": "Update", "name": "/prod/db/password", "type": "SecureString", "description": "" }
 */
export const ParameterChangeDetailSchema = z.looseObject({
  operation: text(64),
  name: text(2048),
  type: z.string().max(64).optional(),
  description: z.string().max(1024).optional(),
  /** Present when the operation failed (e.g. an `aws:ec2:image` value that did not validate). */
  exception: z.string().max(2048).optional(),
});

/**
 * `aws.ssm` / `Parameter Store Policy Action` (advanced-tier parameter policies). The name key
 * is `parameter-name`, not `name`.
 * @example { "parameter-name": "/prod/api/key", "parameter-type": "SecureString", "policy-type": "Expiration",
 *            "action-status": "Finished", "action-reason": "Expiration policy has been applied. Parameter has been deleted." }
 */
export const ParameterPolicyDetailSchema = z.looseObject({
  'parameter-name': text(2048),
  'policy-type': text(64),
  'action-status': z.string().max(64).optional(),
});

/**
 * `aws.secretsmanager` / `Secret Label Updated`: a staging label other than AWSPENDING and
 * AWSPREVIOUS moved. The secret's full ARN is `resources[0]`.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/event-detail-secret-label-updated-secretsmanager.html
 * @example { "name": "mySecret", "labelUpdated": "AWSCURRENT", "versionId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111" }
 */
export const SecretLabelDetailSchema = z.looseObject({
  name: text(512),
  labelUpdated: text(256),
  versionId: z.string().max(64).optional(),
});

const optionalObject = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape).nullish();

/**
 * `aws.secretsmanager` / `AWS API Call via CloudTrail` and `AWS Service Event via CloudTrail`.
 * The secret is `requestParameters.secretId` (name or ARN), `responseElements.arn` (older events
 * spell it `aRN`), or for service events `additionalEventData.SecretId`.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html
 * @example { "eventSource": "secretsmanager.amazonaws.com", "eventName": "PutSecretValue",
 *            "requestParameters": { "secretId": "prod/db", "clientRequestToken": "..." },
 *            "responseElements": { "arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf" } }
 */
export const CloudTrailDetailSchema = z.looseObject({
  eventSource: text(128).optional(),
  eventName: text(128),
  eventTime: z.string().max(64).optional(),
  errorCode: z.string().max(256).nullish(),
  requestParameters: optionalObject({
    secretId: text(2048).optional(),
    versionStage: text(256).optional(),
    versionStages: z.array(text(256)).max(20).optional(),
    moveToVersionId: z.string().max(64).optional(),
    clientRequestToken: z.string().max(64).optional(),
  }),
  responseElements: optionalObject({
    arn: ARN.optional(),
    aRN: ARN.optional(),
    name: text(512).optional(),
    versionId: z.string().max(64).optional(),
  }),
  additionalEventData: optionalObject({
    SecretId: text(2048).optional(),
  }),
  serviceEventDetails: optionalObject({
    secretId: text(2048).optional(),
    versionId: z.string().max(64).optional(),
  }),
});
export type CloudTrailDetail = z.infer<typeof CloudTrailDetailSchema>;

/**
 * `aws.ecs` / `ECS Deployment State Change`: a service deployment started, reached steady state
 * or failed (FAILED only with the deployment circuit breaker on). The service's ARN is
 * `resources[0]`.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
 * @example { "eventType": "ERROR", "eventName": "SERVICE_DEPLOYMENT_FAILED", "deploymentId": "ecs-svc/123",
 *            "updatedAt": "2020-05-23T11:11:11Z", "reason": "ECS deployment circuit breaker: task failed to start." }
 */
export const DeploymentStateDetailSchema = z.looseObject({
  eventType: z.string().max(64).optional(),
  eventName: text(128),
  deploymentId: text(256),
  updatedAt: z.string().max(64).optional(),
  reason: z.string().max(4096).nullish(),
});

/**
 * `aws.batch` / `Batch Job State Change`: the detail is the job as DescribeJobs returns it (none
 * for the submission itself). Only the fields below are read.
 * https://docs.aws.amazon.com/batch/latest/userguide/batch_job_events.html
 * @example { "jobArn": "arn:aws:batch:us-east-1:123456789012:job/4c7599ae-0a82-49aa-ba5a-4727fcce14a8",
 *            "jobName": "event-test", "jobId": "4c7599ae-0a82-49aa-ba5a-4727fcce14a8",
 *            "jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/PexjEHappyPathCanary2JobQueue",
 *            "status": "RUNNABLE", "attempts": [], "createdAt": 1641944200058, ... }
 */
export const BatchJobDetailSchema = z.looseObject({
  jobId: text(256),
  jobArn: ARN.optional(),
  jobName: z.string().max(256).optional(),
  jobQueue: z.string().max(2048).optional(),
  status: text(64),
  statusReason: z.string().max(4096).nullish(),
});

/** One SQS record as Lambda delivers it; the EventBridge event is the JSON in `body`. */
export const SqsRecordSchema = z.looseObject({
  messageId: text(256),
  body: z.string(),
  attributes: z.looseObject({ ApproximateReceiveCount: z.string().max(16).optional() }).optional(),
});

export const SqsEventSchema = z.looseObject({
  Records: z.array(z.unknown()).min(1),
});

/**
 * The watcher's own delayed message that brings a rotation record back for a follow-up look,
 * known by its marker field: `{"rotation-watcher": "follow-up", "pk": "…", "sk": "…", "chain":
 * "…"}` (no chain in messages from before chains were kept). The keys are the record's in the
 * state table: lib/rotations, which owns them, checks them where it reads the record.
 */
export const FollowUpMessageSchema = z.object({
  'rotation-watcher': z.literal('follow-up'),
  pk: z.string().min(1).max(2048),
  sk: z.string().min(1).max(1024),
  chain: z.string().min(1).optional(),
});
