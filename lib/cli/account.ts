import { ECSClient } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../aws/index.js';
import { buildReadDeps, type ReadDeps } from '../compose.js';
import { readSettings, type Settings, SettingsError } from '../config.js';
import { discover, latestChanges, type Progress, type Query } from '../discovery/index.js';
import type { Change, DiscoveryResult, Gap, ReplicaValue, Target } from '../domain/index.js';
import { type Plan, plan } from '../plan.js';
import { InvalidReferenceError, isRegion, resolveReference } from '../refs/index.js';
import { buildReport, plannedOutcomes, type RunReport } from '../report.js';
import type { Context, Values } from './command.js';
import { CliError, EXIT } from './errors.js';
import type { Io } from './io.js';
import { renderRun } from './render.js';
import { layoutOf, printable } from './table.js';
import { notFoundMessage } from './wait-checks.js';

/** The settings, or a one-line error naming the variable. */
export function settingsOrFail(context: Context): Settings {
  const env = context.env ?? process.env;
  try {
    return readSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) throw new CliError(error.message);
    throw error;
  }
}

/**
 * The parameter or secret a command is about: NAME (a parameter name, or with --secret a secret
 * name), an ARN, or /aws/reference/secretsmanager/NAME; bare names are in `home`.
 */
export function targetOf(
  command: string,
  given: string,
  secret: boolean,
  home: string | null,
): Target {
  const spelled =
    secret && !given.startsWith('arn:') ? `/aws/reference/secretsmanager/${given}` : given;
  try {
    return resolveReference(spelled, { region: home, account: null });
  } catch (error) {
    if (error instanceof InvalidReferenceError) throw new CliError(`${command}: ${error.message}`);
    throw error;
  }
}

/**
 * The regions to scan: --region, else WATCHER_REGIONS, else the SDK's current region (the
 * --profile's when given). The CLI has checked --region against the SDK's regions already.
 */
export async function regionsFor(values: Values, settings: Settings): Promise<string[]> {
  if (typeof values.region === 'string') {
    const list = values.region.split(',').map((r) => r.trim());
    const bad = list.find((region) => !isRegion(region));
    if (bad !== undefined)
      throw new CliError(
        `--region must be a region such as us-east-1 (or a comma list), got ${JSON.stringify(values.region)}`,
      );
    return [...new Set(list)];
  }
  if (settings.regions) return settings.regions;
  // With --profile, the profile's region (unless AWS_REGION says otherwise, as for the AWS CLI).
  const probe = new ECSClient(
    typeof values.profile === 'string' ? { profile: values.profile } : {},
  );
  try {
    return [await probe.config.region()];
  } catch {
    throw new CliError(
      `no region: pass --region, or set WATCHER_REGIONS or AWS_REGION (or a region in ${typeof values.profile === 'string' ? `the profile ${values.profile}` : 'your AWS profile'})`,
    );
  } finally {
    probe.destroy();
  }
}

export interface AccountRun {
  result: DiscoveryResult;
  plan: Plan;
  report: RunReport;
}

/**
 * What the read-only commands read the account with, from the one composition root
 * (lib/compose.ts): the first region is the CLI's home. The caller destroys its clients.
 */
export function readDeps(settings: Settings, regions: string[], context: Context): ReadDeps {
  return buildReadDeps(settings, {
    home: regions[0] as string,
    regions,
    clientOptions: context.clientOptions,
  });
}

/** Discovers and plans (changing nothing), with a progress line on a terminal. */
export async function scanAccount(
  query: Query,
  regions: string[],
  settings: Settings,
  io: Io,
  context: Context,
): Promise<AccountRun> {
  const deps = readDeps(settings, regions, context);
  try {
    return await scanWith(query, deps, io);
  } finally {
    deps.clients.destroy();
  }
}

/** Like scanAccount on the caller's `deps`, as one run: its report counts its own calls. */
export function scanWith(query: Query, deps: ReadDeps, io: Io): Promise<AccountRun> {
  return deps.clients.run(() => discoverAndPlan(query, deps, io));
}

export interface ValueRun extends AccountRun {
  /** The value as its metadata says, read before the scan; `null` when it could not be read. */
  value: Change | null;
  /** The value's replicas, each followed: its region scanned, its consumers counted. */
  replicas: ReplicaValue[];
  /** Every region scanned: those asked for, then the replicas'. */
  regions: string[];
}

/**
 * Like scanAccount for one value, following a secret's replicas: consumers in a replica's region
 * read the replica (its own ARN), so its region is scanned too and its consumers count. On the
 * caller's `deps`, so that `wait` keeps one budget (and one definition cache) across its checks;
 * each check is a run of its own, with its own call counts.
 */
