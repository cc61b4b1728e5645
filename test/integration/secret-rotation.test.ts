// A Secrets Manager rotation's four steps as a rotation Lambda performs them, against moto, each
// CloudTrail event handed to the real on-change handler: createSecret writes the new version under
// AWSPENDING (nothing any consumer reads has changed), setSecret and testSecret touch only the
// backend, finishSecret moves AWSCURRENT. No `Rotation Complete` may reach the bus before
// AWSCURRENT moved and every container that may hold the old value is gone.
import { randomUUID } from 'node:crypto';
import { StopTaskCommand } from '@aws-sdk/client-ecs';
import {
  DescribeSecretCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHandler as createOnChange } from '../../functions/on-change.js';
import { AwsClients } from '../../lib/aws/index.js';
import { RotationStore } from '../../lib/rotations/index.js';
import { sqsBatch } from '../helpers/events.js';
import { useMoto } from '../helpers/moto.js';

let onChange = createOnChange();
/** A cold start: the handler of a new Lambda container. */
const coldStart = () => {
  onChange = createOnChange();
};

const env = useMoto();
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const NAME = 'prod/api-key';

interface World {
  arn: string;
  cluster: string;
  tasks: string[];
  signals: string;
  store: RotationStore;
}
let world: World;

/** The CloudTrail event EventBridge delivers for one Secrets Manager call. */
function cloudTrail(
  eventName: string,
  requestParameters: Record<string, unknown>,
  versionId?: string,
) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.secretsmanager',
    account: ACCOUNT,
    time: new Date().toISOString(),
    region: REGION,
    resources: [],
    detail: {
      eventVersion: '1.08',
      eventTime: new Date().toISOString(),
      eventSource: 'secretsmanager.amazonaws.com',
      eventName,
      awsRegion: REGION,
      requestParameters,
      responseElements: versionId ? { arn: world.arn, versionId } : null,
    },
  };
}

async function signals(): Promise<Array<Record<string, unknown>>> {
  const messages = await env.seed.drain(REGION, world.signals);
  return messages
    .map((message) => JSON.parse(message.body))
    .filter((event) => event['detail-type'] !== 'Rotation Watcher Run');
}

const recordsOf = (stage: string) =>
  world.store.list(`rot#secretsmanager|${REGION}|${ACCOUNT}|${NAME}|${stage}`);

beforeAll(async () => {
  const { seed } = env;
  const arn = await seed.secret(REGION, NAME, 'v0');
  const cluster = await seed.cluster(REGION, 'rotation');
  const td = await seed.taskDefinition(REGION, 'api', [{ name: 'app', secrets: { KEY: arn } }]);
  const service = await seed.service(REGION, cluster, 'api', td, { tasks: 2 });
  const standalone = await seed.standaloneTask(REGION, cluster, td);
  const table = await seed.stateTable(REGION, 'rotation-state');
  const followUps = (await seed.queue(REGION, 'rotation-follow-ups')).url;
  const { bus, queueUrl } = await seed.busWithQueue(REGION, 'rotation-bus', 'rotation-watcher');
  coldStart();
  vi.stubEnv('AWS_REGION', REGION);
  vi.stubEnv('WATCHER_STATE_TABLE', table);
  vi.stubEnv('WATCHER_QUEUE_URL', followUps);
  vi.stubEnv('WATCHER_EVENT_BUS', bus);
  world = {
    arn,
    cluster,
    tasks: [...service.tasks, standalone],
    signals: queueUrl,
    store: new RotationStore({ table, region: REGION, clients: new AwsClients() }),
  };
}, 60_000);

afterAll(() => {
  vi.unstubAllEnvs();
  coldStart();
});

describe('a Secrets Manager rotation, step by step', () => {
  const pending = randomUUID();

  it('createSecret (the new version under AWSPENDING) announces nothing and opens no record', async () => {
    const secrets = env.seed.secrets(REGION);
    await secrets.send(
      new PutSecretValueCommand({
        SecretId: NAME,
        SecretString: 'v1',
        ClientRequestToken: pending,
        VersionStages: ['AWSPENDING'],
      }),
    );
    const event = cloudTrail(
      'PutSecretValue',
      { secretId: world.arn, clientRequestToken: pending, versionStages: ['AWSPENDING'] },
      pending,
    );
    expect(await onChange(sqsBatch(event))).toEqual({ batchItemFailures: [] });
    expect(await recordsOf('AWSPENDING')).toEqual([]);
    expect(await recordsOf('AWSCURRENT')).toEqual([]);
    expect(await signals()).toEqual([]);
  }, 60_000);

  it('finishSecret (AWSCURRENT moved) opens the record of every container on the old value', async () => {
    const secrets = env.seed.secrets(REGION);
    const stages = (await secrets.send(new DescribeSecretCommand({ SecretId: NAME })))
      .VersionIdsToStages;
    const current = Object.keys(stages ?? {}).find((id) => stages?.[id]?.includes('AWSCURRENT'));
    await secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: NAME,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: pending,
        RemoveFromVersionId: current,
      }),
    );
    const event = cloudTrail('UpdateSecretVersionStage', {
      secretId: world.arn,
      versionStage: 'AWSCURRENT',
      moveToVersionId: pending,
    });
    expect(await onChange(sqsBatch(event))).toEqual({ batchItemFailures: [] });
    const [record] = await recordsOf('AWSCURRENT');
    expect(record?.status).toBe('open');
    expect(record?.value).toMatchObject({ stage: 'AWSCURRENT', version: pending });
    // Both may hold the old value. (moto keeps LastChangedDate at the secret's creation, so the
    // service's first deployment looks newer than the change and the service reads as being
    // replaced: which time judges a label's move is the next part of this work.)
    const held = record?.consumers.map((c) => [
      c.kind,
      c.state === 'being-replaced' ? 'stale' : c.state,
    ]);
    expect(held?.sort()).toEqual([
      ['ecs-service', 'stale'],
      ['ecs-task', 'stale'],
    ]);
    expect(await signals()).toEqual([]);
  }, 60_000);

  it('says complete, naming stage and version, once every old container is gone', async () => {
    const ecs = env.seed.ecs(REGION);
    const [record] = await recordsOf('AWSCURRENT');
    // The delayed message the watcher sent: its record and the link of the record's chain.
    const message = async () => ({
      'rotation-watcher': 'follow-up',
      pk: record?.pk,
      sk: record?.sk,
      chain: (await recordsOf('AWSCURRENT'))[0]?.nextLook,
    });
    // One task still runs: the follow-up keeps it open.
    for (const task of world.tasks.slice(1))
      await ecs.send(new StopTaskCommand({ cluster: world.cluster, task }));
    await onChange(sqsBatch(await message()));
    expect((await recordsOf('AWSCURRENT'))[0]?.status).toBe('open');
    expect(await signals()).toEqual([]);
    await ecs.send(new StopTaskCommand({ cluster: world.cluster, task: world.tasks[0] }));
    await onChange(sqsBatch(await message()));
    expect((await recordsOf('AWSCURRENT'))[0]?.status).toBe('complete');
    const received = await signals();
    expect(received.map((event) => event['detail-type'])).toEqual(['Rotation Complete']);
    expect((received[0]?.detail as { value: unknown } | undefined)?.value).toMatchObject({
      name: NAME,
      stage: 'AWSCURRENT',
      version: pending,
    });
    // What "complete" covered, said in the event itself.
    expect((received[0]?.detail as { covered: unknown } | undefined)?.covered).toEqual({
      regions: [REGION],
      accounts: [ACCOUNT],
    });
  }, 60_000);
});
