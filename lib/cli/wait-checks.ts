// What `wait` judges beyond its consumers, from the value's own metadata: whether the value
// exists, whether a rotation is still under way, whether the version waited for is current, and
// whether every replica caught up; and what it says of waves a rotation record says are halted.
// Pure, so each rule is tested on its own.
import type { Change, Target } from '../domain/index.js';
import type { Halt } from '../rotations/waves.js';
import { printable } from './table.js';

/** The one version `--version` waits for, and whether it was ever seen current. */
export interface WantedVersion {
  id: string;
  seenCurrent: boolean;
}

const PENDING_NOTE = 'a rotation is in progress (or failed and left AWSPENDING behind)';

/**
 * The line that names what `wait` looked up (as the user spelled it), when nothing of that name
 * exists and nothing uses it.
 */
export function notFoundMessage(
  target: Target,
  given: string,
  region: string,
  otherKindExists: boolean,
): string {
  const kind = target.service === 'ssm' ? 'parameter' : 'secret';
  const other = target.service === 'ssm' ? 'secret' : 'parameter';
  const named = printable(given);
  const hint = otherKindExists
    ? `a ${other} of that name exists: ${target.service === 'ssm' ? 'add' : 'drop'} --secret`
    : `check the name${target.service === 'ssm' ? ' (or add --secret for a secret)' : ''}`;
  return `no ${kind} named ${named} in ${region}, and no running consumer references it; ${hint}`;
}

/**
 * Why `--version` cannot be waited for, or `null` when it can: the current version (wait as usual)
 * or a later one (it may become current). An older one cannot be timed without reading its
 * history, and GetParameterHistory returns values.
 */
export function versionRefusal(value: Change, wanted: string): string | null {
  const named = printable(value.name);
  if (value.service === 'ssm') {
    if (!/^[1-9][0-9]*$/.test(wanted))
      return `--version of a parameter is its version number (1, 2, ...), got ${JSON.stringify(wanted.slice(0, 40))}`;
    const current = Number(value.version);
    if (!Number.isFinite(current) || Number(wanted) >= current) return null;
    return `version ${wanted} of ${named} is older than its current version ${current}: wait cannot time an old version; leave out --version to wait for the current one`;
  }
  if (wanted === value.version || wanted === value.pendingVersion) return null;
  return `version ${printable(wanted)} of secret ${named} is neither AWSCURRENT (${printable(value.version ?? 'none')}) nor AWSPENDING: wait cannot time an old version; leave out --version to wait for the current one (a rotation just started shows its version once its createSecret step ran: retry then)`;
}

/**
 * Why nothing is complete yet, whatever the consumers: a rotation under way, the version waited
 * for not current yet, a replica not caught up with its primary. Empty when none holds.
 */
export function holdups(
  value: Change | null,
  changes: Change[],
  wanted: WantedVersion | null,
): string[] {
  if (!value || value.missing) return [];
  const out: string[] = [];
  const current = value.version ?? 'none';
  if (value.pendingVersion)
    out.push(
      `${PENDING_NOTE}: AWSPENDING on version ${printable(value.pendingVersion)}; AWSCURRENT still on ${printable(current)}`,
    );
  const waitingFor = wanted ? versionHoldup(value, wanted) : null;
  if (waitingFor) out.push(waitingFor);
  for (const replica of value.replicas ?? []) {
    const seen = changes.find(
      (change) => change.service === value.service && change.region === replica.region,
    );
    if (seen?.version && value.version && seen.version !== value.version)
      out.push(
        `the replica in ${replica.region} is still on version ${printable(seen.version)} (the primary's AWSCURRENT is ${printable(value.version)})`,
      );
  }
  return out;
}

function versionHoldup(value: Change, wanted: WantedVersion): string | null {
  if (wanted.id === value.version) return null;
  if (value.service === 'ssm') {
    const current = Number(value.version);
    return Number(wanted.id) > current
      ? `version ${wanted.id} is not current yet (the current version is ${printable(value.version ?? 'unknown')})`
      : null;
  }
  // The rotation under way is already said: AWSPENDING on this very version.
  if (wanted.id === value.pendingVersion) return null;
  // Current once and replaced since: a newer value, waited for as usual (stricter, never looser).
  if (wanted.seenCurrent) return null;
  return `version ${printable(wanted.id)} is no longer pending and never became current (AWSCURRENT is on ${printable(value.version ?? 'none')}): the rotation may have failed`;
}

/**
 * What `wait` says of a rotation whose waves are halted: the halt's reason (and the restart that
 * failed), and the command that lets the waves go on. Halted waves never make anything complete:
 * the consumers they hold back still run the old value, and `wait` judges by those.
 */
export function haltedNote(halt: Halt, resume: string): string {
  const on = halt.name ?? halt.consumer;
  const failed = on ? `the restart of ${on}${halt.ref ? ` (${halt.ref})` : ''} failed: ` : '';
  const why = halt.by === 'person' ? ' by hand' : `: ${failed}${halt.reason.replace(/\.$/, '')}`;
  return printable(`the waves are halted${why}; nothing more is restarted until \`${resume}\``);
}

/** The halt as `wait --json` gives it: null when the waves are not halted (or not known). */
export function haltedAnswer(halt: Halt | null, resume: string) {
  if (!halt) return null;
  const { at, by, reason, consumer, name, ref, stopped } = halt;
  return { at, by, reason, consumer, name, ref, stopped, resume };
}
