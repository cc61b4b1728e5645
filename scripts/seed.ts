// Builds realistic accounts in moto through the real SDK clients: clusters, task definitions,
// services with running tasks, standalone tasks, parameters, secrets and Batch queues.
import {
  BatchClient,
  type ContainerProperties,
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  RegisterJobDefinitionCommand,
} from '@aws-sdk/client-batch';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  type ContainerDefinition,
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type Volume,
} from '@aws-sdk/client-ecs';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

export const ACCOUNT = '123456789012';

/** Points the SDK's standard chain at `endpoint` with dummy credentials. */
export function useEndpoint(endpoint: string, region = 'us-east-1'): void {
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  process.env.AWS_REGION = region;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
}

export type Tags = Record<string, string>;

export interface ContainerSpec {
  name: string;
  secrets?: Record<string, string>;
  logSecrets?: Record<string, string>;
  registryCredentials?: string;
}

/** A small builder over the SDK: each method creates one thing in the emulated account. */
export class Seeder {
  private readonly clients = new Map<string, unknown>();
  private readonly networks = new Map<string, { subnets: string[]; securityGroups: string[] }>();
  private batchRole: string | undefined;

  private client<T>(kind: string, region: string, make: () => T): T {
    const key = `${kind}|${region}`;
    if (!this.clients.has(key)) this.clients.set(key, make());
    return this.clients.get(key) as T;
  }

  ecs = (region: string) => this.client('ecs', region, () => new ECSClient({ region }));
  ssm = (region: string) => this.client('ssm', region, () => new SSMClient({ region }));
  secrets = (region: string) =>
    this.client('sm', region, () => new SecretsManagerClient({ region }));
  batch = (region: string) => this.client('batch', region, () => new BatchClient({ region }));

  /** A table keyed as the stack's state table (`pk`, `sk`, on-demand), for leases and the index. */
  async stateTable(region: string, name: string): Promise<string> {
    const db = this.client('dynamodb', region, () => new DynamoDBClient({ region }));
    await db.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    return name;
  }

  async parameter(
    region: string,
    name: string,
    value: string,
    type: 'String' | 'SecureString' = 'SecureString',
  ): Promise<void> {
    await this.ssm(region).send(
      new PutParameterCommand({ Name: name, Value: value, Type: type, Overwrite: true }),
    );
  }

  async secret(region: string, name: string, value: string): Promise<string> {
    const reply = await this.secrets(region).send(
      new CreateSecretCommand({ Name: name, SecretString: value }),
    );
    return reply.ARN as string;
  }

  async rotateSecret(region: string, name: string, value: string): Promise<string> {
    const reply = await this.secrets(region).send(
      new PutSecretValueCommand({ SecretId: name, SecretString: value }),
    );
    return reply.VersionId as string;
  }

  async cluster(region: string, name: string): Promise<string> {
    const reply = await this.ecs(region).send(new CreateClusterCommand({ clusterName: name }));
    return reply.cluster?.clusterArn as string;
  }

  async taskDefinition(
    region: string,
    family: string,
    containers: ContainerSpec[],
    volumes: Volume[] = [],
  ): Promise<string> {
    const reply = await this.ecs(region).send(
      new RegisterTaskDefinitionCommand({
        family,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '256',
        memory: '512',
        volumes,
        containerDefinitions: containers.map(containerDefinition),
      }),
    );
    return reply.taskDefinition?.taskDefinitionArn as string;
  }

  /** A service and `tasks` running tasks that belong to it (moto's CreateService starts none). */
  async service(
    region: string,
    cluster: string,
    name: string,
    taskDefinition: string,
    options: { tasks?: number; tags?: Tags; controller?: 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL' } = {},
  ): Promise<{ arn: string; deploymentId: string; tasks: string[] }> {
    const network = await this.network(region);
    const reply = await this.ecs(region).send(
      new CreateServiceCommand({
        cluster,
        serviceName: name,
        taskDefinition,
        desiredCount: options.tasks ?? 1,
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: network },
        deploymentController: { type: options.controller ?? 'ECS' },
        tags: tagList(options.tags),
      }),
    );
    const deploymentId = reply.service?.deployments?.[0]?.id as string;
    const tasks = await this.runTasks(region, cluster, taskDefinition, options.tasks ?? 1, {
      group: `service:${name}`,
      startedBy: deploymentId,
    });
    return { arn: reply.service?.serviceArn as string, deploymentId, tasks };
  }

