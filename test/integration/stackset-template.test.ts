import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEMPLATE_BODY_LIMIT } from '../../scripts/stackset-template.js';
import {
  cfnLint,
  type Packaged,
  packageStack,
  resourcesOf,
  type Template,
} from '../helpers/cloudformation.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CFN_LINT = spawnSync('sh', ['-c', 'command -v cfn-lint']).status === 0;

let packaged: Packaged;

beforeAll(() => {
  packaged = packageStack();
}, 300_000);

/** `npm run stackset-template -- ARGS` on the packaged folder. */
function stackset(args: string[], dir = packaged.dir) {
  const result = spawnSync('npx', ['tsx', 'scripts/stackset-template.ts', '--dir', dir, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return result;
}

function written(path: string): Template {
  return JSON.parse(readFileSync(path, 'utf8'));
}

const functionsOf = (template: Template) =>
  resourcesOf(template).filter((resource) => resource.Type === 'AWS::Lambda::Function');

describe('npm run stackset-template', () => {
  it('reads every function from the named bucket, with no trace of the deployment bucket', () => {
    const out = join(packaged.dir, 'stackset.json');
    const result = stackset(['--bucket', 'acme-watcher-code', '--prefix', 'rw/v1', '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const template = written(out);
    expect(readFileSync(out, 'utf8')).not.toMatch(/ServerlessDeploymentBucket/);
    expect(template.Parameters.CodeBucket.Default).toBe('acme-watcher-code');
    expect(template.Parameters.CodeKeyPrefix.Default).toBe('rw/v1/');
    const functions = functionsOf(template);
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      expect(fn.Properties.Code.S3Bucket).toEqual({ Ref: 'CodeBucket' });
      const key = fn.Properties.Code.S3Key['Fn::Sub'] as string;
      expect(key).toMatch(/^\$\{CodeKeyPrefix\}[a-z-]+\.zip$/);
      // The zip it names is one the package wrote, and the script says where to upload it.
      const zip = key.replace(/^\$\{CodeKeyPrefix\}/, '');
      expect(statSync(join(packaged.dir, zip)).size).toBeGreaterThan(0);
      expect(result.stdout).toContain(
        `aws s3 cp ${join(packaged.dir, zip)} s3://acme-watcher-code/rw/v1/${zip}`,
      );
    }
    // Everything else the packaged template had is still there.
    for (const name of Object.keys(packaged.template.Resources))
      if (!name.startsWith('ServerlessDeploymentBucket'))
        expect(template.Resources[name]).toBeDefined();
    expect(Object.keys(template.Outputs)).toEqual(
      expect.arrayContaining(['StateTableName', 'StateTableArn', 'DashboardUrl']),
    );
  });

  it('writes it minified, under the 51,200 bytes --template-body takes', () => {
    const out = join(packaged.dir, 'small.json');
    expect(stackset(['--bucket', 'acme-watcher-code', '--out', out]).status).toBe(0);
    const size = statSync(out).size;
    expect(size).toBeLessThan(TEMPLATE_BODY_LIMIT);
    expect(readFileSync(out, 'utf8')).not.toContain('\n');
    // By default the keys change with the code, so a StackSet update ships new zips.
    expect(written(out).Parameters.CodeKeyPrefix.Default).toMatch(
      /^rotation-watcher\/[0-9a-f]{12}\/$/,
    );
  });

  it('reads from one bucket per region with --regional', () => {
    const out = join(packaged.dir, 'regional.json');
    expect(stackset(['--bucket', 'acme-code', '--regional', '--out', out]).status).toBe(0);
    for (const fn of functionsOf(written(out)))
      expect(fn.Properties.Code.S3Bucket).toEqual({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub
        'Fn::Sub': '${CodeBucket}-${AWS::Region}',
      });
  });

  it('refuses, in one line, a template over the limit, and prints the S3 upload with --template-url', () => {
    const big = mkdtempSync(join(tmpdir(), 'rw-stackset-'));
    for (const file of ['on-change.zip', 'sweep.zip'])
      copyFileSync(join(packaged.dir, file), join(big, file));
    writeFileSync(
      join(big, 'cloudformation-template-update-stack.json'),
      JSON.stringify({
        ...packaged.template,
        Metadata: { Padding: 'x'.repeat(TEMPLATE_BODY_LIMIT) },
      }),
    );
    const out = join(big, 'stackset.json');
    const refused = stackset(['--bucket', 'acme-code', '--out', out], big);
    expect(refused.status).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/over the 51200 bytes --template-body takes.*--template-url/);
    const url = stackset(
      ['--bucket', 'acme-code', '--prefix', 'rw/', '--template-url', '--out', out],
      big,
    );
    expect(url.status).toBe(0);
    expect(url.stdout).toContain('aws s3 cp');
    expect(url.stdout).toContain(
      '--template-url https://acme-code.s3.amazonaws.com/rw/stackset.json',
    );
  });

  it('fails with what to do when nothing was packaged', () => {
    const empty = mkdtempSync(join(tmpdir(), 'rw-stackset-'));
    const result = stackset(['--bucket', 'acme-code'], empty);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/run `npx serverless package` first/);
  });
});

describe('cfn-lint on the StackSets template', () => {
  it('cfn-lint is on PATH (the check below needs it)', () => {
    expect(CFN_LINT).toBe(true);
  });

  it.skipIf(!CFN_LINT)('finds no error in it', () => {
    const out = join(packaged.dir, 'lint.json');
    expect(stackset(['--bucket', 'acme-watcher-code', '--out', out]).status).toBe(0);
    const lint = cfnLint(out);
    expect(lint).not.toBeNull();
    expect((lint?.stdout ?? '') + (lint?.stderr ?? '')).not.toMatch(/^E\d{4}/m);
    // A bit mask: 2 means errors (4 warnings and 8 notes are allowed).
    expect((lint?.status ?? 2) & 2).toBe(0);
  });
});
