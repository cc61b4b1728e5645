import type { AwsClients } from '../aws/index.js';
import type { Change, Target } from '../domain/index.js';
import type { RunReport } from '../report.js';
import type { Halt } from '../rotations/waves.js';
import {
  notFoundError,
  nothingRead,
  readDeps,
  readNothing,
  regionsFor,
  scanValue,
  settingsOrFail,
  targetOf,
  type ValueRun,
  warnGaps,
} from './account.js';
import type { Command, Values } from './command.js';
import { CliError, EXIT } from './errors.js';
import { durationFlag } from './flags.js';
import type { Io } from './io.js';
import { commandFor } from './status.js';
import { printable } from './table.js';
import {
  haltedAnswer,
  haltedNote,
  holdups,
  versionRefusal,
  type WantedVersion,
} from './wait-checks.js';
import { haltReader } from './waves.js';

const DEFAULT_TIMEOUT = '30m';
const DEFAULT_INTERVAL = '30s';

export const waitCommand: Command = {
  name: 'wait',
  summary: 'wait until no running consumer holds an old value of a parameter or secret',
  usage:
    'rotation-watcher wait NAME|ARN [--secret] [--version ID] [--timeout 30m] [--interval 30s] [--stack NAME] [--region R] [--profile NAME] [--json]',
  help: `Blocks until no running ECS task or Batch job that references the parameter or secret was
created before its current value (AWS's record of its last change): then nothing running can
hold an older value, and the old credential can be revoked. Checks every --interval, live,
against the account (no stack needed), reading only metadata, never a value. On a terminal, a
progress line says who is left and how long it has waited.

NAME is a parameter name, a parameter or secret ARN, or /aws/reference/secretsmanager/NAME;
with --secret, NAME is a secret name. A name that matches nothing and that no running consumer
references is an error (exit 2); a deleted value still referenced is waited for (its consumers
hold its last value).

Nothing is complete while a secret's rotation is under way (a version holds AWSPENDING but not
AWSCURRENT: RotateSecret returns before AWSCURRENT moves), nor while a replica has not caught up
with its primary. A replicated secret's replicas are followed: their regions are scanned too,
and their consumers count.

With the watcher's state table (--stack, or WATCHER_STATE_TABLE), wait also says when the
staged restarts of the value's newest rotation are halted: the halt's reason, and the
\`rotation-watcher resume\` that lets them go on. The waves never decide the answer: only the
consumers running the old value do.

Options:
  --secret        NAME is a Secrets Manager secret name, not a parameter name
  --version ID    wait for this version: a secret's version id, a parameter's version number.
                  The current one is waited for as usual; one not current yet (the AWSPENDING
                  version of a rotation under way, a later parameter version) is waited for
                  until it is; an older one is refused (exit 2): timing it would mean reading
                  the value's history
  --timeout D     give up after D (default ${DEFAULT_TIMEOUT}): a number with an optional unit s, m
                  or h (90s, 1.5m, 30m, 2h, 1h30m); a bare number is seconds (90 is 90s). Checks
                  go on until D, even when D is shorter than --interval; 0 checks once
  --interval D    time between checks (default ${DEFAULT_INTERVAL}; from 1s to 24h, a bare number is
                  seconds)
  --region R      region(s) to scan, comma-separated (default: WATCHER_REGIONS, else the current region)
  --json          print { complete, value, waitedSeconds, checks, left, gaps, pending, regions,
                  accounts, replicas, halted } when done (with "error" when nothing could be read)
  -h, --help      show this help

What "complete" covers: the regions scanned and the account of the credentials, both named in
the answer. What it cannot see: other accounts, a container that copied the value somewhere
else (a file, a cache, another service), and consumers outside ECS and Batch (Lambda, EC2, EKS,
people).

Exit codes: 0 complete, 2 bad input, 3 part of the account could not be read (no consumer left
among what could be) or nothing could, 5 timed out (the consumers left, and why nothing is
complete, are listed).`,
  options: {
    secret: { type: 'boolean', default: false },
    version: { type: 'string' },
    timeout: { type: 'string', default: DEFAULT_TIMEOUT },
    interval: { type: 'string', default: DEFAULT_INTERVAL },
  },
  async run(positionals, values, io, context) {
    if (positionals.length !== 1)
      throw new CliError('wait takes one NAME or ARN; see `rotation-watcher wait --help`');
    const timeoutMs = durationFlag('--timeout', values.timeout);
    // A sleep longer than setTimeout's limit (24.8 days) would not sleep at all.
    const intervalMs = durationFlag('--interval', values.interval, { min: 1000, max: 86_400_000 });
    const wanted = wantedVersion(values.version);
    const settings = settingsOrFail(context);
    const regions = await regionsFor(values, settings);
    const given = positionals[0] as string;
    const target = targetOf('wait', given, Boolean(values.secret), regions[0] ?? null);
    const clock = context.clock ?? { now: Date.now, sleep };
    const started = clock.now();
    const quiet: Io = { ...io, interactive: false };
    // One set of clients for every check: the API budget's buckets carry over, so checks close
    // together share the watcher's share of each bucket instead of each taking it anew.
    const deps = readDeps(settings, regions, context);
    // With the state table, whether the rotation's waves are halted: said, never taken for done.
    const halts = settings.stateTable
      ? haltReader(settings.stateTable, settings, target, regions, deps.clients, io)
      : null;
    const resume = commandFor('resume', given, values);
    try {
      for (let checks = 1; ; checks++) {
        const run = await scanValue(target, deps, quiet);
        const waited = clock.now() - started;
        if (readNothing(run.report)) {
          if (io.interactive) io.err('\r\x1b[K');
          return unreadable(io, values, { name: target.name, run, waited, checks });
        }
        if (checks === 1) await refuseBadInput(run, target, given, values, wanted, deps.clients);
        if (wanted && run.value?.version === wanted.id) wanted.seenCurrent = true;
        const left = holdingOld(run.report);
        const pending = holdups(run.value, run.result.changes, wanted);
        const done = left.length === 0 && pending.length === 0;
        const last = done || waited >= timeoutMs;
        // Read for the answer, and for the progress line when a person watches it.
        const halted =
          halts && (last || io.interactive)
            ? await halts(target.account ?? run.value?.account ?? null)
            : null;
        const outcome = { name: target.name, run, left, pending, waited, checks, halted, resume };
        if (last) {
          if (io.interactive) io.err('\r\x1b[K');
          return finish(io, values, outcome);
        }
        if (io.interactive) io.err(`\r\x1b[K${progress(outcome)}`);
        // The last sleep ends at the timeout, so a timeout shorter than the interval still checks.
        await clock.sleep(Math.min(intervalMs, timeoutMs - waited));
      }
    } finally {
      deps.clients.destroy();
    }
  },
};

