import { DEFAULT_API_SHARE } from './aws/index.js';
import { POLICY_ACTIONS, type PolicyAction } from './domain/index.js';
import { isRegion } from './refs/index.js';
import { DEFAULT_WAVES, parseWaves, type WaveSpec } from './rotations/waves.js';

/** The watcher's settings, read once at the boundary (handler or CLI) and passed down. */
export interface Settings {
  /** Regions whose consumers are scanned; `null` means the current region. */
  regions: string[] | null;
  defaultAction: PolicyAction;
  dryRun: boolean;
  maxActions: number;
  snsTopicArn: string | null;
  slackWebhookUrl: string | null;
  slackWebhookParam: string | null;
  eventBus: string | null;
  /** Only parameters and secrets whose names start with this are watched; `null`: all. */
  namePrefix: string | null;
  /**
   * What to do with a service to redeploy whose images are pulled by tag (a forced deployment
   * may ship new code): `redeploy` anyway (and say so), or only `notify`.
   */
  mutableImages: 'redeploy' | 'notify';
  /** The stack's DynamoDB table (leases on consumers); `null`: none (the CLI's default). */
  stateTable: string | null;
  /** The state table's region when WATCHER_STATE_TABLE is its ARN; else the home region's. */
  stateTableRegion: string | null;
  /** The share of each ECS and Batch throttle bucket a run may take (0 < share ≤ 1). */
  apiShare: number;
  /** How long a rotation is followed before it is overdue (WATCHER_COMPLETE_DEADLINE), ms. */
  completeDeadlineMs: number;
  /**
   * How often a stale consumer nobody restarts is told of again when nothing about it changed
   * (WATCHER_REMIND_EVERY), ms; 0: on every run. Needs the state table to remember.
   */
  remindEveryMs: number;
  /**
   * How the restarts of one change go out (WATCHER_WAVES): `all` at once, or in waves, a canary
   * first (`1,25%,100%`). Waves need the state table to remember where they are.
   */
  waves: WaveSpec;
  /** How long a wave's new deployments must run with no task failing before the next wave (WATCHER_BAKE), ms. */
  bakeMs: number;
}

/** A setting with a value the watcher cannot use; the message names the variable and what is allowed. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/**
 * Reads and validates the `WATCHER_*` settings.
 * @throws SettingsError naming the variable, the value and what is allowed.
 */
export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const value = (name: string) => {
    const raw = env[name]?.trim();
    return raw ? raw : null;
  };
  return {
    regions: regions(value('WATCHER_REGIONS')),
    defaultAction: action(value('WATCHER_DEFAULT_ACTION')),
    dryRun: bool('WATCHER_DRY_RUN', value('WATCHER_DRY_RUN')),
    maxActions: count('WATCHER_MAX_ACTIONS', value('WATCHER_MAX_ACTIONS'), 25),
    snsTopicArn: arn('WATCHER_SNS_TOPIC_ARN', value('WATCHER_SNS_TOPIC_ARN'), ':sns:'),
    slackWebhookUrl: url(value('WATCHER_SLACK_WEBHOOK_URL')),
    slackWebhookParam: value('WATCHER_SLACK_WEBHOOK_PARAM'),
    eventBus: value('WATCHER_EVENT_BUS'),
    namePrefix: value('WATCHER_NAME_PREFIX'),
    mutableImages: mutable(value('WATCHER_MUTABLE_IMAGES')),
    ...stateTable(value('WATCHER_STATE_TABLE')),
    apiShare: share(value('WATCHER_API_SHARE')),
    completeDeadlineMs: durationSetting(
      'WATCHER_COMPLETE_DEADLINE',
      value('WATCHER_COMPLETE_DEADLINE'),
      '24h',
    ),
    remindEveryMs:
      value('WATCHER_REMIND_EVERY') === '0'
        ? 0
        : durationSetting(
            'WATCHER_REMIND_EVERY',
            value('WATCHER_REMIND_EVERY'),
            '24h',
            '0 (every run), ',
          ),
    waves: wavesSetting(value('WATCHER_WAVES')),
    bakeMs: bake(value('WATCHER_BAKE')),
  };
}

function wavesSetting(raw: string | null): WaveSpec {
  const spec = parseWaves(raw ?? DEFAULT_WAVES);
  if (typeof spec === 'object' && 'error' in spec)
    throw new SettingsError(
      `WATCHER_WAVES must be all or a comma list of counts and percentages such as 1,25%,100%, got ${JSON.stringify((raw ?? '').slice(0, 40))} (${spec.error})`,
    );
  return spec;
}

function bake(raw: string | null): number {
  if (raw === '0') return 0;
  const ms = parseDuration(raw ?? '5m');
  // The bake is read when it ends, and ECS lists a stopped task for at least an hour.
  if (ms === null || ms > 3_600_000)
    throw new SettingsError(
      `WATCHER_BAKE must be 0 or a duration up to 1h such as 5m, 90s or 1h (ECS lists a stopped task for at least an hour, and the bake is read when it ends), got ${JSON.stringify((raw ?? '').slice(0, 40))}`,
    );
  return ms;
}

