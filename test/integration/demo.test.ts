import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('npm run demo', () => {
  it('runs the whole product on a local emulated account and says what it did', () => {
    const env = { ...process.env };
    for (const key of Object.keys(env))
      if (key.startsWith('WATCHER_') || key.startsWith('AWS_')) delete env[key];
    const result = spawnSync('npm', ['run', '--silent', 'demo'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const out = result.stdout;
    expect(result.status, result.stderr).toBe(0);
    expect(out).not.toMatch(/FAIL/);
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
    // Nothing the demo wrote as a watched value may show up in what it prints.
    expect(out + result.stderr).not.toMatch(
      /demo-password-v\d|demo-key-v\d|demo-dd-v\d|"password":"demo-v/,
    );
  }, 150_000);
});
