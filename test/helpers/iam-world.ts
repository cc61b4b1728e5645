// The account the IAM evaluation runs the functions against (moto), and the configurations of the
// packaged template: for each, the role's statements and the functions' environment, both
// resolved from the template as CloudFormation would.
import {
  DeleteJobQueueCommand,
  DescribeJobsCommand,
  SubmitJobCommand,
  TerminateJobCommand,
} from '@aws-sdk/client-batch';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { ACCOUNT } from '../../scripts/seed.js';
import { resolve, roleStatements, type Template } from './cloudformation.js';
import type { Statement } from './iam-evaluate.js';
import type { Known } from './iam-requests.js';
import type { MotoHandle } from './moto.js';

export const HOME = 'us-east-1';
export const OTHER = 'eu-west-1';
export const PARAMETER = '/prod/db/password';
export const SLACK_PARAMETER = '/watcher/slack-webhook';
const ACTION_TAG = 'rotation-watcher:action';
const WAVE_TAG = 'rotation-watcher:wave';
/** The key of the existing encrypted topic (ExistingTopicKeyArn). */
export const EXISTING_TOPIC_KEY = `arn:aws:kms:${HOME}:${ACCOUNT}:key/0e5f6a7b-1111-4c2d-9e8f-existingkey0`;
const PASS_ROLES = [
  `arn:aws:iam::${ACCOUNT}:role/batch-exec`,
  `arn:aws:iam::${ACCOUNT}:role/batch-job`,
];

/** One set of CloudFormation parameter values (those the role or the calls depend on). */
export interface Configuration {
  label: string;
  defaultAction: 'notify' | 'redeploy' | 'resubmit' | 'ignore';
  slack: boolean;
  bus: boolean;
  /** The stack's own topic (encrypted with its own key), or an existing one, with or without a key. */
  topic: 'created' | 'existing' | 'existing encrypted';
  namePrefix: string;
  /**
   * The stack's Waves parameter (WATCHER_WAVES): `all` restarts every consumer at once; absent,
   * the template's default (a canary, then waves).
   */
  waves?: string;
}

/**
 * Every configuration of the parameters the calls depend on: the default action, Slack, the bus
 * and the topic (and its key), with the name prefix set in every other one. PassRoleArns changes
 * the role and no call: each configuration's calls are evaluated with and without it (`roleFor`).
 * Regions is two regions throughout (its calls are a superset of one region's); DryRun false and
 * MutableImages at its default, redeploy (the other values only take restarts away). Waves is
 * `all` (every restart at once: one run makes them all); the staged restarts' own calls are the
 * waves scenario's (iam.test.ts), with the template's default Waves. The other parameters
 * (AlertEmail, QueueDelaySeconds, the schedules, Bake) change neither the role nor the calls of a
 * run.
 */
export function configurations(): Configuration[] {
  const out: Configuration[] = [];
  for (const defaultAction of ['notify', 'redeploy', 'resubmit', 'ignore'] as const)
    for (const slack of [false, true])
      for (const bus of [false, true])
        for (const topic of ['created', 'existing', 'existing encrypted'] as const) {
          const namePrefix = out.length % 2 ? '/prod/' : '';
          const label = [
            `default ${defaultAction}`,
            slack ? 'Slack' : 'no Slack',
            bus ? 'bus' : 'no bus',
            `${topic} topic`,
            namePrefix ? `prefix ${namePrefix}` : 'no prefix',
          ].join(', ');
          out.push({ label, defaultAction, slack, bus, topic, namePrefix, waves: 'all' });
        }
  return out;
}

/** What a scenario's account holds, by ARN, for the requests and for assertions. */
export interface World {
  known: Known;
  cluster: string;
  services: { tagged: string; untagged: string; taggedOther: string };
  /** The job queue of the current run (each run has its own: see `holdJobs`). */
  queue: string;
  /** The jobs held in the current run's queue. */
  jobs: string[];
  definitions: { tagged: string; untagged: string };
  topics: { existing: string; created: string };
  bus: string;
  /** Logical id → table name and ARN, for each DynamoDB table of the template (per run). */
  tables: Map<string, { name: string; arn: string }>;
}

