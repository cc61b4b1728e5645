import { buildDeps } from '../compose.js';
import type { Settings } from '../config.js';
import { restartKey, runPipeline } from '../pipeline.js';
import type { RunReport } from '../report.js';
import { printRun, regionsFor, scanAccount, settingsOrFail } from './account.js';
import { question, sayLast, sayWhereTold } from './apply.js';
import type { Command, Context, Values } from './command.js';
import { CliError, EXIT } from './errors.js';
import type { Io } from './io.js';

export const driftCommand: Command = {
  name: 'drift',
  summary: 'list every running consumer that holds an old value (--apply: act as the sweep does)',
  usage: 'rotation-watcher drift [--all] [--wide] [--apply [--yes]] [--region R] [--json]',
  help: `Scans every ECS cluster and Batch queue in the regions, reads when each referenced
parameter and secret last changed (metadata only), and lists the running consumers created
before a change of something they reference: they may still hold the old value. A
referenced parameter or secret that no longer exists is an alarm: its consumers cannot restart.

STATE says what the facts behind WHY say: stale (may hold an old value), replacing (a deployment
begun after the change, or ECS stopping them, is replacing its old tasks), alarm (a value it
references was deleted), gone (its service was deleted), fresh, queued (a Batch job with no
container yet), unaffected (the change does not alter what it reads), idle (nothing runs).
The ACTION column says what the watcher's policy (tags and WATCHER_DEFAULT_ACTION) asks for;
without --apply drift changes nothing, and its actions read "would redeploy".

With --apply it does what the scheduled sweep does, through the same code: the same plan, the
same cap (WATCHER_MAX_ACTIONS), and with WATCHER_STATE_TABLE the same leases (a consumer another
run is restarting is skipped) and rotation records; it notifies where the WATCHER_* settings say.
On a terminal it first asks ("Redeploy 3 services and resubmit 1 job in us-east-1? [y/N]");
elsewhere it needs --yes.

Tables fit the terminal's width, or 100 columns when stdout is not a terminal; the WHY column
is cut (…) to fit; --wide prints it whole. Colour only on a terminal (NO_COLOR turns it off,
FORCE_COLOR on).

Options:
  --all         list fresh consumers too, not only stale ones
  --apply       redeploy, resubmit and notify as the sweep would
  --yes         with --apply: do not ask (needed when there is no terminal to ask on)
  --wide        print every column whole, whatever the width
  --region R    region(s) to scan, comma-separated (default: WATCHER_REGIONS, else the current region)
  --json        print { changes, consumers, actions, complete, gaps, calls }
  -h, --help    show this help

Exit codes: 0 answered (or done), 2 bad input (or --apply not confirmed), 3 incomplete (part of
the account could not be read), 4 with --apply, an action or notification failed.`,
  options: {
    all: { type: 'boolean', default: false },
    apply: { type: 'boolean', default: false },
    yes: { type: 'boolean', default: false },
    wide: { type: 'boolean', default: false },
  },
  async run(positionals, values, io, context) {
    if (positionals.length > 0)
      throw new CliError(
        `drift takes no arguments, got ${JSON.stringify(positionals[0])}; see \`rotation-watcher drift --help\``,
      );
    if (values.yes && !values.apply)
      throw new CliError('drift: --yes goes with --apply (drift alone changes nothing)');
    // Before anything is read: a script learns at once that it must say yes.
    if (values.apply && !values.yes && !io.confirm)
      throw new CliError(
        'drift --apply restarts consumers and there is no terminal to ask on: pass --yes to confirm',
      );
    const settings = settingsOrFail(context);
    const regions = await regionsFor(values, settings);
    if (values.apply) return apply(settings, regions, values, io, context);
    const { report } = await scanAccount({ drift: true }, regions, settings, io, context);
    return printRun(
      shown(report, values),
      values,
      io,
      `no stale consumer in ${regions.join(', ')}`,
    );
  },
};

/**
 * `drift --apply`: the sweep's own run (runPipeline on a sweep, from the one composition root),
 * after a look at what it would do and a yes on a terminal.
 */
async function apply(
  settings: Settings,
  regions: string[],
  values: Values,
  io: Io,
  context: Context,
): Promise<number> {
  // Without the table there are no leases: a sweep running now could restart the same consumers.
  if (!settings.stateTable)
    throw new CliError(
      "drift --apply needs the stack's state table for its leases and rotation records: pass --stack NAME or set WATCHER_STATE_TABLE",
    );
  const deps = buildDeps(settings, {
    home: regions[0] as string,
    regions,
    clientOptions: context.clientOptions,
  });
  const empty = `no stale consumer in ${regions.join(', ')}`;
  try {
    let confirmed: Set<string> | undefined;
    if (!values.yes) {
      const look = await runPipeline({ sweep: true }, deps, { apply: false });
      // Only what the question named is done: a consumer stale since is left to the next look.
      confirmed = new Set(
        look.plan.actions.filter((action) => action.status === 'planned').map(restartKey),
      );
      const asked = question(look.plan, regions);
      // What it is about to do, then the question; with --json, stdout keeps one object.
      const code = values.json ? EXIT.ok : printRun(shown(look.report, values), values, io, empty);
      if (asked === null) {
        if (values.json) return printRun(shown(look.report, values), values, io, empty);
        sayLast('nothing to redeploy, resubmit or tell: nothing was changed', values, io);
        return code;
      }
      if (!(await io.confirm?.(asked))) {
        io.err('rotation-watcher: not confirmed: nothing was changed\n');
        return EXIT.badInput;
      }
      if (!values.json) io.out('\n');
    }
    const run = await runPipeline({ sweep: true }, deps, {
      apply: true,
      ...(confirmed ? { confirmed } : {}),
    });
    const code = printRun(shown(run.report, values), values, io, empty);
    sayWhereTold(settings, run, values, io);
    if (code !== EXIT.ok) return code;
    return run.report.actions.some((action) => action.status === 'failed')
      ? EXIT.actionFailed
      : EXIT.ok;
  } finally {
    deps.clients.destroy();
  }
}

/** The stale and alarmed consumers, or with --all every one. */
function shown(report: RunReport, values: Values): RunReport {
  return values.all
    ? report
    : {
        ...report,
        consumers: report.consumers.filter((consumer) => consumer.stale || consumer.alarm),
      };
}
