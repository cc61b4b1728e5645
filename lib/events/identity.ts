import type { Change } from '../domain/index.js';
import { parameterKey } from '../refs/index.js';

/** The same change delivered twice (at-least-once delivery) is reported once. */
export function dedupeChanges(changes: Change[]): Change[] {
  const seen = new Map<string, Change>();
  for (const change of changes) {
    const key = changeKey(change);
    if (!seen.has(key)) seen.set(key, change);
  }
  return [...seen.values()];
}

/**
 * What makes two changes the same change, whichever event (or copy of it) carried them: once AWS's
 * record is read, the value and its version at that time, however many events told of it.
 */
export function changeKey(change: Change): string {
  const when =
    change.timeSource === 'aws'
      ? `${change.version}|${change.changedAt}`
      : `${change.operation}|${change.changedAt}`;
  return `${valueKey(change)}|${change.effect}|${when}`;
}

/** Which value (and which of a secret's stages) a change is about, whatever its time. */
export function valueKey(change: Change): string {
  const name = change.service === 'ssm' ? parameterKey(change.name) : change.name;
  return `${change.service}|${change.region}|${change.account}|${name}|${change.versionStage ?? 'AWSCURRENT'}`;
}