/**
 * Seeds the account once: a parameter and a secret; in the home region a cluster with a service
 * tagged redeploy (and `rotation-watcher:wave=canary`: the canary when restarts go out in waves)
 * and an untagged one, both reading both; in a second region a service tagged redeploy reading the
 * parameter by ARN; a Batch queue with a job definition tagged resubmit and an untagged one; the
 * Slack parameter, an existing topic, a stand-in for the stack's topic, and a bus. Jobs are
 * submitted per run (`holdJobs`).
 */
export async function seedWorld(env: MotoHandle, slackUrl: string): Promise<World> {
  const { seed } = env;
  const known: Known = {
    tags: new Map(),
    secrets: new Map(),
    tables: new Map(),
    topicKeys: new Map(),
  };
  await seed.parameter(HOME, PARAMETER, 'value-0');
  await seed.parameter(HOME, SLACK_PARAMETER, slackUrl);
  const secret = await seed.secret(HOME, 'prod/api-key', 'key-0');
  known.secrets.set('prod/api-key', secret).set(secret, secret);

  const cluster = await seed.cluster(HOME, 'prod');
  const td = await seed.taskDefinition(HOME, 'app', [
    { name: 'app', secrets: { DB_PASSWORD: PARAMETER, API_KEY: secret } },
  ]);
  const taggedTags = { [ACTION_TAG]: 'redeploy', [WAVE_TAG]: 'canary', team: 'payments' };
  const tagged = await seed.service(HOME, cluster, 'checkout', td, { tags: taggedTags });
  const untagged = await seed.service(HOME, cluster, 'billing', td, { tags: { team: 'billing' } });
  known.tags.set(tagged.arn, taggedTags);
  known.tags.set(untagged.arn, { team: 'billing' });

  const otherCluster = await seed.cluster(OTHER, 'prod-eu');
  const otherTd = await seed.taskDefinition(OTHER, 'app-eu', [
    {
      name: 'app',
      secrets: { DB_PASSWORD: `arn:aws:ssm:${HOME}:${ACCOUNT}:parameter${PARAMETER}` },
    },
  ]);
  const taggedOther = await seed.service(OTHER, otherCluster, 'checkout-eu', otherTd, {
    tags: { [ACTION_TAG]: 'redeploy' },
  });
  known.tags.set(taggedOther.arn, { [ACTION_TAG]: 'redeploy' });

  const container = {
    image: 'public.ecr.aws/example/report:1',
    vcpus: 1,
    memory: 128,
    secrets: [{ name: 'DB_PASSWORD', valueFrom: PARAMETER }],
  };
  const definitions = {
    tagged: await seed.jobDefinition(HOME, 'report', container, { [ACTION_TAG]: 'resubmit' }),
    untagged: await seed.jobDefinition(HOME, 'export', container),
  };
  known.tags.set(definitions.tagged, { [ACTION_TAG]: 'resubmit' });

  const existing = await seed.topicWithSubscriber(HOME, 'ops-reports');
  const created = await seed.topicWithSubscriber(HOME, 'rotation-watcher-dev-ReportsTopic');
  const bus = await seed.busWithQueue(HOME, 'watcher-bus', 'rotation-watcher');
  return {
    known,
    cluster,
    services: { tagged: tagged.arn, untagged: untagged.arn, taggedOther: taggedOther.arn },
    queue: '',
    jobs: [],
    definitions,
    topics: { existing: existing.topicArn, created: created.topicArn },
    bus: bus.bus,
    tables: new Map(),
  };
}

/**
 * A queue of the run's own (the last run's is emptied and deleted: a terminated job that moto
 * has not stopped yet, or a job no run restarted, must not reach this run), and two jobs in it,
 * held RUNNING (each waits for a job that never comes, which moto's Docker backend does with the
 * job shown in its last state): one from the tagged definition and tagged resubmit itself, one
 * untagged. Returns their ARNs once both run.
 */
