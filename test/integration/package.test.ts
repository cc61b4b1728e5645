import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'rw-package-'));

describe('npx serverless package', () => {
  let result: SpawnSyncReturns<string>;

  beforeAll(() => {
    // No credentials and an unroutable proxy: packaging must need neither an account nor the network.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
    };
    for (const key of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_PROFILE',
    ])
      delete env[key];
    env.AWS_SHARED_CREDENTIALS_FILE = join(out, 'no-credentials');
    env.AWS_CONFIG_FILE = join(out, 'no-config');
    result = spawnSync('npx', ['serverless', 'package', '--package', out], {
      cwd: root,
      env,
      encoding: 'utf8',
      timeout: 180_000,
    });
  }, 200_000);

  it('packages offline, with no credentials', () => {
    expect(result.stderr + result.stdout).toMatch(/Service packaged/);
    expect(result.status).toBe(0);
  });

  it('produces a CloudFormation template with the on-change function on nodejs22.x and arm64', () => {
    const template = JSON.parse(
      readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
    );
    const fn = template.Resources.OnDashchangeLambdaFunction;
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'functions/on-change.handler',
    });
  });
});