type ReportConsumer = RunReport['consumers'][number];

/** The consumers that still run something created before the value's current version. */
function holdingOld(report: RunReport): ReportConsumer[] {
  return report.consumers.filter((consumer) => consumer.staleRunning > 0);
}

/**
 * Exit 2 for what cannot be waited for: a value that does not exist and that nothing references
 * (a typo, or a secret named without --secret), or a version older than the current one.
 */
async function refuseBadInput(
  run: ValueRun,
  target: Target,
  given: string,
  values: Values,
  wanted: WantedVersion | null,
  clients: AwsClients,
): Promise<void> {
  const { value, report } = run;
  if (value?.missing && report.consumers.length === 0 && report.complete)
    throw await notFoundError(target, given, Boolean(values.secret), value.region, clients);
  if (wanted && value && !value.missing) {
    const refusal = versionRefusal(value, wanted.id);
    if (refusal) throw new CliError(refusal);
  }
}

interface Outcome {
  name: string;
  run: ValueRun;
  left: ReportConsumer[];
  pending: string[];
  waited: number;
  checks: number;
  /** The halt of the rotation's waves, when the state table says they are halted. */
  halted: Halt | null;
  /** The command line that resumes them. */
  resume: string;
}

function finish(io: Io, values: Values, outcome: Outcome): number {
  const { run, left, pending, waited } = outcome;
  const { report } = run;
  const holding = left.length > 0 || pending.length > 0;
  const code = holding ? EXIT.timedOut : report.complete ? EXIT.ok : EXIT.incomplete;
  if (values.json) io.out(json({ complete: code === EXIT.ok, ...answer(outcome) }));
  else if (code === EXIT.ok)
    io.out(
      `complete: no running consumer of ${printable(outcome.name)} holds an older value (${scope(run)}; waited ${format(waited)})\n`,
    );
  else if (code === EXIT.timedOut) io.out(timedOut(outcome));
  // Nothing holds the old value now, yet the waves stopped: the value may be the bad one.
  if (outcome.halted && code !== EXIT.timedOut)
    io.err(`note: ${haltedNote(outcome.halted, outcome.resume)}\n`);
  warnGaps(report, io);
  if (code === EXIT.incomplete)
    io.err(
      `rotation-watcher: cannot say the rotation is complete: no consumer left among what could be read, but ${report.gaps.length} part${report.gaps.length === 1 ? '' : 's'} of the account could not be read\n`,
    );
  return code;
}

