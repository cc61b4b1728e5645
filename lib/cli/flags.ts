import { parseArgs } from 'node:util';
import { partition } from '@aws-sdk/core/client';
import { loadSharedConfigFiles } from '@smithy/core/config';
import { isRegion } from '../refs/index.js';
import type { Options, Values } from './command.js';
import { CliError } from './errors.js';

/** Regions newer than the SDK that the CLI may still take: a comma list (see REGION_HELP). */
export const EXTRA_REGIONS_VARIABLE = 'ROTATION_WATCHER_EXTRA_REGIONS';

/**
 * Reads `args` against `options` as parseArgs does, but every mistake is one line a person can act
 * on: an unknown option names the nearest known one, an option missing its value says so, and a
 * value starting with a dash (`--timeout -5s`) goes to the option's own check instead of Node's
 * "argument is ambiguous". A repeated --region adds to the list (`--region a --region b` is
 * `--region a,b`); any other repeated option takes the last value, as parseArgs does.
 *
 * @example
 * parseFlags('drift', { region: { type: 'string' } }, ['--reigon', 'us-east-1']);
 * // throws: unknown option --reigon; did you mean --region? (rotation-watcher drift --help)
 */
export function parseFlags(
  command: string,
  options: Options,
  args: string[],
  others: Options = {},
): { values: Values; positionals: string[] } {
  const see = `(rotation-watcher ${command} --help)`;
  const { tokens } = parseArgs({
    args,
    options,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const values: Values = {};
  const positionals: string[] = [];
  const given = new Set<string>();
  for (const [name, option] of Object.entries(options))
    if (option.default !== undefined) values[name] = option.default;
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (!option) throw new CliError(unknownOption(command, token.rawName, options, others, see));
    if (option.type === 'boolean') {
      if (token.value !== undefined)
        throw new CliError(
          `${token.rawName} takes no value, got ${token.rawName}=${token.value} ${see}`,
        );
      values[token.name] = true;
      continue;
    }
    // A value that is itself an option (`--region --json`) means the value was left out.
    const missing =
      token.value === undefined ||
      (!token.inlineValue && token.value.startsWith('--') && token.value.length > 2);
    if (missing) throw new CliError(`${token.rawName} needs a value ${see}`);
    const value = token.value as string;
    values[token.name] =
      token.name === 'region' && given.has('region') ? `${values.region},${value}` : value;
    given.add(token.name);
  }
  return { values, positionals };
}

function unknownOption(
  command: string,
  raw: string,
  options: Options,
  others: Options,
  see: string,
): string {
  const known = Object.entries(options).flatMap(([name, option]) => [
    `--${name}`,
    ...(option.short ? [`-${option.short}`] : []),
  ]);
  const name = raw.split('=')[0] as string;
  if (Object.hasOwn(others, name.replace(/^-+/, '')))
    return `unknown option ${name}; ${command} does not take it ${see}`;
  // A one-letter option (`-x`) is too short to be a typo of anything.
  const near = name.startsWith('--') ? nearest(name, known) : null;
  return near
    ? `unknown option ${name}; did you mean ${near}? ${see}`
    : `unknown option ${name}; the options are ${known.filter((k) => k.startsWith('--')).join(', ')} ${see}`;
}

/** The candidate closest to `word` by edit distance, when it is close enough to be a typo of it. */
export function nearest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A third of the word may be wrong (`--reigon`, `us-east-99`, `drfit`), and at least 1 letter.
  const allowed = Math.max(1, Math.floor(word.replace(/^-+/, '').length / 3));
  return bestDistance <= allowed ? best : null;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(at(i, j), at(i - 2, j - 2) + 1);
    }
  }
  return at(a.length, b.length);
}

const DURATION_HELP =
  'a duration must be a positive number with an optional unit s, m or h, such as 30s or 15m';

/**
 * A duration option in milliseconds: `90` (a bare number is seconds), `90s`, `1.5m`, `2h`,
 * `1h30m` (and `d` for days); a negative, malformed or out-of-range one is a one-line error.
 */
export function durationFlag(
  option: string,
  raw: Values[string],
  limits: { min?: number; max?: number } = {},
): number {
  const text = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  const ms = parseDurationText(text);
  const shown = `${option} ${String(raw).slice(0, 40)}`;
  if (ms === null) throw new CliError(`${shown}: ${DURATION_HELP}`);
  if (limits.min !== undefined && ms < limits.min)
    throw new CliError(`${shown}: must be at least ${formatLimit(limits.min)}`);
  if (limits.max !== undefined && ms > limits.max)
    throw new CliError(`${shown}: must be at most ${formatLimit(limits.max)}`);
  return ms;
}

