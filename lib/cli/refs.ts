import { STSClient } from '@aws-sdk/client-sts';
import type { Reference } from '../domain/index.js';
import { isAccount, isRegion, lastPart, RefsError, readDefinitions } from '../refs/index.js';
import type { Command, Values } from './command.js';
import { CliError, EXIT } from './errors.js';
import { type Io, readJson } from './io.js';
import { printable, table } from './table.js';

/** One line of `refs --json`. `file` is an addition to the contract, which lists the other keys. */
export interface RefRow extends Reference {
  source: string;
  file: string;
}

export const refsCommand: Command = {
  name: 'refs',
  summary: 'list the secret references in task and job definition files',
  usage: 'rotation-watcher refs FILE... [--region R] [--account A] [--profile NAME] [--json]',
  help: `Reads ECS task definitions and Batch job definitions (the JSON that DescribeTaskDefinition
and DescribeJobDefinitions return: one object, a list, or the taskDefinition / jobDefinitions
wrapper; FILE "-" is standard input) and lists every Parameter Store and Secrets Manager
reference in them, with the container, field and variable that holds it and the parameter or
secret it resolves to.

Bare parameter names resolve in the definition's own region and account (from its ARN);
--region and --account set them where the file has no ARN, and win over it when given. A bare
name neither gives is listed as such, with what to pass. refs reads no AWS account: --profile
only lends its region.

Options:
  --region R    region that bare parameter names resolve in
  --account A   12-digit account that bare parameter names resolve in
  --json        print a JSON list of { source, container, field, name, valueFrom, target }
  -h, --help    show this help

Exit codes: 0 listed (invalid references are listed with the reason), 2 bad input.`,
  options: {
    account: { type: 'string' },
  },
  local: true,
  async run(files, values, io) {
    if (files.length === 0)
      throw new CliError('refs needs at least one FILE; see `rotation-watcher refs --help`');
    const options = await contextOptions(values);
    const rows: RefRow[] = [];
    for (const file of files) rows.push(...(await refsOfFile(file, options, io)));
    if (values.json) {
      io.out(`${JSON.stringify(rows, null, 2)}\n`);
    } else {
      io.out(rows.length ? renderRefs(rows) : 'no references found\n');
    }
    for (const row of rows.filter((r) => r.problem)) {
      io.err(
        `warning: ${printable(row.file)}: ${printable(row.source)}: ${printable(row.problem ?? '')}\n`,
      );
    }
    return EXIT.ok;
  },
};

async function refsOfFile(
  file: string,
  options: { region: string | null; account: string | null },
  io: Io,
): Promise<RefRow[]> {
  const json = await readJson(file, io);
  try {
    const definitions = readDefinitions(json, options);
    if (definitions.length === 0) {
      throw new CliError(`${file}: holds no task or job definition (an empty list)`);
    }
    return definitions.flatMap((definition) =>
      definition.references.map((ref: Reference) => ({ source: definition.id, file, ...ref })),
    );
  } catch (error) {
    if (error instanceof RefsError) throw new CliError(`${file}: ${error.message}`);
    throw error;
  }
}

async function contextOptions(
  values: Values,
): Promise<{ region: string | null; account: string | null }> {
  const region =
    typeof values.region === 'string'
      ? values.region
      : typeof values.profile === 'string'
        ? await profileRegion(values.profile)
        : null;
  const account = typeof values.account === 'string' ? values.account : null;
  if (region !== null && !isRegion(region)) {
    throw new CliError(
      `--region must be a region such as us-east-1, got ${JSON.stringify(region)}`,
    );
  }
  if (account !== null && !isAccount(account)) {
    throw new CliError(`--account must be a 12-digit account id, got ${JSON.stringify(account)}`);
  }
  return { region, account };
}

function renderRefs(rows: RefRow[]): string {
  return table(
    ['SOURCE', 'CONTAINER', 'FIELD', 'NAME', 'TARGET'],
    rows.map((row) =>
      [
        shortSource(row.source),
        row.container ?? '-',
        row.field,
        row.name ?? '-',
        describeTarget(row),
      ].map(printable),
    ),
  );
}

/** `arn:aws:ecs:…:task-definition/web:3` reads better as `web:3` in a table. */
function shortSource(source: string): string {
  return source.startsWith('arn:') ? lastPart(source) : source;
}

function describeTarget(row: RefRow): string {
  const target = row.target;
  if (!target) return `INVALID ${row.valueFrom}: ${row.problem ?? ''}`;
  const where = target.arn ?? `${target.name} (${unresolved(target)})`;
  const pins = [
    target.jsonKey && `key ${target.jsonKey}`,
    target.versionStage && `stage ${target.versionStage}`,
    target.versionId && `version ${target.versionId}`,
  ].filter(Boolean);
  const kind = target.service === 'ssm' ? 'parameter' : 'secret';
  return `${kind} ${where}${pins.length ? ` [${pins.join(', ')}]` : ''}`;
}

/** Why a bare name has no ARN: what it lacks, and what to pass. */
function unresolved(target: NonNullable<RefRow['target']>): string {
  if (target.region === null && target.account === null)
    return 'bare name: pass --region and --account, or give a definition with its ARN';
  if (target.account === null)
    return `bare name in ${target.region}: pass --account, or give a definition with its ARN`;
  return `bare name in account ${target.account}: pass --region, or give a definition with its ARN`;
}

/** The region of a --profile, or null when it names none. */
async function profileRegion(profile: string): Promise<string | null> {
  const probe = new STSClient({ profile });
  try {
    return (await probe.config.region()) ?? null;
  } catch {
    return null;
  } finally {
    probe.destroy();
  }
}
