import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const BAKE_S = 2;

describe('npm run demo', () => {
  it('runs the whole product on a local emulated account and says what it did', () => {
    const env = { ...process.env };
    for (const key of Object.keys(env))
      if (key.startsWith('WATCHER_') || key.startsWith('AWS_')) delete env[key];
    // A shorter bake than the demo's 5 s: the waves' order and spacing are what is checked.
    env.DEMO_BAKE_SECONDS = String(BAKE_S);
    const result = spawnSync('npm', ['run', '--silent', 'demo'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 180_000,
    });
    const out = result.stdout;
    expect(result.status, result.stderr).toBe(0);
    // No check failed (ECS's own words, such as SERVICE_DEPLOYMENT_FAILED, may say FAIL).
    expect(out).not.toMatch(/^ {3}FAIL |^FAILED after/m);
    for (const promise of [
      'ok   every record was handled',
      'ok   four consumers found',
      'ok   the tagged service checkout has a new deployment',
      'ok   exactly one redeploy',
      'ok   one Slack message for the run',
      'ok   checkout is no longer stale: its redeploy is replacing its tasks',
      'ok   worker is still stale, to be notified',
      'ok   the record is open: consumers still hold the old value',
      'ok   a follow-up scheduled for each of the two rotations',
      'ok   wait exited 0: no running consumer holds the old value',
      'ok   every follow-up was handled',
      'ok   Rotation Complete received for the parameter and for the secret',
      'ok   Slack told of both, one short message each',
      'ok   the record is complete',
      // Staged restarts: a healthy rotation, canary first, then the waves in order.
      'ok   only the canary, search (1 task, the fewest), was redeployed',
      'ok   the three others are held back, each saying it waits for a later wave',
      'ok   wave 2 waits while wave 1 bakes',
      'ok   wave 2 went only after wave 1 completed and baked: cart',
      'ok   wave 3 waits while wave 2 bakes',
      'ok   wave 3 went only after wave 2 completed and baked: orders and profile',
      'ok   status shows the three waves: the canary (1), then 1, then 2',
      'ok   no service was redeployed twice',
      'ok   every restart settled and every wave baked',
      'ok   the rotation record is complete',
      'ok   Rotation Complete received for /prod/api/token',
      // A failing canary halts the waves.
      'ok   only the canary, invoices (1 task), was redeployed',
      "ok   Rotation Halted received once on the bus's queue",
      "ok   it names the canary, its deployment, ECS's reason and the stopped task's reason",
      'ok   it names the consumers left on the old value (refunds, payouts)',
      'ok   the SNS topic got it, as an alarm',
      'ok   Slack got it',
      'ok   status says the waves are halted',
      'ok   refunds and payouts were not redeployed',
      'ok   the canary, invoices, goes first again; the others wait',
      'ok   the new record (version 3) rolls its own waves; the halted one is superseded',
    ]) {
      expect(out).toContain(promise);
    }
    expect(out).toMatch(
      /checkout's deployment, read back from the emulator: ecs-svc\/\d+ → ecs-svc\/\d+/,
    );
    expect(out).toMatch(
      /Subject: rotation-watcher: 4 consumers still on old values \(2 changed\), 1 restarted/,
    );
    expect(out).toMatch(
      /Rotation Complete \(source rotation-watcher\) on the bus's queue: \/prod\/db\/password, version 2, changed \S+, complete \S+/,
    );
    expect(out).toMatch(/ecs-service\s+worker\s+replaced-by-deploy/);
    expect(out).toMatch(/ecs-service\s+checkout\s+replaced-by-watcher/);
    expect(out).toMatch(
      /complete: no running consumer of \/prod\/db\/password holds an older value/,
    );
    expect(out).toMatch(/Done in [\d.]+ s: every step did what it says/);

    // The healthy rotation's timeline: the canary, then each wave only after the one before it
    // completed and baked (WATCHER_BAKE, DEMO_BAKE_SECONDS here).
    const timeline = out.slice(
      out.indexOf('the timeline of /prod/api/token'),
      out.indexOf('19. Rotate /prod/payments/webhook-secret'),
    );
    const restarts = [
      ...timeline.matchAll(/^\s+\+\s*([\d.]+) s\s+wave (\d)(?: \(canary\))?: (\w+) \(/gm),
    ].map((m) => ({ at: Number(m[1]), wave: Number(m[2]), name: m[3] }));
    const completed = new Map(
      [...timeline.matchAll(/^\s+\+\s*([\d.]+) s\s+(\w+): rollout COMPLETED/gm)].map((m) => [
        m[2],
        Number(m[1]),
      ]),
    );
    expect(restarts.map((r) => `${r.wave}:${r.name}`)).toEqual([
      '1:search',
      '2:cart',
      '3:orders',
      '3:profile',
    ]);
    const at = (name: string) => restarts.find((r) => r.name === name)?.at ?? Number.NaN;
    expect(at('cart')).toBeGreaterThanOrEqual(
      (completed.get('search') ?? Number.NaN) + BAKE_S - 0.1,
    );
    expect(at('orders')).toBeGreaterThanOrEqual(
      (completed.get('cart') ?? Number.NaN) + BAKE_S - 0.1,
    );
    expect(timeline).toMatch(
      /\+\s*[\d.]+ s\s+the follow-up after the last bake: the rotation is complete/,
    );

    // The failing canary: Rotation Halted as received on the bus's queue, with ECS's reasons.
    const halted = out.slice(out.indexOf("Rotation Halted, as received on the bus's queue"));
    expect(halted).toMatch(/"detail-type": "Rotation Halted"/);
    expect(halted).toMatch(
      /"name": "invoices",\s+│\s+"ref": "ecs-svc\/\d+",\s+│\s+"reason": "ECS deployment circuit breaker: tasks failed to start\."/,
    );
    expect(halted).toMatch(
      /"ResourceInitializationError: unable to pull secrets or registry auth: .*unable to retrieve secrets from ssm: .*AccessDeniedException/,
    );
    expect(out).toMatch(
      /SNS: Subject: rotation-watcher: Rotation Halted: \/prod\/payments\/webhook-secret; severity=alarm/,
    );
    expect(out).toMatch(
      /Rotation halted: no further wave restarts consumers of \/prod\/payments\/webhook-secret \(version 2\), because the restart of invoices \(ecs-svc\/\d+\) failed: ECS deployment circuit breaker/,
    );
    expect(out).toMatch(/2\s+open, halted\s/);
    // Nothing the demo wrote as a watched value may show up in what it prints.
    expect(out + result.stderr).not.toMatch(
      /demo-password-v\d|demo-key-v\d|demo-dd-v\d|"password":"demo-v|demo-token-v\d|demo-webhook-v\d/,
    );
  }, 210_000);
});
