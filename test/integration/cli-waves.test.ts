// `rotation-watcher halt`, `resume`, and what `status` and `wait` say of staged restarts, against
// rotation records in moto's DynamoDB (written as the watcher writes them, through the store).
import { beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import {
  newRecord,
  type RotationRecord,
  RotationStore,
  recordPk,
  recordSk,
} from '../../lib/rotations/index.js';
import type { Waves } from '../../lib/rotations/waves.js';
import { cli } from '../helpers/cli.js';
import { aChange } from '../helpers/factories.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const TABLE = 'waves-state';
const ROLLING = '/waves/rolling';
const HALTED = '/waves/halted';
const BAD_REASON = 'ECS deployment circuit breaker: tasks failed to start.';
const STOPPED = 'ResourceInitializationError: unable to pull secrets or registry auth';
let store: RotationStore;

const service = (name: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service/waves/${name}`;

/** A record of one change of `name` whose restarts went out in `waves`. */
async function seedRecord(name: string, waves: Waves, restarted: string[]): Promise<void> {
  const at = new Date(Date.now() - 30 * 60_000);
  const change = aChange({ name, changedAt: at.toISOString(), version: '2' });
  const opened = newRecord(
    change,
    ['svc-a', 'svc-b', 'svc-c'].map((svc) => ({
      arn: service(svc),
      kind: 'ecs-service',
      name: svc,
      region: REGION,
      parent: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/waves`,
      staleRuns: 1,
      running: true,
      replacing: false,
      action: restarted.includes(svc) ? 'redeploy' : 'notify',
    })),
    at,
    86_400_000,
  );
  const record: RotationRecord = { ...opened, waves };
  await store.update(recordPk(change), recordSk(change), () => ({ record, result: null }));
}

const restart = (svc: string, wave: number, state: 'in-flight' | 'settled' | 'failed') => ({
  arn: service(svc),
  name: svc,
  kind: 'redeploy' as const,
  region: REGION,
  parent: 'waves',
  wave,
  ref: `ecs-svc/${svc}-1`,
  at: '2026-11-20T12:01:00.000Z',
  state,
  settledAt: state === 'settled' ? '2026-11-20T12:04:00.000Z' : null,
  reason: state === 'failed' ? BAD_REASON : null,
});

const run = (args: string[], table = TABLE) =>
  cli([...args, '--region', REGION], undefined, { maxAttempts: 1 }, { WATCHER_STATE_TABLE: table });

async function stored(name: string): Promise<RotationRecord> {
  const [record] = await store.list(recordPk(aChange({ name })), 1);
  return record as RotationRecord;
}

beforeAll(async () => {
  await env.seed.stateTable(REGION, TABLE);
  store = new RotationStore({ table: TABLE, region: REGION, clients: new AwsClients() });
  // The canary settled and baked; wave 2 is in flight.
  await seedRecord(
    ROLLING,
    {
      spec: '1,25%,100%',
      status: 'rolling',
      waves: [
        {
          members: [service('svc-a')],
          openedAt: '2026-11-20T12:01:00.000Z',
          settledAt: '2026-11-20T12:04:00.000Z',
          bakedAt: '2026-11-20T12:09:00.000Z',
        },
        {
          members: [service('svc-b'), service('svc-c')],
          openedAt: '2026-11-20T12:10:00.000Z',
          settledAt: null,
          bakedAt: null,
        },
      ],
      restarts: [restart('svc-a', 0, 'settled'), restart('svc-b', 1, 'in-flight')],
      halt: null,
    },
    ['svc-a', 'svc-b'],
  );
  // The canary failed: the watcher halted the waves.
  await seedRecord(
    HALTED,
    {
      spec: '1,25%,100%',
      status: 'halted',
      waves: [
        {
          members: [service('svc-a')],
          openedAt: '2026-11-20T12:01:00.000Z',
          settledAt: null,
          bakedAt: null,
        },
      ],
      restarts: [restart('svc-a', 0, 'failed')],
      halt: {
        at: '2026-11-20T12:06:00.000Z',
        by: 'watcher',
        consumer: service('svc-a'),
        name: 'svc-a',
        ref: 'ecs-svc/svc-a-1',
        reason: BAD_REASON,
        stopped: [STOPPED],
        told: ['eventbridge'],
      },
    },
    ['svc-a'],
  );
}, 60_000);