export async function holdJobs(
  env: MotoHandle,
  world: World,
  run: number,
): Promise<{ tagged: string; untagged: string }> {
  const batch = env.seed.batch(HOME);
  for (const job of world.jobs)
    await batch.send(new TerminateJobCommand({ jobId: job.split('/').pop(), reason: 'next run' }));
  if (world.queue) await batch.send(new DeleteJobQueueCommand({ jobQueue: world.queue }));
  world.queue = await env.seed.jobQueue(HOME, `nightly-${run}`, { team: 'data' });
  world.known.tags.set(world.queue, { team: 'data' });
  const submit = async (name: string, definition: string, tags?: Record<string, string>) => {
    const reply = await batch.send(
      new SubmitJobCommand({
        jobName: `${name}-${run}`,
        jobQueue: world.queue,
        jobDefinition: definition,
        dependsOn: [{ jobId: 'never-submitted' }],
        tags,
      }),
    );
    world.known.tags.set(reply.jobArn as string, tags ?? {});
    return reply;
  };
  const tagged = await submit('report', world.definitions.tagged, {
    [ACTION_TAG]: 'resubmit',
    team: 'data',
  });
  const untagged = await submit('export', world.definitions.untagged);
  const ids = [tagged.jobId as string, untagged.jobId as string];
  for (let attempt = 0; ; attempt++) {
    const { jobs = [] } = await batch.send(new DescribeJobsCommand({ jobs: ids }));
    if (jobs.length === 2 && jobs.every((job) => job.status === 'RUNNING')) break;
    if (attempt > 50)
      throw new Error(
        `the held jobs did not reach RUNNING: ${JSON.stringify(jobs.map((j) => j.status))}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  world.jobs = [tagged.jobArn as string, untagged.jobArn as string];
  return { tagged: tagged.jobArn as string, untagged: untagged.jobArn as string };
}

/** A new value for the parameter every consumer reads (after what came before it). */
export async function rotate(env: MotoHandle, run: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  await env.seed.ssm(HOME).send(
    new PutParameterCommand({
      Name: PARAMETER,
      Value: `value-${run}`,
      Type: 'SecureString',
      Overwrite: true,
    }),
  );
}

/**
 * Each DynamoDB table the template declares, created anew as the template says (leases an
 * earlier run holds would keep this run from acting). The client is loaded only when the template
 * has a table.
 */
export async function freshTables(template: Template, world: World): Promise<void> {
  const resources = template.Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const tables = Object.entries(resources).filter(
    ([, resource]) => resource.Type === 'AWS::DynamoDB::Table',
  );
  if (tables.length === 0) return;
  const sdk = '@aws-sdk/client-dynamodb';
  const { DynamoDBClient, CreateTableCommand, DeleteTableCommand } = await import(sdk);
  const db = new DynamoDBClient({ region: HOME });
  try {
    for (const [logicalId, { Properties }] of tables) {
      const name = `rotation-watcher-dev-${logicalId}`;
      if (world.tables.has(logicalId)) await db.send(new DeleteTableCommand({ TableName: name }));
      const reply = await db.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: Properties.BillingMode ?? 'PAY_PER_REQUEST',
          AttributeDefinitions: Properties.AttributeDefinitions,
          KeySchema: Properties.KeySchema,
        }),
      );
      const arn = reply.TableDescription.TableArn as string;
      const keys = Properties.KeySchema as Array<{ AttributeName: string; KeyType: string }>;
      const hashKey = keys.find((key) => key.KeyType === 'HASH')?.AttributeName as string;
      world.tables.set(logicalId, { name, arn });
      world.known.tables.set(name, { arn, hashKey });
    }
  } finally {
    db.destroy();
  }
}

/** CloudFormation parameter values of a configuration (PassRoleArns as given). */
export function parametersOf(config: Configuration, world: World, passRoles: boolean) {
  return {
    DefaultAction: config.defaultAction,
    SlackWebhookParam: config.slack ? SLACK_PARAMETER : '',
    EventBus: config.bus ? world.bus : '',
    ExistingTopicArn: config.topic === 'created' ? '' : world.topics.existing,
    ExistingTopicKeyArn: config.topic === 'existing encrypted' ? EXISTING_TOPIC_KEY : '',
    NamePrefix: config.namePrefix,
    Regions: `${HOME},${OTHER}`,
    DryRun: 'false',
    PassRoleArns: passRoles ? PASS_ROLES.join(',') : '',
    ...(config.waves === undefined ? {} : { Waves: config.waves }),
  };
}

/**
 * What the template's references to its own resources become: the scenario's stand-ins (the
 * topic the stack would create, the tables), a queue ARN for the changes queue (used only by the
 * Lambda service's polling), and a key ARN for each KMS key it creates.
 */
function references(
  template: Template,
  world: World,
): { refs: Record<string, string>; attributes: Record<string, string> } {
  const refs: Record<string, string> = {
    ReportsTopic: world.topics.created,
    ChangesQueue: `https://sqs.${HOME}.amazonaws.com/${ACCOUNT}/rotation-watcher-dev-ChangesQueue`,
  };
  const attributes: Record<string, string> = {
    '<ChangesQueue.Arn>': `arn:aws:sqs:${HOME}:${ACCOUNT}:rotation-watcher-dev-ChangesQueue`,
  };
  for (const [logicalId, table] of world.tables) {
    refs[logicalId] = table.name;
    attributes[`<${logicalId}.Arn>`] = table.arn;
  }
  for (const logicalId of keysOf(template)) {
    refs[logicalId] = keyStandIn(logicalId);
    attributes[`<${logicalId}.Arn>`] = keyStandIn(logicalId);
  }
  return { refs, attributes };
}

const keysOf = (template: Template) =>
  Object.entries(template.Resources as Record<string, { Type: string }>)
    .filter(([, resource]) => resource.Type === 'AWS::KMS::Key')
    .map(([logicalId]) => logicalId);

const keyStandIn = (logicalId: string) =>
  `arn:aws:kms:${HOME}:${ACCOUNT}:key/${logicalId.toLowerCase().slice(0, 12).padEnd(12, '0')}-0000-4000-8000-000000000000`;

/** The key policy AWS gives a key created without one: the account's IAM policies decide. */
const DEFAULT_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
};

