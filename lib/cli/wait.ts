import { parseDuration } from '../config.js';
import type { RunReport } from '../report.js';
import {
  nothingRead,
  readNothing,
  regionsFor,
  scanAccount,
  settingsOrFail,
  targetOf,
  warnGaps,
} from './account.js';
import type { Command, Values } from './command.js';
import { CliError, EXIT } from './errors.js';
import type { Io } from './io.js';
import { printable } from './table.js';

const DEFAULT_TIMEOUT = '30m';
const DEFAULT_INTERVAL = '30s';

export const waitCommand: Command = {
  name: 'wait',
  summary: 'wait until no running consumer holds an old value of a parameter or secret',
  usage:
    'rotation-watcher wait NAME|ARN [--secret] [--timeout 30m] [--interval 30s] [--region R] [--json]',
  help: `Blocks until no running ECS task or Batch job that references the parameter or secret was
created before its current value (AWS's record of its last change): then nothing running can
hold an older value, and the old credential can be revoked. Checks every --interval, live,
against the account (no stack needed), reading only metadata, never a value. On a terminal, a
progress line says who is left and how long it has waited.

NAME is a parameter name, a parameter or secret ARN, or /aws/reference/secretsmanager/NAME;
with --secret, NAME is a secret name.

Options:
  --secret        NAME is a Secrets Manager secret name, not a parameter name
  --timeout D     give up after D (default ${DEFAULT_TIMEOUT}; 90s, 30m, 2h, 1h30m)
  --interval D    time between checks (default ${DEFAULT_INTERVAL})
  --region R      region(s) to scan, comma-separated (default: WATCHER_REGIONS, else the current region)
  --json          print { complete, waitedSeconds, checks, left, gaps } when done
  -h, --help      show this help

What "complete" cannot see: a container that copied the value somewhere else (a file, a cache,
another service), and consumers outside ECS and Batch (Lambda, EC2, EKS, people).

Exit codes: 0 complete, 2 bad input, 3 part of the account could not be read (no consumer left
among what could be), 5 timed out (the consumers left are listed).`,
  options: {
    secret: { type: 'boolean', default: false },
    timeout: { type: 'string', default: DEFAULT_TIMEOUT },
    interval: { type: 'string', default: DEFAULT_INTERVAL },
  },
  async run(positionals, values, io, context) {
    if (positionals.length !== 1)
      throw new CliError('wait takes one NAME or ARN; see `rotation-watcher wait --help`');
    const timeoutMs = duration('--timeout', values.timeout);
    const intervalMs = duration('--interval', values.interval);
    if (intervalMs < 1000) throw new CliError('--interval must be at least 1s');
    const settings = settingsOrFail(context);
    const regions = await regionsFor(values, settings);
    const target = targetOf(
      'wait',
      positionals[0] as string,
      Boolean(values.secret),
      regions[0] ?? null,
    );
    const clock = context.clock ?? { now: Date.now, sleep };
    const started = clock.now();
    const quiet: Io = { ...io, interactive: false };
    for (let checks = 1; ; checks++) {
      const { report } = await scanAccount({ target }, regions, settings, quiet, context);
      const left = holdingOld(report);
      const waited = clock.now() - started;
      if (readNothing(report)) {
        if (io.interactive) io.err('\r\x1b[K');
        throw new CliError(nothingRead(report), EXIT.incomplete);
      }
      const done = left.length === 0;
      const outOfTime = !done && waited + intervalMs > timeoutMs;
      if (done || outOfTime) {
        if (io.interactive) io.err('\r\x1b[K');
        return finish(io, values, { name: target.name, report, left, waited, checks });
      }
      if (io.interactive)
        io.err(
          `\r\x1b[K${target.name}: ${left.length} consumer${left.length === 1 ? '' : 's'} still on the old value (${left
            .slice(0, 3)
            .map((c) => printable(c.name))
            .join(', ')}${left.length > 3 ? ', …' : ''}); waited ${format(waited)}`,
        );
      await clock.sleep(intervalMs);
    }
  },
};

type ReportConsumer = RunReport['consumers'][number];

/** The consumers that still run something created before the value's current version. */
function holdingOld(report: RunReport): ReportConsumer[] {
  return report.consumers.filter((consumer) => consumer.staleRunning > 0);
}

function finish(
  io: Io,
  values: Values,
  run: { name: string; report: RunReport; left: ReportConsumer[]; waited: number; checks: number },
): number {
  const { report, left, waited, checks } = run;
  const complete = left.length === 0 && report.complete;
  const code = left.length > 0 ? EXIT.timedOut : report.complete ? EXIT.ok : EXIT.incomplete;
  if (values.json) {
    io.out(
      `${JSON.stringify(
        {
          complete,
          value: run.name,
          waitedSeconds: Math.round(waited / 1000),
          checks,
          left: left.map(({ kind, arn, name, region, staleRunning, staleReason }) => ({
            kind,
            arn,
            name,
            region,
            staleRunning,
            staleReason,
          })),
          gaps: report.gaps,
        },
        null,
        2,
      )}\n`,
    );
  } else if (code === EXIT.ok) {
    io.out(
      `complete: no running consumer of ${printable(run.name)} holds an older value (${report.consumers.length} consumer${report.consumers.length === 1 ? '' : 's'} checked; waited ${format(waited)})\n`,
    );
  } else if (code === EXIT.timedOut) {
    io.out(
      `timed out after ${format(waited)}: ${left.length} consumer${left.length === 1 ? '' : 's'} may still hold an older value of ${printable(run.name)}:\n${left
        .map(
          (c) =>
            `  ${c.kind} ${printable(c.name)} (${c.region}): ${c.staleRunning} running; ${printable(c.staleReason)}`,
        )
        .join('\n')}\n`,
    );
  }
  warnGaps(report, io);
  if (code === EXIT.incomplete)
    io.err(
      `rotation-watcher: cannot say the rotation is complete: no consumer left among what could be read, but ${report.gaps.length} part${report.gaps.length === 1 ? '' : 's'} of the account could not be read\n`,
    );
  return code;
}

function duration(option: string, raw: Values[string]): number {
  const ms = typeof raw === 'string' ? parseDuration(raw) : null;
  if (ms === null)
    throw new CliError(
      `${option} must be a duration such as 90s, 30m, 2h or 1h30m, got ${JSON.stringify(String(raw).slice(0, 40))}`,
    );
  return ms;
}

function format(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
