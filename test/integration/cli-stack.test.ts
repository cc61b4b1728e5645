import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { newRecord, RotationStore, recordPk } from '../../lib/rotations/index.js';
import { cli } from '../helpers/cli.js';
import { aChange } from '../helpers/factories.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const ACCOUNT = '123456789012';
const PARAM = '/stack/db/password';
const scratch = mkdtempSync(join(tmpdir(), 'rw-cli-stack-'));

/** The stack's table as serverless.yml declares it, with the outputs the CLI reads. */
const TEMPLATE = {
  Resources: {
    StateTable: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      },
    },
  },
  Outputs: {
    StateTableName: { Value: { Ref: 'StateTable' } },
    StateTableArn: { Value: { 'Fn::GetAtt': ['StateTable', 'Arn'] } },
  },
};

/** A stack made before the outputs: its table, and nothing the CLI can read it by. */
const OLD_TEMPLATE = { Resources: TEMPLATE.Resources };

async function createStack(name: string, region: string, template: object): Promise<void> {
  const client = new CloudFormationClient({ region });
  try {
    await client.send(
      new CreateStackCommand({ StackName: name, TemplateBody: JSON.stringify(template) }),
    );
  } finally {
    client.destroy();
  }
}

/** Writes one open rotation record of PARAM (in `region`) into the stack's table. */
async function writeRecord(region: string, changedAt: string): Promise<void> {
  const clients = new AwsClients();
  try {
    const change = aChange({
      name: PARAM,
      region,
      account: ACCOUNT,
      arn: `arn:aws:ssm:${region}:${ACCOUNT}:parameter${PARAM}`,
      changedAt,
    });
    const record = newRecord(change, [], new Date(changedAt), 86_400_000);
    const table = await tableOf(region);
    const store = new RotationStore({ table, region, clients });
    await store.update(recordPk(change), record.sk, () => ({ record, result: null }));
  } finally {
    clients.destroy();
  }
}

/** The table the stack in `region` made (moto names it after the stack). */
async function tableOf(region: string): Promise<string> {
  const { DynamoDBClient, ListTablesCommand } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({ region });
  try {
    const { TableNames = [] } = await client.send(new ListTablesCommand({}));
    const table = TableNames.find((name) => name.includes('StateTable'));
    if (!table) throw new Error(`no StateTable in ${region}: ${TableNames.join(', ')}`);
    return table;
  } finally {
    client.destroy();
  }
}

const firstError = (stderr: string) => stderr.split('\n')[0];

beforeAll(async () => {
  await createStack('watcher', 'us-east-1', TEMPLATE);
  await createStack('watcher-old', 'us-east-1', OLD_TEMPLATE);
  await writeRecord('us-east-1', '2026-03-01T10:00:00.000Z');
  // The profile's region has a stack of its own.
  await createStack('watcher', 'eu-west-1', TEMPLATE);
  await writeRecord('eu-west-1', '2026-03-02T10:00:00.000Z');
}, 60_000);

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('--stack', () => {
  it("status reads the records from the stack's table, with no WATCHER_STATE_TABLE", async () => {
    expect(env.moto.endpoint).toBeTruthy();
    const { code, stdout, stderr } = await cli([
      'status',
      PARAM,
      '--stack',
      'watcher',
      '--region',
      'us-east-1',
      '--json',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const answer = JSON.parse(stdout);
    expect(answer.source).toBe('table');
    expect(answer.records.map((r: { value: { changedAt: string } }) => r.value.changedAt)).toEqual([
      '2026-03-01T10:00:00.000Z',
    ]);
    const text = await cli(['status', PARAM, '--stack', 'watcher', '--region', 'us-east-1']);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^CHANGED\s+VERSION\s+STATUS\s+HOLDING OLD/);
    expect(text.stdout).toContain('2026-03-01T10:00:00.000Z');
  }, 60_000);

  it('wins over WATCHER_STATE_TABLE', async () => {
    const { code, stdout } = await cli(
      ['status', PARAM, '--stack', 'watcher', '--region', 'us-east-1', '--json'],
      undefined,
      undefined,
      { WATCHER_STATE_TABLE: 'no-such-table' },
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout).records).toHaveLength(1);
  }, 60_000);

  it('says there is no such stack, and what to do, exit 2', async () => {
    const { code, stdout, stderr } = await cli([
      'status',
      PARAM,
      '--stack',
      'watchr',
      '--region',
      'us-east-1',
    ]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(firstError(stderr)).toBe(
      "rotation-watcher: --stack watchr: no such stack in us-east-1; check its name and region (--region, or the profile's), or set WATCHER_STATE_TABLE instead",
    );
  }, 60_000);

  it('says a stack without the output is older than this version, exit 2', async () => {
    const { code, stdout, stderr } = await cli([
      'wait',
      PARAM,
      '--stack',
      'watcher-old',
      '--region',
      'us-east-1',
    ]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(firstError(stderr)).toBe(
      'rotation-watcher: --stack watcher-old: the stack has no StateTableArn output: it is older than this version of rotation-watcher; deploy it again, or set WATCHER_STATE_TABLE to its table',
    );
  }, 60_000);

  it('is taken by drift, who-uses and simulate too', async () => {
    for (const args of [['drift'], ['who-uses', PARAM], ['simulate', '-']]) {
      const { code, stderr } = await cli(
        [...args, '--stack', 'watchr', '--region', 'us-east-1'],
        '{}',
      );
      expect(code).toBe(2);
      expect(firstError(stderr)).toMatch(
        /^rotation-watcher: --stack watchr: no such stack in us-east-1/,
      );
    }
  }, 60_000);
});

describe('--profile', () => {
  it("uses the profile's region and credentials", async () => {
    const config = join(scratch, 'config');
    const credentials = join(scratch, 'credentials');
    writeFileSync(config, '[profile staging]\nregion = eu-west-1\n');
    writeFileSync(
      credentials,
      '[staging]\naws_access_key_id = AKIDSTAGING\naws_secret_access_key = staging-secret\n',
    );
    vi.stubEnv('AWS_CONFIG_FILE', config);
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', credentials);
    // Neither the environment's region nor its keys: only the profile can supply them.
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_ACCESS_KEY_ID', undefined);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', undefined);
    const { code, stdout, stderr } = await cli([
      'status',
      PARAM,
      '--profile',
      'staging',
      '--stack',
      'watcher',
      '--json',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // The eu-west-1 stack's table, and the value in eu-west-1: the profile's region.
    expect(
      JSON.parse(stdout).records.map((r: { value: { changedAt: string } }) => r.value.changedAt),
    ).toEqual(['2026-03-02T10:00:00.000Z']);
  }, 60_000);

  it('without --profile, the same environment has no region', async () => {
    vi.stubEnv('AWS_CONFIG_FILE', join(scratch, 'no-config'));
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    const { code, stderr } = await cli(['status', PARAM, '--stack', 'watcher']);
    expect(code).toBe(2);
    expect(firstError(stderr)).toMatch(/^rotation-watcher: no region: pass --region/);
  }, 60_000);
});