  /** Tasks that say they belong to a service that does not exist (a service deleted under them). */
  async runServiceTasksWithoutService(
    region: string,
    cluster: string,
    taskDefinition: string,
    service: string,
  ): Promise<string[]> {
    return this.runTasks(region, cluster, taskDefinition, 1, {
      group: `service:${service}`,
      startedBy: 'ecs-svc/0000000000000000000',
    });
  }

  /**
   * Tasks of a service started by its deployment `startedBy`, as ECS's scheduler would start them
   * (moto runs no scheduler: CreateService and UpdateService start nothing).
   */
  async serviceTasks(
    region: string,
    cluster: string,
    service: string,
    taskDefinition: string,
    count: number,
    startedBy: string,
  ): Promise<string[]> {
    return this.runTasks(region, cluster, taskDefinition, count, {
      group: `service:${service}`,
      startedBy,
    });
  }

  /** A task that no service started. */
  async standaloneTask(
    region: string,
    cluster: string,
    taskDefinition: string,
    tags?: Tags,
  ): Promise<string> {
    const [arn] = await this.runTasks(region, cluster, taskDefinition, 1, {
      startedBy: 'nightly-cron',
      tags,
    });
    return arn as string;
  }

  private async runTasks(
    region: string,
    cluster: string,
    taskDefinition: string,
    count: number,
    extra: { group?: string; startedBy?: string; tags?: Tags },
  ): Promise<string[]> {
    if (count === 0) return [];
    const network = await this.network(region);
    const reply = await this.ecs(region).send(
      new RunTaskCommand({
        cluster,
        taskDefinition,
        count,
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: network },
        group: extra.group,
        startedBy: extra.startedBy,
        tags: tagList(extra.tags),
      }),
    );
    return (reply.tasks ?? []).map((task) => task.taskArn as string);
  }

  /** An UNMANAGED compute environment and a job queue (moto finishes jobs at once, so none stay running). */
  async jobQueue(region: string, name: string, tags?: Tags): Promise<string> {
    const role = await this.role();
    const environment = await this.batch(region).send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: `${name}-env`,
        type: 'UNMANAGED',
        serviceRole: role,
        state: 'ENABLED',
      }),
    );
    const queue = await this.batch(region).send(
      new CreateJobQueueCommand({
        jobQueueName: name,
        priority: 1,
        state: 'ENABLED',
        computeEnvironmentOrder: [
          { order: 1, computeEnvironment: environment.computeEnvironmentArn as string },
        ],
        tags,
      }),
    );
    return queue.jobQueueArn as string;
  }

  async jobDefinition(
    region: string,
    name: string,
    container: ContainerProperties,
    tags?: Tags,
  ): Promise<string> {
    const reply = await this.batch(region).send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: name,
        type: 'container',
        containerProperties: container,
        tags,
      }),
    );
    return reply.jobDefinitionArn as string;
  }

  private async role(): Promise<string> {
    if (!this.batchRole) {
      const iam = this.client('iam', 'us-east-1', () => new IAMClient({ region: 'us-east-1' }));
      const reply = await iam.send(
        new CreateRoleCommand({
          RoleName: `batch-service-${Date.now()}`,
          AssumeRolePolicyDocument: '{}',
        }),
      );
      this.batchRole = reply.Role?.Arn as string;
    }
    return this.batchRole;
  }

  /** A subnet and security group of the default VPC (moto's FARGATE RunTask needs both). */
  private async network(region: string): Promise<{ subnets: string[]; securityGroups: string[] }> {
    let network = this.networks.get(region);
    if (!network) {
      const ec2 = this.client('ec2', region, () => new EC2Client({ region }));
      const [subnets, groups] = await Promise.all([
        ec2.send(new DescribeSubnetsCommand({})),
        ec2.send(new DescribeSecurityGroupsCommand({})),
      ]);
      network = {
        subnets: [subnets.Subnets?.[0]?.SubnetId as string],
        securityGroups: [groups.SecurityGroups?.[0]?.GroupId as string],
      };
      this.networks.set(region, network);
    }
    return network;
  }

  /** An SQS queue, returned as its URL and ARN. */
  async queue(region: string, name: string): Promise<{ url: string; arn: string }> {
    const sqs = this.client('sqs', region, () => new SQSClient({ region }));
    const created = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const url = created.QueueUrl as string;
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    return { url, arn: attributes.Attributes?.QueueArn as string };
  }

  /** How many messages a queue holds back (DelaySeconds) for now. */
  async delayed(region: string, url: string): Promise<number> {
    const sqs = this.client('sqs', region, () => new SQSClient({ region }));
    const reply = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessagesDelayed'],
      }),
    );
    return Number(reply.Attributes?.ApproximateNumberOfMessagesDelayed ?? 0);
  }

  /** Every message now in a queue (removing them), as parsed JSON bodies. */
  async drain(
    region: string,
    url: string,
  ): Promise<Array<{ body: string; attributes: Record<string, unknown> }>> {
    const sqs = this.client('sqs', region, () => new SQSClient({ region }));
    const out: Array<{ body: string; attributes: Record<string, unknown> }> = [];
    for (;;) {
      const reply = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          WaitTimeSeconds: 0,
        }),
      );
      const messages = reply.Messages ?? [];
      if (messages.length === 0) return out;
      for (const message of messages) {
        out.push({ body: message.Body ?? '', attributes: message.MessageAttributes ?? {} });
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }),
        );
      }
    }
  }

  /** An SNS topic with an SQS subscriber, so a test or the demo can read what was published. */
  async topicWithSubscriber(
    region: string,
    name: string,
  ): Promise<{ topicArn: string; queueUrl: string }> {
    const sns = this.client('sns', region, () => new SNSClient({ region }));
    const topic = await sns.send(new CreateTopicCommand({ Name: name }));
    const queue = await this.queue(region, `${name}-subscriber`);
    await sns.send(
      new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: 'sqs', Endpoint: queue.arn }),
    );
    return { topicArn: topic.TopicArn as string, queueUrl: queue.url };
  }

  /** A custom event bus whose rule for `source` delivers to an SQS queue. */
  async busWithQueue(
    region: string,
    name: string,
    source: string,
  ): Promise<{ bus: string; queueUrl: string }> {
    const events = this.client('events', region, () => new EventBridgeClient({ region }));
    await events.send(new CreateEventBusCommand({ Name: name }));
    const queue = await this.queue(region, `${name}-target`);
    await events.send(
      new PutRuleCommand({
        Name: `${name}-all`,
        EventBusName: name,
        EventPattern: JSON.stringify({ source: [source] }),
        State: 'ENABLED',
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: `${name}-all`,
        EventBusName: name,
        Targets: [{ Id: 'queue', Arn: queue.arn }],
      }),
    );
    return { bus: name, queueUrl: queue.url };
  }

  /** Forgets cached network ids (after a moto reset). */
  forget(): void {
    this.networks.clear();
    this.batchRole = undefined;
  }

  destroy(): void {
    for (const client of this.clients.values()) (client as { destroy(): void }).destroy();
    this.clients.clear();
  }
}

function containerDefinition(spec: ContainerSpec): ContainerDefinition {
  const pairs = (record: Record<string, string> | undefined) =>
    Object.entries(record ?? {}).map(([name, valueFrom]) => ({ name, valueFrom }));
  return {
    name: spec.name,
    image: `public.ecr.aws/example/${spec.name}:1`,
    memory: 256,
    essential: true,
    secrets: pairs(spec.secrets),
    ...(spec.logSecrets
      ? { logConfiguration: { logDriver: 'awsfirelens', secretOptions: pairs(spec.logSecrets) } }
      : {}),
    ...(spec.registryCredentials
      ? { repositoryCredentials: { credentialsParameter: spec.registryCredentials } }
      : {}),
  };
}

function tagList(tags: Tags | undefined) {
  return tags ? Object.entries(tags).map(([key, value]) => ({ key, value })) : undefined;
}
