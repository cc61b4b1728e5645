// `rotation-watcher wait` never says "complete" while a container may hold the old value: against
// the scripted account (rotations under way, versions, replicas that lag, timelines), with a
// clock that does not sleep but lets each test move the account on between checks.
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClientOptions } from '../../lib/aws/index.js';
import { cli } from '../helpers/cli.js';
import { awsError, RecordedAws } from '../helpers/recorded-aws.js';
import { useScriptedAccount } from '../helpers/scripted.js';
import { emptyAccount, type ScriptedTask } from '../support/account/index.js';

const MINUTE = 60_000;
const CHANGE = Date.parse('2026-11-20T12:00:00Z');
const at = (minutes: number) => CHANGE + minutes * MINUTE;
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const SECRET = 'prod/db-creds';
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${SECRET}-AbC123`;
const PARAM = '/prod/db/password';

const scripted = useScriptedAccount();
const { account } = scripted;

beforeEach(() => {
  scripted.server.requests.length = 0;
  Object.assign(account, emptyAccount(at(30)));
  account.clusters = ['prod'];
  account.parameters = [{ name: PARAM, version: 3, lastModified: CHANGE, type: 'SecureString' }];
  account.secrets = [{ name: SECRET, suffix: 'AbC123', lastChanged: CHANGE, currentVersion: 'v1' }];
  account.taskDefinitions = [
    { family: 'api', revision: 1, secrets: [{ name: 'DB', valueFrom: SECRET_ARN }] },
    { family: 'web', revision: 1, secrets: [{ name: 'DB', valueFrom: PARAM }] },
    { family: 'gone', revision: 1, secrets: [{ name: 'DB', valueFrom: '/prod/gone' }] },
  ];
});

/** A running task of `family`, created at `created` (epoch ms). */
function task(family: string, id: string, created: number): ScriptedTask {
  return {
    cluster: 'prod',
    id,
    taskDefinition: `${family}:1`,
    group: `family:${family}`,
    createdAt: created,
    startedAt: created + 1000,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
  };
}

interface Waited {
  code: number;
  stdout: string;
  stderr: string;
  checks: number;
}

/** Runs `wait` with a clock whose every sleep runs the next of `between` first. */
async function wait(
  args: string[],
  between: Array<() => void> = [],
  clientOptions: ClientOptions = { maxAttempts: 1 },
): Promise<Waited> {
  let now = 0;
  let sleeps = 0;
  const result = await cli(['wait', ...args], undefined, clientOptions, undefined, {
    clock: {
      now: () => now,
      sleep: async (ms) => {
        between[sleeps]?.();
        sleeps += 1;
        now += ms;
      },
    },
  });
  return { ...result, checks: sleeps + 1 };
}

const oneLine = (text: string) => text.trim().split('\n');

describe('a value that does not exist', () => {
  it('is bad input when nothing references it: a typo names what was looked up', async () => {
    const result = await wait(['/prod/db/pasword', '--region', REGION]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(oneLine(result.stderr)).toEqual([
      'rotation-watcher: no parameter named /prod/db/pasword in us-east-1, and no running consumer references it; check the name (or add --secret for a secret)',
    ]);
  });

  it('suggests --secret when a secret of that name exists', async () => {
    const result = await wait([SECRET, '--region', REGION]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(oneLine(result.stderr)).toHaveLength(1);
    expect(result.stderr).toContain(
      `no parameter named ${SECRET} in us-east-1, and no running consumer references it; a secret of that name exists: add --secret`,
    );
  });

  it('suggests dropping --secret when a parameter of that name exists', async () => {
    account.parameters.push({ name: 'prod/api-key', version: 1, lastModified: CHANGE });
    const result = await wait(['prod/api-key', '--secret', '--region', REGION]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'no secret named prod/api-key in us-east-1, and no running consumer references it; a parameter of that name exists: drop --secret',
    );
  });

  it('is waited for when deleted but still referenced: its consumers hold the last value', async () => {
    account.tasks = [task('gone', 'holder', at(-60))];
    const result = await wait(['/prod/gone', '--region', REGION, '--timeout', '1m']);
    expect(result.code).toBe(5);
    expect(result.stdout).toContain(
      'timed out after 1m00s: 1 consumer may still hold an older value of /prod/gone:',
    );
    expect(result.stdout).toContain('ecs-task family:gone holder');
    expect(result.stdout).toContain('/prod/gone does not exist any more');
  });
});

describe('a Secrets Manager rotation under way', () => {
  it('is not complete while AWSPENDING is on another version than AWSCURRENT', async () => {
    account.secrets[0] = { ...account.secrets[0], pendingVersion: 'v2' } as never;
    const result = await wait([SECRET, '--secret', '--region', REGION, '--timeout', '2m']);
    expect(result.code).toBe(5);
    expect(result.checks).toBe(5);
    expect(result.stdout).toContain(
      `timed out after 2m00s: nothing is complete for ${SECRET}: a rotation is in progress (or failed and left AWSPENDING behind): AWSPENDING on version v2; AWSCURRENT still on v1`,
    );
  });

  it('waits for AWSCURRENT to move, then for the consumers created before it', async () => {
    const secret = account.secrets[0] as (typeof account.secrets)[0];
    // createSecret wrote v2 under AWSPENDING at 10; finishSecret moves AWSCURRENT at 31.
    secret.pendingVersion = 'v2';
    secret.versionsCreated = { v2: at(10) };
    account.tasks = [task('api', 'early', at(-60))];
    const result = await wait(
      [SECRET, '--secret', '--region', REGION, '--interval', '30s', '--json'],
      [
        // finishSecret: AWSCURRENT moves to v2; AWSPENDING is left on it (a finished rotation).
        () => Object.assign(secret, { currentVersion: 'v2', lastChanged: at(31) }),
        // The task that may hold v1 is replaced by one created after the move.
        () => {
          account.tasks = [task('api', 'late', at(32))];
        },
      ],
    );
    expect(result.code).toBe(0);
    expect(result.checks).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ complete: true, pending: [], left: [] });
  });
});

describe('--version', () => {
  it('waits for the AWSPENDING version to become current', async () => {
    const secret = account.secrets[0] as (typeof account.secrets)[0];
    secret.pendingVersion = 'v2';
    const result = await wait(
      [SECRET, '--secret', '--version', 'v2', '--region', REGION],
      [() => Object.assign(secret, { currentVersion: 'v2', pendingVersion: undefined })],
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.checks).toBe(2);
  });

  it.each([
    ['an older secret version', [SECRET, '--secret', '--version', 'v0'], /version v0 of secret/],
    ['an unknown secret version', [SECRET, '--secret', '--version', 'nope'], /neither AWSCURRENT/],
    ['an older parameter version', [PARAM, '--version', '2'], /older than its current version 3/],
    ['a parameter version that is no number', [PARAM, '--version', 'v2'], /version number/],
  ])('refuses %s with one line, exit 2', async (_, args, message) => {
    account.secrets[0] = { ...account.secrets[0], previousVersion: 'v0' } as never;
    const result = await wait([...args, '--region', REGION]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(oneLine(result.stderr)).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it('waits for a parameter version not current yet, and says so at the timeout', async () => {
    const result = await wait([PARAM, '--version', '4', '--region', REGION, '--timeout', '1m']);
    expect(result.code).toBe(5);
    expect(result.stdout).toContain('version 4 is not current yet (the current version is 3)');
  });

  it('waits as usual for the current parameter version', async () => {
    const result = await wait([PARAM, '--version', '3', '--region', REGION]);
    expect(result.code).toBe(0);
  });
});

describe('what the answer covers', () => {
  it('names the regions scanned and the account, in text and in --json', async () => {
    account.tasks = [task('web', 'fresh', at(5))];
    const text = await wait([PARAM, '--region', REGION]);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(
      `complete: no running consumer of ${PARAM} holds an older value (1 consumer checked in us-east-1 of account ${ACCOUNT}; waited 0s)\n`,
    );
    const json = JSON.parse((await wait([PARAM, '--region', REGION, '--json'])).stdout);
    expect(json).toMatchObject({ regions: ['us-east-1'], accounts: [ACCOUNT], replicas: [] });
  });

  it("follows a secret's replicas, and is not complete while one lags behind its primary", async () => {
    const secret = account.secrets[0] as (typeof account.secrets)[0];
    secret.currentVersion = 'v2';
    secret.replicas = [{ region: 'us-west-2', currentVersion: 'v1', lastChanged: at(-60) }];
    const result = await wait(
      [SECRET, '--secret', '--region', REGION, '--json'],
      [() => Object.assign(secret.replicas?.[0] ?? {}, { currentVersion: 'v2' })],
    );
    expect(result.code).toBe(0);
    expect(result.checks).toBe(2);
    const json = JSON.parse(result.stdout);
    expect(json.regions).toEqual(['us-east-1', 'us-west-2']);
    expect(json.replicas).toEqual([
      {
        region: 'us-west-2',
        arn: `arn:aws:secretsmanager:us-west-2:${ACCOUNT}:secret:${SECRET}-AbC123`,
        status: 'InSync',
        followed: true,
        version: 'v2',
      },
    ]);
    // The replica region was scanned, and its replica described there.
    const describedReplica = scripted.server.requests.filter(
      (r) =>
        r.api === 'secretsmanager:DescribeSecret' && String(r.input.SecretId).includes('us-west-2'),
    );
    expect(describedReplica.length).toBeGreaterThan(0);
  });

  it('says at the timeout that a replica has not caught up', async () => {
    const secret = account.secrets[0] as (typeof account.secrets)[0];
    secret.currentVersion = 'v2';
    secret.replicas = [{ region: 'us-west-2', currentVersion: 'v1' }];
    const result = await wait([SECRET, '--secret', '--region', REGION, '--timeout', '30s']);
    expect(result.code).toBe(5);
    expect(result.stdout).toContain(
      "the replica in us-west-2 is still on version v1 (the primary's AWSCURRENT is v2)",
    );
    expect(result.stdout).toContain('replica in us-west-2 followed');
  });
});

describe('timing', () => {
  it('checks until the timeout even when it is shorter than the interval', async () => {
    account.tasks = [task('web', 'old', at(-60))];
    const result = await wait(
      [PARAM, '--region', REGION, '--timeout', '30s', '--interval', '1m'],
      [
        () => {
          account.tasks = [task('web', 'new', at(5))];
        },
      ],
    );
    expect(result.code).toBe(0);
    expect(result.checks).toBe(2);
    expect(result.stdout).toContain('waited 30s');
  });
});

describe('when AWS cannot be reached', () => {
  const denied: ClientOptions = {
    maxAttempts: 1,
    requestHandler: new RecordedAws(() =>
      awsError('AccessDeniedException', 'User is not authorized to perform this action'),
    ),
  };

  it('wait --json prints an answer that says so, and exits 3', async () => {
    const result = await wait([PARAM, '--region', REGION, '--json'], [], denied);
    expect(result.code).toBe(3);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({ complete: false, value: PARAM, regions: ['us-east-1'] });
    expect(json.error).toMatch(/^nothing could be read: every AWS call failed/);
    expect(result.stderr).toMatch(/nothing could be read/);
  });

  it('status says nothing could be read on stderr, and prints no answer', async () => {
    const result = await cli(['status', PARAM, '--region', REGION], undefined, denied, {
      WATCHER_STATE_TABLE: '',
    });
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(oneLine(result.stderr)).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^rotation-watcher: nothing could be read: every AWS call failed/,
    );
  });
});

describe('status without the state table', () => {
  const status = (args: string[]) =>
    cli(
      ['status', ...args, '--region', REGION],
      undefined,
      { maxAttempts: 1 },
      {
        WATCHER_STATE_TABLE: '',
      },
    );

  it('names a value that does not exist instead of calling it changed just now', async () => {
    const result = await status([SECRET]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('a secret of that name exists: add --secret');
  });

  it('says a deleted value still referenced does not exist, and who holds it', async () => {
    account.tasks = [task('gone', 'holder', at(-60))];
    const result = await status(['/prod/gone']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'live: it does not exist (deleted), 1 running consumer created before it: family:gone holder',
    );
  });
});