/** Nothing could be read: an answer that says so, never an empty file, and exit 3. */
function unreadable(
  io: Io,
  values: Values,
  outcome: Omit<Outcome, 'left' | 'pending' | 'halted' | 'resume'>,
): number {
  const error = nothingRead(outcome.run.report);
  if (values.json)
    io.out(
      json({
        complete: false,
        error,
        ...answer({ ...outcome, left: [], pending: [], halted: null, resume: '' }),
      }),
    );
  io.err(`rotation-watcher: ${error}\n`);
  return EXIT.incomplete;
}

/** The fields of `--json` besides `complete` (and `error`). */
function answer(outcome: Outcome) {
  const { run, left, pending, waited, checks } = outcome;
  return {
    value: outcome.name,
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
    gaps: run.report.gaps,
    pending,
    regions: run.regions,
    accounts: accountsOf(run),
    replicas: run.replicas.map((replica) => ({
      ...replica,
      followed: true,
      version: replicaChange(run, replica.region)?.version ?? null,
    })),
    halted: haltedAnswer(outcome.halted, outcome.resume),
  };
}

function timedOut(outcome: Outcome): string {
  const { name, left, pending, waited, run } = outcome;
  const lines =
    left.length > 0
      ? [
          `timed out after ${format(waited)}: ${left.length} consumer${left.length === 1 ? '' : 's'} may still hold an older value of ${printable(name)}:`,
          ...left.map(
            (c) =>
              `  ${c.kind} ${printable(c.name)} (${c.region}): ${c.staleRunning} running; ${printable(c.staleReason)}`,
          ),
          ...pending.map((why) => `and nothing is complete: ${why}`),
        ]
      : [
          `timed out after ${format(waited)}: nothing is complete for ${printable(name)}: ${pending[0]}`,
          ...pending.slice(1).map((why) => `and ${why}`),
        ];
  if (run.value?.missing)
    lines.push(`${printable(name)} does not exist any more: its consumers hold its last value`);
  if (outcome.halted) lines.push(`and ${haltedNote(outcome.halted, outcome.resume)}`);
  return `${[...lines, `(${scope(run)})`].join('\n')}\n`;
}

/** What the answer covered: how many consumers, which regions, which account, which replicas. */
function scope(run: ValueRun): string {
  const count = run.report.consumers.length;
  const accounts = accountsOf(run);
  const replicas = run.replicas.map((replica) => replica.region);
  return `${count} consumer${count === 1 ? '' : 's'} checked in ${run.regions.join(', ')}${
    accounts.length ? ` of account ${accounts.join(', ')}` : ''
  }${replicas.length ? `, replica${replicas.length === 1 ? '' : 's'} in ${replicas.join(', ')} followed` : ''}`;
}

function accountsOf(run: ValueRun): string[] {
  const seen = [
    run.value?.account,
    ...run.result.changes.map((change) => change.account),
    ...run.result.consumers.map((consumer) => consumer.account),
  ];
  return [...new Set(seen.filter((account): account is string => Boolean(account)))];
}

function replicaChange(run: ValueRun, region: string): Change | undefined {
  return run.result.changes.find((change) => change.region === region);
}

function progress({ name, left, pending, waited, halted, resume }: Outcome): string {
  const who = left
    .slice(0, 3)
    .map((c) => printable(c.name))
    .join(', ');
  const consumers = `${left.length} consumer${left.length === 1 ? '' : 's'} still on the old value${left.length ? ` (${who}${left.length > 3 ? ', …' : ''})` : ''}`;
  const halt = halted ? `; ${haltedNote(halted, resume)}` : '';
  return `${printable(name)}: ${consumers}${pending.length ? `; ${pending[0]}` : ''}${halt}; waited ${format(waited)}`;
}

function wantedVersion(raw: Values[string]): WantedVersion | null {
  if (raw === undefined) return null;
  if (typeof raw !== 'string' || raw.trim() === '')
    throw new CliError(
      '--version needs a version: a secret version id or a parameter version number',
    );
  return { id: raw.trim(), seenCurrent: false };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
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
