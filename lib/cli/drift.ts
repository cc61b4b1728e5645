import { printRun, regionsFor, scanAccount, settingsOrFail } from './account.js';
import type { Command } from './command.js';
import { CliError } from './errors.js';

export const driftCommand: Command = {
  name: 'drift',
  summary: 'list every running consumer that holds an old value',
  usage: 'rotation-watcher drift [--all] [--region R] [--json]',
  help: `Scans every ECS cluster and Batch queue in the regions, reads when each referenced
parameter and secret last changed (metadata only), and lists the running consumers created
before a change of something they reference: they may still hold the old value. A
referenced parameter or secret that no longer exists is an alarm: its consumers cannot restart.

The ACTION column says what the watcher would do under the current policy (tags and
WATCHER_DEFAULT_ACTION); drift itself changes nothing.

Options:
  --all         list fresh consumers too, not only stale ones
  --region R    region(s) to scan, comma-separated (default: WATCHER_REGIONS, else the current region)
  --json        print { changes, consumers, actions, complete, gaps, calls }
  -h, --help    show this help

Exit codes: 0 answered, 2 bad input, 3 incomplete (part of the account could not be read).`,
  options: {
    all: { type: 'boolean', default: false },
  },
  async run(positionals, values, io, context) {
    if (positionals.length > 0)
      throw new CliError(
        `drift takes no arguments, got ${JSON.stringify(positionals[0])}; see \`rotation-watcher drift --help\``,
      );
    const settings = settingsOrFail(context);
    const regions = await regionsFor(values, settings);
    const { report } = await scanAccount({ drift: true }, regions, settings, io, context);
    const shown = values.all
      ? report
      : {
          ...report,
          consumers: report.consumers.filter((consumer) => consumer.stale || consumer.alarm),
        };
    return printRun(shown, values, io, `no stale consumer in ${regions.join(', ')}`);
  },
};
