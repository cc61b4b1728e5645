// `wait` follows a replicated secret into its replica's region, against moto: the wire shapes of
// ReplicationStatus and of a replica's own ARN, with a consumer that reads the replica.

import { StopTaskCommand } from '@aws-sdk/client-ecs';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const PRIMARY = 'us-east-1';
const REPLICA = 'us-west-2';
const SECRET = 'replicated/db-creds';
const CANARY = 'wait-replica-canary';

/** Runs `wait` with a clock whose every sleep runs the next of `between` first. */
async function wait(args: string[], between: Array<() => Promise<void>> = []) {
  let now = 0;
  let sleeps = 0;
  const result = await cli(['wait', ...args], undefined, { maxAttempts: 1 }, undefined, {
    clock: {
      now: () => now,
      sleep: async (ms) => {
        await between[sleeps]?.();
        sleeps += 1;
        now += ms;
      },
    },
  });
  return { ...result, checks: sleeps + 1 };
}

describe('wait on a replicated secret', () => {
  let cluster = '';
  let task = '';
  let replicaArn = '';
  beforeAll(async () => {
    const { seed } = env;
    const created = await seed.secrets(PRIMARY).send(
      new CreateSecretCommand({
        Name: SECRET,
        SecretString: CANARY,
        AddReplicaRegions: [{ Region: REPLICA }],
      }),
    );
    replicaArn = (created.ARN as string).replace(`:${PRIMARY}:`, `:${REPLICA}:`);
    cluster = await seed.cluster(REPLICA, 'west');
    // The consumer reads the replica, by its own ARN, in its own region.
    const definition = await seed.taskDefinition(REPLICA, 'west-app', [
      { name: 'app', secrets: { DB: replicaArn } },
    ]);
    task = await seed.standaloneTask(REPLICA, cluster, definition);
    await seed.rotateSecret(PRIMARY, SECRET, `${CANARY}-2`);
  }, 60_000);

  it("counts the replica's consumers, scans its region, and lists it", async () => {
    const result = await wait(
      [SECRET, '--secret', '--region', PRIMARY, '--interval', '10s', '--json'],
      [
        () =>
          env.seed
            .ecs(REPLICA)
            .send(new StopTaskCommand({ cluster, task, reason: 'replaced by hand' }))
            .then(() => undefined),
      ],
    );
    expect(result.stderr).toBe('');
    // moto gives tasks no creation time: the replica's consumer counts as stale until stopped.
    expect(result.code).toBe(0);
    expect(result.checks).toBe(2);
    const json = JSON.parse(result.stdout);
    expect(json.regions).toEqual([PRIMARY, REPLICA]);
    expect(json.replicas).toEqual([
      expect.objectContaining({ region: REPLICA, arn: replicaArn, followed: true }),
    ]);
    expect(result.stdout).not.toContain(CANARY);
  }, 60_000);

  it('times out naming the consumer in the replica region while it runs', async () => {
    const definition = await env.seed.taskDefinition(REPLICA, 'west-app-2', [
      { name: 'app', secrets: { DB: replicaArn } },
    ]);
    await env.seed.standaloneTask(REPLICA, cluster, definition);
    const result = await wait([SECRET, '--secret', '--region', PRIMARY, '--timeout', '1m']);
    expect(result.code).toBe(5);
    expect(result.stdout).toContain(
      `timed out after 1m00s: 1 consumer may still hold an older value of ${SECRET}:`,
    );
    expect(result.stdout).toContain(`(${REPLICA})`);
    expect(result.stdout).toContain(`checked in ${PRIMARY}, ${REPLICA} of account 123456789012`);
  }, 60_000);
});
