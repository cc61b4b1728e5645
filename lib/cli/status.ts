import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsClients } from '../aws/index.js';
import type { Settings } from '../config.js';
import type { Target } from '../domain/index.js';
import { CLEARED, type RotationRecord, RotationStore, recordPk } from '../rotations/index.js';
import {
  notFoundError,
  nothingRead,
  readDeps,
  readNothing,
  regionsFor,
  scanWith,
  settingsOrFail,
  tableRegion,
  targetOf,
} from './account.js';
import type { Command, Values } from './command.js';
import { CliError, EXIT } from './errors.js';
import { renderWaves } from './render.js';
import { type Layout, layoutOf, printable, table } from './table.js';

export const statusCommand: Command = {
  name: 'status',
  summary: 'the open and recent rotation records of one parameter or secret',
  usage:
    'rotation-watcher status NAME|ARN [--secret] [--wide] [--stack NAME] [--region R] [--profile NAME] [--json]',
  help: `Shows the rotation records of one parameter or secret: each change the watcher followed, whether
it is open, complete, overdue or superseded, and each consumer that held the old value and what
became of it. The records are read from the state table when --stack names the watcher's stack
(its StateTableArn output) or WATCHER_STATE_TABLE names the table (in the CLI's region unless
it is an ARN). Without either, the answer is computed live: the value's current version, and
the running consumers created before it.

Options:
  --secret      NAME is a Secrets Manager secret name, not a parameter name
  --wide        print the HOLDING OLD column whole (else it is cut (…) to the terminal's width,
                or to 100 columns when stdout is not a terminal)
  --region R    the value's region (default: WATCHER_REGIONS' first, else the current region)
  --json        print { value, source: "table"|"live", records } or the live report
  -h, --help    show this help

Exit codes: 0 answered, 2 bad input, 3 part of the account (or the table) could not be read
(nothing is printed on stdout when nothing at all could be read).`,
  options: {
    secret: { type: 'boolean', default: false },
    wide: { type: 'boolean', default: false },
  },
  async run(positionals, values, io, context) {
    if (positionals.length !== 1)
      throw new CliError('status takes one NAME or ARN; see `rotation-watcher status --help`');
    const settings = settingsOrFail(context);
    const regions = await regionsFor(values, settings);
    const home = regions[0] as string;
    const given = positionals[0] as string;
    const target = targetOf('status', given, Boolean(values.secret), home);
    const deps = readDeps(settings, regions, context);
    const { clients } = deps;
    try {
      if (!settings.stateTable) {
        const { report, result } = await scanWith({ target }, deps, { ...io, interactive: false });
        // An empty answer read from nothing would say "no change known, 0 consumers": say why instead.
        if (readNothing(report)) throw new CliError(nothingRead(report), EXIT.incomplete);
        const value = result.changes[0];
        // A name that matches nothing and that nothing uses is a typo, not "changed just now".
        if (value?.missing && report.consumers.length === 0 && report.complete)
          throw await notFoundError(target, given, Boolean(values.secret), home, clients);
        const left = report.consumers.filter((consumer) => consumer.staleRunning > 0);
        if (values.json)
          io.out(`${JSON.stringify({ value: target.name, source: 'live', ...report }, null, 2)}\n`);
        else {
          const change = report.changes[0];
          const known = value?.missing
            ? 'it does not exist (deleted)'
            : change
              ? `changed ${change.changedAt}${change.version ? ` (version ${printable(change.version)})` : ''}`
              : 'no change known';
          io.out(
            `${printable(target.name)}: no state table (WATCHER_STATE_TABLE), so no records; live: ${known}, ${left.length} running consumer${left.length === 1 ? '' : 's'} created before it${left.length ? `: ${left.map((c) => printable(c.name)).join(', ')}` : ''}\n`,
          );
        }
        return report.complete ? EXIT.ok : EXIT.incomplete;
      }
      const where = await valueRecords(settings.stateTable, settings, target, regions, clients);
      const records = await readOrFail(where, () => where.store.list(where.pk));
      if (values.json) {
        io.out(`${JSON.stringify({ value: target.name, source: 'table', records }, null, 2)}\n`);
        return EXIT.ok;
      }
      if (records.length === 0) {
        io.out(`${printable(target.name)}: no rotation records in ${settings.stateTable}\n`);
        return EXIT.ok;
      }
      io.out(renderRecords(records, layoutOf(values, io), commandFor('resume', given, values)));
      return EXIT.ok;
    } finally {
      clients.destroy();
    }
  },
};

