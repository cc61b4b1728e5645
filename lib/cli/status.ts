import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsClients } from '../aws/index.js';
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
import type { Command } from './command.js';
import { CliError, EXIT } from './errors.js';
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
      const tableAt = tableRegion(settings, regions);
      const account = target.account ?? (await accountOf(clients, home));
      const pk = recordPk({
        service: target.service,
        region: target.region ?? home,
        account,
        name: target.name,
        versionStage: target.versionStage,
      });
      let records: RotationRecord[];
      try {
        records = await new RotationStore({
          table: settings.stateTable,
          region: tableAt,
          clients,
        }).list(pk);
      } catch (error) {
        throw new CliError(
          `the state table ${settings.stateTable} could not be read in ${tableAt}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
          EXIT.incomplete,
        );
      }
      if (values.json) {
        io.out(`${JSON.stringify({ value: target.name, source: 'table', records }, null, 2)}\n`);
        return EXIT.ok;
      }
      if (records.length === 0) {
        io.out(`${printable(target.name)}: no rotation records in ${settings.stateTable}\n`);
        return EXIT.ok;
      }
      io.out(renderRecords(records, layoutOf(values, io)));
      return EXIT.ok;
    } finally {
      clients.destroy();
    }
  },
};

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

/** The records as a table fitted to `layout`: the HOLDING OLD column is the one cut (…). */
export function renderRecords(records: RotationRecord[], layout: Layout): string {
  const header = ['CHANGED', 'VERSION', 'STATUS', 'HOLDING OLD', 'CLEARED', 'OPENED', 'CLOSED'];
  const rows = records.map((record) => {
    const holding = record.consumers.filter((c) => !CLEARED.has(c.state));
    return [
      record.value.changedAt,
      record.value.version ?? '-',
      record.status,
      holding.length ? holding.map((c) => c.name).join(', ') : '-',
      String(record.consumers.length - holding.length),
      record.openedAt,
      record.closedAt ?? '-',
    ].map(printable);
  });
  return `${table(header, rows, { width: layout.width, cut: [header.indexOf('HOLDING OLD')] }).trimEnd()}\n`;
}