export function scanValue(target: Target, deps: ReadDeps, io: Io): Promise<ValueRun> {
  return deps.clients.run(async () => {
    const { clients, regions } = deps;
    // Its gaps are the answer's too: without the value's record, a rotation under way, the
    // version asked for and the replicas to follow are unknown, and nothing can be complete.
    const valueGaps: Gap[] = [];
    const [value = null] = await latestChanges([target], clients, valueGaps, new Date());
    const replicas = value?.replicas ?? [];
    const scanned = [...new Set([...regions, ...replicas.map((replica) => replica.region)])];
    const query: Query =
      value && replicas.length > 0
        ? { changes: [value, ...replicas.map((replica) => replicaChange(value, replica))] }
        : { target };
    const run = await discoverAndPlan(query, { ...deps, regions: scanned }, io);
    if (valueGaps.length === 0) return { ...run, value, replicas, regions: scanned };
    const gaps = [...valueGaps, ...run.report.gaps];
    return {
      ...run,
      result: { ...run.result, gaps, complete: false },
      report: { ...run.report, gaps, complete: false },
      value,
      replicas,
      regions: scanned,
    };
  });
}

/** The primary's change as its replica sees it: the replica's ARN in the replica's region. */
function replicaChange(primary: Change, replica: ReplicaValue): Change {
  const { replicas: _replicas, pendingVersion: _pending, ...rest } = primary;
  return { ...rest, region: replica.region, arn: replica.arn };
}

/**
 * The error for a value that does not exist and that no running consumer references (a typo, or
 * a secret named without --secret): it names what was looked up and, where the other kind of
 * value exists under that name, suggests it.
 */
export async function notFoundError(
  target: Target,
  given: string,
  secret: boolean,
  region: string,
  clients: AwsClients,
): Promise<CliError> {
  // Only a bare name may mean the other kind; an ARN or a reference path says which it is.
  const bare = !given.startsWith('arn:') && !given.startsWith('/aws/reference/secretsmanager/');
  const other = bare ? otherKind(given, !secret, region) : null;
  const exists = other ? await valueExists(other, clients) : null;
  return new CliError(notFoundMessage(target, given, region, exists === true));
}

/** `given` read as the other kind of value, or `null` when it cannot name one. */
function otherKind(given: string, secret: boolean, region: string): Target | null {
  try {
    return targetOf('', given, secret, region);
  } catch {
    return null;
  }
}

/** Whether a value of `target`'s name and kind exists (metadata only); `null` when unreadable. */
async function valueExists(target: Target, clients: AwsClients): Promise<boolean | null> {
  const [value] = await clients.run(() => latestChanges([target], clients, [], new Date()));
  return value ? !value.missing : null;
}

/**
 * Discovers and plans on `deps`, changing nothing; its report counts the current run's calls.
 * The stack's memory of when each secret version moved is read, never written, by the CLI.
 */
async function discoverAndPlan(query: Query, deps: ReadDeps, io: Io): Promise<AccountRun> {
  const { clients, cache, moves, regions, settings } = deps;
  const result = await discover(query, {
    regions,
    clients,
    cache,
    onProgress: progressLine(io),
    ...(moves ? { moves } : {}),
  });
  if (io.interactive) io.err('\r\x1b[K');
  const planned = plan(result.consumers, settings);
  const report = buildReport(result, planned, plannedOutcomes(planned), clients.counter.byApi());
  return { result, plan: planned, report };
}

function progressLine(io: Io): ((progress: Progress) => void) | undefined {
  if (!io.interactive) return undefined;
  return ({ region, phase, done, total }) =>
    io.err(`\r\x1b[Kscanning ${region}: ${phase} ${done}/${total}`);
}

/**
 * Whether the run read nothing at all: every AWS call it made failed (no credentials, an expired
 * session, every call denied). Its empty answer then says nothing about the account.
 */
export function readNothing(report: RunReport): boolean {
  const counts = Object.values(report.calls ?? {});
  return (
    report.gaps.length > 0 &&
    counts.length > 0 &&
    counts.every((count) => count.failed >= count.calls)
  );
}

/** What to say when a run read nothing at all (see readNothing), without the program's name. */
export function nothingRead(report: RunReport): string {
  return `nothing could be read: every AWS call failed (first: ${printable(report.gaps[0]?.error ?? 'unknown')}); check the credentials (aws sts get-caller-identity), the region and the permissions`;
}

/** One warning line per part of the account that could not be read. */
export function warnGaps(report: RunReport, io: Io): void {
  for (const gap of report.gaps)
    io.err(
      `warning: could not read ${printable(gap.scope)} in ${gap.region} (${gap.api}): ${printable(gap.error)}\n`,
    );
}

/** Prints a run as JSON or a table, warns about gaps, and returns the exit code. */
export function printRun(report: RunReport, values: Values, io: Io, empty: string): number {
  if (readNothing(report)) {
    // First, and instead of an empty answer that would read as "nothing uses it".
    io.err(`rotation-watcher: ${nothingRead(report)}\n`);
    if (values.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT.incomplete;
  }
  if (values.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else io.out(renderRun(report, empty, layoutOf(values, io)));
  warnGaps(report, io);
  if (!report.complete) {
    io.err(
      `rotation-watcher: the answer is incomplete: ${report.gaps.length} part${report.gaps.length === 1 ? '' : 's'} of the account could not be read (see warnings above)\n`,
    );
    return EXIT.incomplete;
  }
  return EXIT.ok;
}

/** Where the state table is: its ARN's region (WATCHER_STATE_TABLE), else the first region. */
export function tableRegion(settings: Settings, regions: string[]): string {
  return settings.stateTableRegion ?? (regions[0] as string);
}
