import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cli } from '../helpers/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'rw-cli-flags-'));
const write = (name: string, content: string) => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
};

/** The first line of stderr, without the program's name. */
const firstError = (stderr: string) => stderr.split('\n')[0]?.replace(/^rotation-watcher: /, '');

/** A task definition without its ARN: its bare parameter name has no region or account. */
const BARE = write(
  'bare.json',
  JSON.stringify({
    taskDefinition: {
      family: 'web',
      containerDefinitions: [
        { name: 'web', secrets: [{ name: 'DB_PASSWORD', valueFrom: 'db-password' }] },
      ],
    },
  }),
);

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('an unknown option', () => {
  it('names the nearest known option and the command’s help, exit 2', async () => {
    const { code, stdout, stderr } = await cli(['drift', '--reigon', 'us-east-1']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'rotation-watcher: unknown option --reigon; did you mean --region? (rotation-watcher drift --help)\n',
    );
  });

  it('lists the options when none is near', async () => {
    const { code, stderr } = await cli(['status', '/p', '--zzzzzz']);
    expect(code).toBe(2);
    expect(firstError(stderr)).toMatch(
      /^unknown option --zzzzzz; the options are --json, --region, --profile, --help, --stack, .*--secret.* \(rotation-watcher status --help\)$/,
    );
  });

  it('says when the option belongs to another command', async () => {
    const { code, stderr } = await cli(['drift', '--secret']);
    expect(code).toBe(2);
    expect(firstError(stderr)).toBe(
      'unknown option --secret; drift does not take it (rotation-watcher drift --help)',
    );
  });

  it('suggests no one-letter option for an unknown one', async () => {
    const { code, stderr } = await cli(['status', '/p', '-x']);
    expect(code).toBe(2);
    expect(firstError(stderr)).toMatch(/^unknown option -x; the options are --json/);
  });

  it('never prints Node’s own parseArgs text', async () => {
    for (const args of [
      ['drift', '--reigon'],
      ['wait', '/p', '--timeout', '-5s'],
      ['drift', '--region'],
    ]) {
      const { stderr } = await cli(args);
      expect(stderr).not.toMatch(/ambiguous|To specify|'--/);
    }
  });

  it('suggests the nearest command for an unknown one', async () => {
    const { code, stderr } = await cli(['drfit']);
    expect(code).toBe(2);
    expect(firstError(stderr)).toBe(
      'unknown command "drfit"; did you mean drift? the commands are refs, who-uses, drift, simulate, status, wait, halt, resume',
    );
  });
});

describe('option values', () => {
  it('refuses a value given to a switch', async () => {
    const { code, stderr } = await cli(['drift', '--json=yes']);
    expect(code).toBe(2);
    expect(firstError(stderr)).toBe(
      '--json takes no value, got --json=yes (rotation-watcher drift --help)',
    );
  });

  it.each([[['drift', '--region']], [['drift', '--region', '--json']]])(
    'says an option is missing its value (%j)',
    async (args) => {
      const { code, stderr } = await cli(args);
      expect(code).toBe(2);
      expect(firstError(stderr)).toBe('--region needs a value (rotation-watcher drift --help)');
    },
  );
});

describe('durations', () => {
  const DURATION =
    'a duration must be a positive number with an optional unit s, m or h, such as 30s or 15m';

  it.each([
    ['--timeout', '-5s'],
    ['--timeout', '5x'],
    ['--interval', '1h-5m'],
    ['--timeout', ''],
  ])('refuses %s %j with what a duration is, exit 2', async (option, value) => {
    const { code, stdout, stderr } = await cli([
      'wait',
      '/p',
      option,
      value,
      '--region',
      'us-east-1',
    ]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(firstError(stderr)).toBe(`${option} ${value}: ${DURATION}`);
  });

  it('refuses an interval under a second or over a day', async () => {
    const zero = await cli(['wait', '/p', '--interval', '0']);
    expect(zero.code).toBe(2);
    expect(firstError(zero.stderr)).toBe('--interval 0: must be at least 1s');
    const long = await cli(['wait', '/p', '--interval', '2d']);
    expect(long.code).toBe(2);
    expect(firstError(long.stderr)).toBe('--interval 2d: must be at most 24h');
  });

  it('says in the help that a bare number is seconds', async () => {
    const { code, stdout } = await cli(['wait', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('a bare number is seconds (90 is 90s)');
  });
});

describe('--region', () => {
  it('refuses a region the SDK does not list, with the nearest and the way around', async () => {
    const { code, stdout, stderr } = await cli(['drift', '--region', 'us-east-99']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(firstError(stderr)).toBe(
      '--region us-east-99: not a region this version of the AWS SDK knows; did you mean us-east-1? (for a region newer than it, add it to ROTATION_WATCHER_EXTRA_REGIONS)',
    );
  });

  it('refuses what is not shaped like a region', async () => {
    const { code, stderr } = await cli(['who-uses', '/p', '--region', 'useast1']);
    expect(code).toBe(2);
    expect(firstError(stderr)).toBe(
      '--region useast1: not a region; did you mean us-east-1? a region looks like us-east-1',
    );
    const far = await cli(['who-uses', '/p', '--region', 'banana']);
    expect(far.code).toBe(2);
    expect(firstError(far.stderr)).toBe(
      '--region banana: not a region; a region looks like us-east-1',
    );
  });

  it('checks every region of a repeated or comma-separated --region', async () => {
    const repeated = await cli(['drift', '--region', 'us-east-1', '--region', 'eu-west-99']);
    expect(repeated.code).toBe(2);
    expect(firstError(repeated.stderr)).toMatch(/^--region eu-west-99: not a region this version/);
    const listed = await cli(['drift', '--region', 'us-east-1,us-wst-2']);
    expect(listed.code).toBe(2);
    expect(firstError(listed.stderr)).toMatch(/^--region us-wst-2: .*did you mean us-west-2\?/);
  });

  it('takes a region newer than the SDK from ROTATION_WATCHER_EXTRA_REGIONS', async () => {
    const { code, stdout } = await cli(
      ['refs', BARE, '--region', 'us-east-99', '--account', '123456789012', '--json'],
      undefined,
      undefined,
      { ROTATION_WATCHER_EXTRA_REGIONS: 'eu-west-9, us-east-99' },
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)[0].target.region).toBe('us-east-99');
  });

  it('says how a newer region is taken in every command’s help', async () => {
    for (const command of ['drift', 'who-uses', 'status', 'wait', 'simulate']) {
      const { stdout } = await cli([command, '--help']);
      expect(stdout).toContain('ROTATION_WATCHER_EXTRA_REGIONS');
      expect(stdout).toContain('--profile NAME');
      expect(stdout).toContain('--stack NAME');
    }
  });
});

describe('--profile', () => {
  const profiles = () => {
    vi.stubEnv(
      'AWS_CONFIG_FILE',
      write('config', '[profile staging]\nregion = eu-central-1\n[default]\nregion = us-east-1\n'),
    );
    vi.stubEnv(
      'AWS_SHARED_CREDENTIALS_FILE',
      write(
        'credentials',
        '[staging]\naws_access_key_id = AKIDSTAGING\naws_secret_access_key = x\n',
      ),
    );
  };

  it('refuses a profile neither file has, with the nearest one, exit 2', async () => {
    profiles();
    const { code, stdout, stderr } = await cli(['drift', '--profile', 'stagin']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(firstError(stderr)).toBe(
      `--profile stagin: no such profile in the AWS config or credentials file (${process.env.AWS_CONFIG_FILE}, ${process.env.AWS_SHARED_CREDENTIALS_FILE}); did you mean staging?`,
    );
  });

  it('lends refs its region for bare names', async () => {
    profiles();
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    const { code, stdout } = await cli(['refs', BARE, '--profile', 'staging']);
    expect(code).toBe(0);
    expect(stdout).toContain(
      'parameter db-password (bare name in eu-central-1: pass --account, or give a definition with its ARN)',
    );
  });
});

describe('refs on a bare name', () => {
  it('says why it cannot resolve it and what to pass', async () => {
    const { code, stdout } = await cli(['refs', BARE]);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^SOURCE\s+CONTAINER\s+FIELD\s+NAME\s+TARGET/);
    expect(stdout).toContain(
      'parameter db-password (bare name: pass --region and --account, or give a definition with its ARN)',
    );
    expect(stdout).not.toContain('(?, ?)');
  });
});
