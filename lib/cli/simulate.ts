import { buildDeps } from '../compose.js';
import { parsePayload } from '../events/index.js';
import { runPipeline } from '../pipeline.js';
import { printRun, regionsFor, settingsOrFail } from './account.js';
import { NOTHING_CHANGED, sayLast, sayWhereTold } from './apply.js';
import type { Command } from './command.js';
import { CliError, EXIT } from './errors.js';
import { readJson } from './io.js';
import { printable } from './table.js';

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'run the watcher on one event file, exactly as the Lambda does',
  usage: 'rotation-watcher simulate EVENT.json [--apply] [--wide] [--region R] [--json]',
  help: `Runs the on-change pipeline (the same modules and the same plan as the Lambda) on an
EventBridge event: one event, a list of events, or an SQS batch of them as Lambda receives it.
EVENT.json "-" reads standard input.

Without --apply it only plans: nothing is changed and nobody is notified. With --apply it
redeploys, resubmits and notifies per policy (tags, WATCHER_DEFAULT_ACTION); with
WATCHER_DRY_RUN=true it notifies but changes nothing. Notifications go where the WATCHER_*
settings say (WATCHER_SNS_TOPIC_ARN, WATCHER_SLACK_WEBHOOK_URL or _PARAM, WATCHER_EVENT_BUS).
With WATCHER_STATE_TABLE (the stack's table) --apply does what the Lambda does with it: claims
each consumer with a lease before restarting it (a Lambda run at the same moment does not restart
it too), keeps the rotation records and reminders, and uses the reference index.

Its last line says what it did not do: without --apply "nothing was changed: pass --apply to
act"; with --apply where the notifications went, or that no channel is set and which variables
would set one (on stderr with --json, so that stdout stays one JSON object). Tables fit the
terminal's width, or 100 columns when stdout is not a terminal (--wide: every column whole).

Options:
  --apply       act and notify instead of only planning
  --wide        print every column whole, whatever the width
  --region R    region(s) to scan, comma-separated (default: WATCHER_REGIONS, else the current region)
  --json        print { changes, consumers, actions, complete, gaps, calls }
  -h, --help    show this help

Exit codes: 0 done, 2 bad input (an unreadable event), 3 incomplete (part of the account could
not be read), 4 an action or notification failed.`,
  options: {
    apply: { type: 'boolean', default: false },
    wide: { type: 'boolean', default: false },
  },
  async run(positionals, values, io, context) {
    if (positionals.length !== 1)
      throw new CliError('simulate takes one EVENT.json; see `rotation-watcher simulate --help`');
    const file = positionals[0] as string;
    const settings = settingsOrFail(context);
    const records = parsePayload(await readJson(file, io));
    const broken = records.find((record) => record.error);
    if (broken) throw new CliError(`${file}: ${broken.error}`);
    for (const record of records.filter((r) => r.ignored))
      io.err(`note: ${printable(file)}: ${printable(record.ignored ?? '')}\n`);
    const regions = await regionsFor(values, settings);
    // The functions' own composition: with the state table, --apply takes the same leases and
    // keeps the same records as the Lambda (the sweep follows its records up: no queue here).
    const deps = buildDeps(settings, {
      home: regions[0] as string,
      regions,
      clientOptions: context.clientOptions,
    });
    const { clients } = deps;
    try {
      const apply = Boolean(values.apply);
      const run = await runPipeline({ records }, deps, { apply });
      const code = printRun(
        run.report,
        values,
        io,
        'no running consumer references the changed values',
      );
      if (apply) sayWhereTold(settings, run, values, io);
      else sayLast(NOTHING_CHANGED, values, io);
      if (code !== EXIT.ok) return code;
      return run.report.actions.some((action) => action.status === 'failed')
        ? EXIT.actionFailed
        : EXIT.ok;
    } finally {
      clients.destroy();
    }
  },
};
