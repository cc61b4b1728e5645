import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binary, cli, fixturePath } from '../helpers/cli.js';

const TASK = fixturePath('definitions/ecs-task-definition.json');
const JOBS = fixturePath('definitions/batch-job-definitions.json');
const scratch = mkdtempSync(join(tmpdir(), 'rw-cli-'));
const write = (name: string, content: string) => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
};

describe('rotation-watcher refs --json', () => {
  it('prints every reference of a task definition with its resolved target', async () => {
    const { code, stdout, stderr } = await cli(['refs', TASK, '--json']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const rows = JSON.parse(stdout);
    expect(rows).toHaveLength(12);
    expect(rows[0]).toEqual({
      source: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout-web:7',
      file: TASK,
      container: 'web',
      field: 'secrets',
      name: 'DB_PASSWORD',
      valueFrom: '/prod/db/password',
      target: {
        service: 'ssm',
        partition: 'aws',
        region: 'us-east-1',
        account: '123456789012',
        name: '/prod/db/password',
        arn: 'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password',
        jsonKey: null,
        versionStage: null,
        versionId: null,
      },
      problem: null,
    });
  });

  it('reads several files, task and job definitions alike', async () => {
    const { code, stdout } = await cli(['refs', '--json', TASK, JOBS]);
    expect(code).toBe(0);
    const sources = new Set(
      JSON.parse(stdout).map((row: { source: string }) => row.source.split('/')[1]),
    );
    expect([...sources]).toEqual([
      'checkout-web:7',
      'nightly-report:3',
      'mpi-solver:1',
      'etl-ecs:12',
    ]);
  });

  it('resolves bare names with --region and --account when the file has no ARN', async () => {
    const file = write(
      'bare.json',
      JSON.stringify({
        family: 'f',
        containerDefinitions: [{ name: 'c', secrets: [{ name: 'A', valueFrom: 'x' }] }],
      }),
    );
    const { stdout } = await cli([
      'refs',
      file,
      '--json',
      '--region',
      'eu-west-3',
      '--account',
      '444455556666',
    ]);
    expect(JSON.parse(stdout)[0].target.arn).toBe('arn:aws:ssm:eu-west-3:444455556666:parameter/x');
  });

  it('reads standard input when FILE is -', async () => {
    const { code, stdout } = await cli(
      ['refs', '-', '--json'],
      JSON.stringify({
        family: 'f',
        containerDefinitions: [{ name: 'c', secrets: [{ name: 'A', valueFrom: '/s' }] }],
      }),
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)[0].target.name).toBe('/s');
  });

  it('lists an invalid reference with its reason and warns on stderr, exit 0', async () => {
    const file = write(
      'selector.json',
      JSON.stringify({
        family: 'f',
        containerDefinitions: [{ name: 'c', secrets: [{ name: 'A', valueFrom: '/db:3' }] }],
      }),
    );
    const { code, stdout, stderr } = await cli(['refs', file, '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)[0]).toMatchObject({
      target: null,
      problem: expect.stringMatching(/selectors/),
    });
    expect(stderr).toMatch(/^warning: .*selector\.json: f: invalid reference "\/db:3"/);
  });
});

describe('rotation-watcher refs (table)', () => {
  it('prints a readable table with one line per reference', async () => {
    const { code, stdout } = await cli(['refs', TASK]);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SOURCE\s+CONTAINER\s+FIELD\s+NAME\s+TARGET$/);
    expect(lines).toHaveLength(13);
    expect(stdout).toContain('checkout-web:7');
    expect(stdout).toMatch(
      /DB_PASSWORD_PREVIOUS\s+secret arn:aws:secretsmanager:us-east-1:123456789012:secret:prod\/db-creds-AbCdEf \[key password, stage AWSPREVIOUS\]/,
    );
  });

  it('says so when the definitions hold no reference', async () => {
    const file = write(
      'eks.json',
      JSON.stringify({ jobDefinitions: [{ jobDefinitionName: 'eks', eksProperties: {} }] }),
    );
    expect((await cli(['refs', file])).stdout).toBe('no references found\n');
  });
});

describe('bad input to the CLI', () => {
  it.each([
    ['a missing file', () => ['refs', join(scratch, 'nope.json')], /nope\.json: no such file$/],
    [
      'invalid JSON',
      () => ['refs', write('broken.json', '{"family": ')],
      /broken\.json: not valid JSON \(/,
    ],
    [
      'JSON that is no definition',
      () => ['refs', write('other.json', '{"Reservations": []}')],
      /other\.json: definition 1 is neither a task definition/,
    ],
    [
      'a scalar',
      () => ['refs', write('scalar.json', '"hello"')],
      /scalar\.json: expected a task or job definition .* got a string/,
    ],
    [
      'an empty list',
      () => ['refs', write('empty-list.json', '[]')],
      /empty-list\.json: holds no task or job definition \(an empty list\)$/,
    ],
    ['a directory', () => ['refs', scratch], /is a directory/],
    ['no file at all', () => ['refs'], /refs needs at least one FILE/],
    [
      'a bad region',
      () => ['refs', TASK, '--region', 'us-east'],
      /--region us-east: not a region; did you mean us-east-1\? a region looks like us-east-1$/,
    ],
    [
      'a bad account',
      () => ['refs', TASK, '--account', '12'],
      /--account must be a 12-digit account id/,
    ],
    [
      'an unknown option',
      () => ['refs', TASK, '--frobnicate'],
      /unknown option --frobnicate; the options are .* \(rotation-watcher refs --help\)$/,
    ],
    ['an unknown command', () => ['frobnicate'], /unknown command "frobnicate"; the commands are/],
  ])('%s: one line on stderr, exit 2', async (_label, args, message) => {
    const { code, stdout, stderr } = await cli(args());
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^rotation-watcher: /);
    expect(stderr.trimEnd()).toMatch(message);
  });
});

describe('help', () => {
  it('prints the program help with every command', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: rotation-watcher <command>/);
    expect(stdout).toMatch(/refs\s+list the secret references/);
  });

  it.each([[['refs', '--help']], [['help', 'refs']], [['refs', '-h']]])(
    'prints the refs help for %j',
    async (args) => {
      const { code, stdout } = await cli(args);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Usage: rotation-watcher refs FILE\.\.\./);
      expect(stdout).toMatch(/--account A/);
    },
  );

  it('prints the help and exits 2 when no command is given', async () => {
    const { code, stdout } = await cli([]);
    expect(code).toBe(2);
    expect(stdout).toMatch(/Commands:/);
  });
});

describe('the installed binary', () => {
  it('runs refs from bin/rotation-watcher', () => {
    const { code, stdout } = binary(['refs', JOBS, '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).map((row: { name: string }) => row.name)).toContain('QUEUE_TOKEN');
  });

  it('fails on bad input with one line and no stack trace', () => {
    const { code, stderr } = binary(['refs', write('bin-broken.json', '[1, 2')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^rotation-watcher: .*bin-broken\.json: not valid JSON/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