/** Where a value's rotation records are kept: the store on the state table, and their key. */
export interface ValueRecords {
  store: RotationStore;
  pk: string;
  table: string;
  region: string;
}

/**
 * The rotation records of `target` in the state table `table` (in its ARN's region, else the
 * first region); the account is the ARN's, else the credentials' (one STS call).
 */
export async function valueRecords(
  table: string,
  settings: Settings,
  target: Target,
  regions: string[],
  clients: AwsClients,
  account: string | null = null,
): Promise<ValueRecords> {
  const region = tableRegion(settings, regions);
  const home = regions[0] as string;
  const pk = recordPk({
    service: target.service,
    region: target.region ?? home,
    account: target.account ?? account ?? (await accountOf(clients, home)),
    name: target.name,
    versionStage: target.versionStage,
  });
  return { store: new RotationStore({ table, region, clients }), pk, table, region };
}

/** Runs `read` on the state table; a failure is exit 3, one line naming the table. */
export async function readOrFail<T>(where: ValueRecords, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `the state table ${where.table} could not be read in ${where.region}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      EXIT.incomplete,
    );
  }
}

/**
 * The command line that runs `command` on the value as it was named here, with the options that
 * chose it (so that it can be pasted as it is).
 */
export function commandFor(command: string, given: string, values: Values): string {
  const shell = (text: string) =>
    /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
  const options = [
    values.secret ? ['--secret'] : [],
    ...(['region', 'stack', 'profile'] as const).map((name) =>
      typeof values[name] === 'string' ? [`--${name}`, shell(values[name] as string)] : [],
    ),
  ].flat();
  return printable(['rotation-watcher', command, shell(given), ...options].join(' '));
}

async function accountOf(clients: AwsClients, region: string): Promise<string> {
  try {
    const reply = await clients.get('sts', region).send(new GetCallerIdentityCommand({}));
    if (reply.Account) return reply.Account;
  } catch {
    // Said below.
  }
  throw new CliError(
    'the account could not be told (sts get-caller-identity failed): check the credentials, or give the ARN',
    EXIT.incomplete,
  );
}

/**
 * The records as a table fitted to `layout` (the HOLDING OLD column is the one cut (…)), then the
 * waves of each record that staged its restarts; `resume` is the command line that resumes them.
 */
export function renderRecords(
  records: RotationRecord[],
  layout: Layout,
  resume = 'rotation-watcher resume NAME',
): string {
  const header = ['CHANGED', 'VERSION', 'STATUS', 'HOLDING OLD', 'CLEARED', 'OPENED', 'CLOSED'];
  const rows = records.map((record) => {
    const holding = record.consumers.filter((c) => !CLEARED.has(c.state));
    return [
      record.value.changedAt,
      record.value.version ?? '-',
      record.waves?.status === 'halted' && record.status === 'open'
        ? 'open, halted'
        : record.status,
      holding.length ? holding.map((c) => c.name).join(', ') : '-',
      String(record.consumers.length - holding.length),
      record.openedAt,
      record.closedAt ?? '-',
    ].map(printable);
  });
  const waves = records.flatMap((record) =>
    record.waves ? [renderWaves(record, layout, resume)] : [],
  );
  return [
    `${table(header, rows, { width: layout.width, cut: [header.indexOf('HOLDING OLD')] }).trimEnd()}\n`,
    ...waves,
  ].join('\n');
}