describe('rotation-watcher halt', () => {
  it('halts rolling waves by hand, then says they are already halted (exit 2)', async () => {
    const first = await run(['halt', ROLLING]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^halted the waves of \/waves\/rolling's change at .* at wave 2/);
    expect(first.stdout).toContain('`rotation-watcher resume /waves/rolling --region us-east-1`');
    const record = await stored(ROLLING);
    expect(record.waves?.status).toBe('halted');
    expect(record.waves?.halt).toMatchObject({ by: 'person', consumer: null });
    // Restarts already sent are kept as they were.
    expect(record.waves?.restarts.map((r) => [r.name, r.state])).toEqual([
      ['svc-a', 'settled'],
      ['svc-b', 'in-flight'],
    ]);

    const again = await run(['halt', ROLLING]);
    expect(again.code).toBe(2);
    expect(again.stdout).toBe('');
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toContain('nothing to halt');
    expect(again.stderr).toContain('already halted (halted by hand (rotation-watcher halt))');
  }, 60_000);

  it('exits 2 for a value with no record', async () => {
    const result = await run(['halt', '/waves/unknown']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^rotation-watcher: nothing to halt: no rotation record of \/waves\/unknown has waves/,
    );
  }, 60_000);

  it('exits 3 when the state table cannot be read', async () => {
    const result = await run(['halt', ROLLING], 'no-such-table');
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^rotation-watcher: the state table no-such-table could not be read in us-east-1: /,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('exits 2 without a state table', async () => {
    const result = await run(['halt', ROLLING], '');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('pass --stack NAME or set WATCHER_STATE_TABLE');
  }, 60_000);
});

describe('rotation-watcher status', () => {
  it('shows the waves, each restart and the halt with its reasons', async () => {
    const result = await run(['status', HALTED, '--wide']);
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/open, halted/);
    expect(out).toContain('Waves of the change at');
    expect(out).toContain('halted (WATCHER_WAVES 1,25%,100%), 1 wave, 1 restart, 1 failed');
    expect(out).toMatch(/WAVE\s+MEMBERS\s+OPENED\s+SETTLED\s+BAKED UNTIL/);
    expect(out).toMatch(/1 canary\s+1\s+2026-11-20T12:01:00.000Z\s+-\s+-/);
    expect(out).toMatch(/WAVE\s+CONSUMER\s+KIND\s+REF\s+STATE\s+REASON/);
    expect(out).toMatch(/1\s+svc-a\s+redeploy\s+ecs-svc\/svc-a-1\s+failed\s+ECS deployment/);
    expect(out).toContain(
      `Halted at 2026-11-20T12:06:00.000Z by the watcher: svc-a (ecs-svc/svc-a-1): ${BAD_REASON}`,
    );
    expect(out).toContain(`stopped tasks: ${STOPPED}`);
    expect(out).toContain('`rotation-watcher resume /waves/halted --region us-east-1`');
  }, 60_000);

  it('gives the waves whole with --json', async () => {
    const result = await run(['status', HALTED, '--json']);
    expect(result.code).toBe(0);
    const [record] = JSON.parse(result.stdout).records;
    expect(record.waves).toMatchObject({
      status: 'halted',
      halt: { by: 'watcher', reason: BAD_REASON, stopped: [STOPPED] },
      restarts: [{ name: 'svc-a', state: 'failed', ref: 'ecs-svc/svc-a-1' }],
    });
  }, 60_000);
});

describe('rotation-watcher wait on halted waves', () => {
  beforeAll(async () => {
    // A consumer that still runs the old value: the waves held it back.
    const { seed } = env;
    await seed.parameter(REGION, HALTED, 'old');
    const cluster = await seed.cluster(REGION, 'waves');
    const family = await seed.taskDefinition(REGION, 'waves-held', [
      { name: 'app', secrets: { DB: HALTED } },
    ]);
    await seed.standaloneTask(REGION, cluster, family);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await seed.parameter(REGION, HALTED, 'new');
  }, 60_000);

  it('says the waves are halted and why, and exits 5 at the timeout', async () => {
    let now = 0;
    const result = await cli(
      ['wait', HALTED, '--region', REGION, '--timeout', '1m', '--interval', '30s'],
      undefined,
      { maxAttempts: 1 },
      { WATCHER_STATE_TABLE: TABLE },
      {
        clock: {
          now: () => now,
          sleep: async (ms) => {
            now += ms;
          },
        },
      },
    );
    expect(result.code).toBe(5);
    expect(result.stdout).toContain('timed out after 1m00s: 1 consumer may still hold');
    expect(result.stdout).toContain(
      'and the waves are halted: the restart of svc-a (ecs-svc/svc-a-1) failed: ECS deployment circuit breaker: tasks failed to start; nothing more is restarted until `rotation-watcher resume /waves/halted --region us-east-1`',
    );

    const json = await cli(
      ['wait', HALTED, '--region', REGION, '--timeout', '0', '--json'],
      undefined,
      { maxAttempts: 1 },
      { WATCHER_STATE_TABLE: TABLE },
    );
    expect(json.code).toBe(5);
    expect(JSON.parse(json.stdout)).toMatchObject({
      complete: false,
      halted: { by: 'watcher', reason: BAD_REASON, name: 'svc-a', stopped: [STOPPED] },
    });
  }, 60_000);
});

describe('rotation-watcher resume', () => {
  it('lets halted waves go on, the failed restarts to be made again', async () => {
    const result = await run(['resume', HALTED, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.record.pk).toBe(recordPk(aChange({ name: HALTED })));
    expect(out.waves).toMatchObject({ status: 'rolling', halt: null, restarts: [] });
    expect(out.retry).toEqual([service('svc-a')]);
    const record = await stored(HALTED);
    expect(record.waves?.status).toBe('rolling');
    expect(record.waves?.restarts).toEqual([]);
    expect(record.waves?.resumed).toMatchObject([{ by: 'watcher', reason: BAD_REASON }]);
    // Not "restarted" any more: the next look restarts it again.
    expect(record.consumers.find((c) => c.name === 'svc-a')?.action).toBeNull();
    expect(record.consumers.find((c) => c.name === 'svc-b')?.action).toBe('notify');
  }, 60_000);

  it('says when the waves go on, and exits 2 on waves that are not halted', async () => {
    const resumed = await run(['resume', ROLLING]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(
      /^resumed the waves of \/waves\/rolling's change at .* at wave 2; they go on at the record's next look \(its follow-up, within 15 minutes\) or the next sweep\n$/,
    );
    const again = await run(['resume', ROLLING]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /nothing to resume: the waves of .* are not halted: they are rolling/,
    );
  }, 60_000);

  it('has help, and is in the program’s list of commands', async () => {
    const help = await cli(['resume', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: rotation-watcher resume NAME\|ARN \[--secret\]/);
    expect(help.stdout).toContain('Exit codes: 0 resumed, 2 bad input or nothing to resume');
    const program = await cli(['--help']);
    expect(program.stdout).toMatch(/\n {2}halt {7}stop the staged restarts/);
    expect(program.stdout).toMatch(/\n {2}resume {5}let the halted waves/);
  });
});