const UNIT_MS: Record<string, number> = {
  '': 1000,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

function parseDurationText(text: string): number | null {
  const single = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text);
  if (single) return Math.round(Number(single[1]) * (UNIT_MS[single[2] ?? ''] ?? 1000));
  const compound = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!text || !compound) return null;
  const [, d = '0', h = '0', m = '0', s = '0'] = compound;
  return (((Number(d) * 24 + Number(h)) * 60 + Number(m)) * 60 + Number(s)) * 1000;
}

function formatLimit(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/**
 * The regions of a --region value (comma-separated, repeated options already joined), each one
 * the SDK's partition metadata lists, or one of ROTATION_WATCHER_EXTRA_REGIONS (a region newer
 * than the installed SDK). A region that merely matches a partition's pattern (`us-east-99`
 * matches aws's) is refused: typos look like regions.
 */
export function regionFlag(raw: string, env: NodeJS.ProcessEnv): string[] {
  const list = raw.split(',').map((region) => region.trim());
  const extra = new Set(
    (env[EXTRA_REGIONS_VARIABLE] ?? '')
      .split(',')
      .map((region) => region.trim())
      .filter(Boolean),
  );
  for (const region of list) {
    if (region === '')
      throw new CliError(
        `--region ${raw}: an empty region; give regions such as us-east-1,eu-west-1`,
      );
    if (extra.has(region) && isRegion(region)) continue;
    if (knownRegion(region)) continue;
    const near = nearest(region, knownRegions());
    const hint = near ? `did you mean ${near}? ` : '';
    throw new CliError(
      isRegion(region)
        ? `--region ${region}: not a region this version of the AWS SDK knows; ${hint}(for a region newer than it, add it to ${EXTRA_REGIONS_VARIABLE})`
        : `--region ${region}: not a region; ${hint}a region looks like us-east-1`,
    );
  }
  return [...new Set(list)];
}

/** Whether the SDK's partition metadata lists `region` (not only matches a partition's pattern). */
export function knownRegion(region: string): boolean {
  if (!isRegion(region)) return false;
  // partition() returns the listed region's own entry (with its description) merged in; a
  // region it only matched by pattern, or not at all, gets the partition's outputs alone.
  return 'description' in partition(region);
}

/**
 * The regions the SDK lists, for suggestions only: the metadata itself is not exported, so
 * every region-shaped name of the partitions' prefixes is asked about (a few thousand lookups,
 * done only when a region was refused).
 */
function knownRegions(): string[] {
  const prefixes = ['us', 'eu', 'ap', 'sa', 'ca', 'me', 'af', 'il', 'mx', 'cn', 'us-gov'];
  const special = ['us-iso', 'us-isob', 'eu-isoe', 'us-isof', 'eusc-de'];
  const directions = ['east', 'west', 'north', 'south', 'central'];
  const compass = [...directions, 'northeast', 'northwest', 'southeast', 'southwest'];
  const found: string[] = [];
  for (const prefix of [...prefixes, ...special])
    for (const direction of compass)
      for (let n = 1; n <= 9; n++) {
        const region = `${prefix}-${direction}-${n}`;
        if (knownRegion(region)) found.push(region);
      }
  return found;
}

/**
 * Fails with one line when `name` is in neither the shared config file nor the credentials file
 * (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE): the SDK would say so only at the first call,
 * and every call would fail.
 */
export async function profileFlag(name: string): Promise<void> {
  if (name.trim() === '') throw new CliError('--profile needs a profile name');
  const files = await loadSharedConfigFiles({ ignoreCache: true });
  if (Object.hasOwn(files.configFile, name) || Object.hasOwn(files.credentialsFile, name)) return;
  const known = [
    ...new Set([...Object.keys(files.configFile), ...Object.keys(files.credentialsFile)]),
  ];
  const near = nearest(name, known);
  throw new CliError(
    `--profile ${name}: no such profile in the AWS config or credentials file (${process.env.AWS_CONFIG_FILE ?? '~/.aws/config'}, ${process.env.AWS_SHARED_CREDENTIALS_FILE ?? '~/.aws/credentials'})${near ? `; did you mean ${near}?` : ''}`,
  );
}
