import { printRun, regionsFor, scanAccount, settingsOrFail, targetOf } from './account.js';
import type { Command } from './command.js';
import { CliError } from './errors.js';

export const whoUsesCommand: Command = {
  name: 'who-uses',
  summary: 'list the running consumers of one parameter or secret',
  usage: 'rotation-watcher who-uses NAME|ARN [--secret] [--wide] [--region R] [--json]',
  help: `Lists every running ECS service, standalone ECS task and queued or running Batch job that
references one Parameter Store parameter or Secrets Manager secret, in every region scanned,
and whether each one may hold an old value: a task or job created before the value's last
change, as AWS records it, may have fetched the old value (stale).

NAME is a parameter name (/prod/db/password; bare names are in the current region), a
parameter or secret ARN, or /aws/reference/secretsmanager/SECRET. With --secret, NAME is a
Secrets Manager secret name. Only metadata is read (DescribeParameters, DescribeSecret), never
a value. STATE says what the facts behind WHY say (stale, replacing, alarm, fresh, ...: see
drift --help). Tables fit the terminal's width, or 100 columns when stdout is not a terminal;
the WHY column is cut (…) to fit; --wide prints it whole. Colour only on a terminal
(NO_COLOR turns it off, FORCE_COLOR on).

Options:
  --secret      NAME is a Secrets Manager secret name, not a parameter name
  --wide        print every column whole, whatever the width
  --region R    region(s) to scan, comma-separated (default: WATCHER_REGIONS, else the current region)
  --json        print { changes, consumers, actions, complete, gaps, calls }
  -h, --help    show this help

Exit codes: 0 answered, 2 bad input, 3 incomplete (part of the account could not be read).`,
  options: {
    secret: { type: 'boolean', default: false },
    wide: { type: 'boolean', default: false },
  },
  async run(positionals, values, io, context) {
    if (positionals.length !== 1)
      throw new CliError('who-uses takes one NAME or ARN; see `rotation-watcher who-uses --help`');
    const settings = settingsOrFail(context);
    const regions = await regionsFor(values, settings);
    const home = regions[0] ?? null;
    const target = targetOf('who-uses', positionals[0] as string, Boolean(values.secret), home);
    const { report } = await scanAccount({ target }, regions, settings, io, context);
    return printRun(
      report,
      values,
      io,
      `no running consumer of ${target.name} found in ${regions.join(', ')}`,
    );
  },
};