function durationSetting(name: string, raw: string | null, fallback: string, also = ''): number {
  const ms = parseDuration(raw ?? fallback);
  if (ms === null || ms < 60_000 || ms > 30 * 86_400_000)
    throw new SettingsError(
      `${name} must be ${also}a duration from 1m to 30d such as 24h, 90m or 2d, got ${JSON.stringify((raw ?? '').slice(0, 40))}`,
    );
  return ms;
}

function share(raw: string | null): number {
  if (raw === null) return DEFAULT_API_SHARE;
  const value = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw) || !(value > 0 && value <= 1))
    throw new SettingsError(
      `WATCHER_API_SHARE must be a fraction above 0 and at most 1 (the share of each ECS and Batch throttle bucket the watcher may take, such as 0.5), got ${JSON.stringify(raw.slice(0, 40))}`,
    );
  return value;
}

function regions(raw: string | null): string[] | null {
  if (raw === null) return null;
  const list = raw
    .split(',')
    .map((region) => region.trim())
    .filter(Boolean);
  const bad = list.find((region) => !isRegion(region));
  if (list.length === 0 || bad !== undefined) {
    throw new SettingsError(
      `WATCHER_REGIONS must be a comma list of regions such as us-east-1,eu-west-1, got ${JSON.stringify(raw)}`,
    );
  }
  return [...new Set(list)];
}

function action(raw: string | null): PolicyAction {
  if (raw === null) return 'notify';
  const found = POLICY_ACTIONS.find((candidate) => candidate === raw.toLowerCase());
  if (!found)
    throw new SettingsError(
      `WATCHER_DEFAULT_ACTION must be one of ${POLICY_ACTIONS.join(', ')}, got ${JSON.stringify(raw)}`,
    );
  return found;
}

function mutable(raw: string | null): 'redeploy' | 'notify' {
  if (raw === null) return 'redeploy';
  const value = raw.toLowerCase();
  if (value === 'redeploy' || value === 'notify') return value;
  throw new SettingsError(
    `WATCHER_MUTABLE_IMAGES must be redeploy or notify, got ${JSON.stringify(raw.slice(0, 40))}`,
  );
}

function bool(name: string, raw: string | null): boolean {
  if (raw === null) return false;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new SettingsError(`${name} must be true or false, got ${JSON.stringify(raw)}`);
}

function count(name: string, raw: string | null, fallback: number): number {
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > 10_000) {
    throw new SettingsError(
      `${name} must be a whole number from 0 to 10000, got ${JSON.stringify(raw)}`,
    );
  }
  return Number(raw);
}

function arn(name: string, raw: string | null, service: string): string | null {
  if (raw === null) return null;
  if (!raw.startsWith('arn:') || !raw.includes(service)) {
    throw new SettingsError(
      `${name} must be an ARN (arn:aws${service}REGION:ACCOUNT:NAME), got ${JSON.stringify(raw.slice(0, 80))}`,
    );
  }
  return raw;
}

/**
 * The state table: a name (in the home region), or its ARN, which also says its region (the CLI
 * then reads the stack's table wherever it scans).
 */
function stateTable(raw: string | null): {
  stateTable: string | null;
  stateTableRegion: string | null;
} {
  if (raw === null || !raw.startsWith('arn:')) return { stateTable: raw, stateTableRegion: null };
  const match =
    /^arn:aws(?:-cn|-us-gov)?:dynamodb:([a-z0-9-]+):\d{12}:table\/([A-Za-z0-9_.-]{3,255})$/.exec(
      raw,
    );
  if (!match || !isRegion(match[1] as string))
    throw new SettingsError(
      `WATCHER_STATE_TABLE must be a table name or a DynamoDB table ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME), got ${JSON.stringify(raw.slice(0, 120))}`,
    );
  return { stateTable: match[2] as string, stateTableRegion: match[1] as string };
}

function url(raw: string | null): string | null {
  if (raw === null) return null;
  if (!isWebhookUrl(raw)) {
    throw new SettingsError(
      'WATCHER_SLACK_WEBHOOK_URL must be an https:// URL (its value is not shown: it is a credential)',
    );
  }
  return raw;
}

/** An https:// URL, or plain http:// to this machine (a local stand-in for tests and the demo). */
export function isWebhookUrl(raw: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return false;
  }
  if (parsed.protocol === 'https:') return true;
  return (
    parsed.protocol === 'http:' &&
    (parsed.hostname === '127.0.0.1' || parsed.hostname === 'localhost')
  );
}

/**
 * Whether `name` is within `prefix`. Parameter names are compared with their leading slash
 * (`prod/db` and `/prod/db` are one parameter), so `/prod/` and `prod/` mean the same.
 */
export function withinPrefix(name: string, prefix: string | null): boolean {
  if (!prefix) return true;
  const slashed = (text: string) => (text.startsWith('/') ? text : `/${text}`);
  return slashed(name).startsWith(slashed(prefix));
}

/**
 * A duration such as `90s`, `30m`, `1h30m` or `24h` (a bare number is seconds), in milliseconds;
 * `null` when it is not one.
 */
export function parseDuration(raw: string): number | null {
  const text = raw.trim().toLowerCase();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!text || !match) return null;
  const [, d = '0', h = '0', m = '0', s = '0'] = match;
  return (((Number(d) * 24 + Number(h)) * 60 + Number(m)) * 60 + Number(s)) * 1000;
}