/**
 * The customer-managed key of each topic in a configuration, with its key policy: the stack's
 * topic has the key its KmsMasterKeyId names, with the template's key policy (an AWS-managed
 * alias needs no grant: its key policy lets the account use it through SNS); the existing one
 * ExistingTopicKeyArn, with the default key policy. The topics in moto are not encrypted: only
 * the IAM requests SNS makes with the key differ.
 */
export function topicKeys(
  template: Template,
  config: Configuration,
  world: World,
): Map<string, { key: string; policy: unknown }> {
  const keys = new Map<string, { key: string; policy: unknown }>();
  const own = template.Resources.ReportsTopic?.Properties?.KmsMasterKeyId as unknown;
  const id = own && typeof own === 'object' && 'Ref' in own ? String(own.Ref) : null;
  if (id && keysOf(template).includes(id)) {
    const policy = resolve(
      template,
      template.Resources[id].Properties.KeyPolicy,
      parametersOf(config, world, false),
    );
    keys.set(world.topics.created, { key: keyStandIn(id), policy });
  }
  if (config.topic === 'existing encrypted')
    keys.set(world.topics.existing, { key: EXISTING_TOPIC_KEY, policy: DEFAULT_KEY_POLICY });
  return keys;
}

/** Replaces the placeholders of resolve() with the scenario's values; refuses any left over. */
function substituted<T>(value: T, attributes: Record<string, string>, what: string): T {
  const text = JSON.stringify(value).replace(/"(<[^">]+>)"/g, (whole, name: string) =>
    attributes[name] !== undefined ? JSON.stringify(attributes[name]) : whole,
  );
  const left = text.match(/<[A-Za-z0-9:.]+>/);
  if (left)
    throw new Error(
      `${what} refers to ${left[0]}, which this evaluation has no stand-in for: add one in test/helpers/iam-world.ts`,
    );
  return JSON.parse(text) as T;
}

/** The role's statements for a configuration, resolved as CloudFormation would. */
export function roleFor(
  template: Template,
  config: Configuration,
  world: World,
  passRoles: boolean,
): Statement[] {
  const { refs, attributes } = references(template, world);
  const statements = roleStatements(template, {
    ...parametersOf(config, world, passRoles),
    ...refs,
  });
  return substituted(statements, attributes, 'the role');
}

/** The WATCHER_* environment a function gets in a configuration. */
export function environmentFor(
  template: Template,
  logicalId: string,
  config: Configuration,
  world: World,
): Record<string, string> {
  const { refs, attributes } = references(template, world);
  const variables = resolve(
    template,
    template.Resources[logicalId].Properties.Environment.Variables,
    { ...parametersOf(config, world, false), ...refs },
  ) as Record<string, string>;
  const watcher = Object.fromEntries(
    Object.entries(variables).filter(([name]) => name.startsWith('WATCHER_')),
  );
  return substituted(watcher, attributes, `${logicalId}'s environment`);
}
