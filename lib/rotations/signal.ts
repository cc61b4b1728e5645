import type { ChannelKind, Outcome } from '../domain/index.js';
import { isChannelKind, notify, signalMessage } from '../notify/index.js';
import type { RotationRecord, Signal } from './record.js';
import { type FollowDeps, recordFailure } from './types.js';

/**
 * The channels a record says took its signal. Records written before the bus was named
 * `eventbridge` say `event`: that is the bus, so an old record is not told there twice.
 */
export function toldOf(record: Pick<RotationRecord, 'told'>): ChannelKind[] {
  const kinds = (record.told ?? []).map((kind) => (kind === 'event' ? 'eventbridge' : kind));
  return [...new Set(kinds)].filter(isChannelKind).sort();
}

/**
 * Sends the signal through notify to the watcher's topic, Slack and bus, each on its own, and
 * each only if it has not taken it yet. When every configured channel took it, the record notes
 * it was told and leaves the sweep's list; otherwise a later look tells it again (so a channel
 * may hear it twice, never zero times).
 */
export async function tell(
  record: RotationRecord,
  signal: Exclude<Signal, null>,
  deps: FollowDeps,
): Promise<Outcome[]> {
  const { clients, settings, home } = deps;
  // Each channel hears it once: one that keeps refusing does not make the others hear it again.
  const told = new Set(toldOf(record));
  const outcomes = await notify(signalMessage(record, signal), {
    clients,
    settings,
    region: home,
    slack: deps.slack,
    skip: [...told],
  });
  for (const outcome of outcomes)
    if (outcome.status === 'done' && isChannelKind(outcome.kind)) told.add(outcome.kind);
  const failed = outcomes.some((outcome) => outcome.status === 'failed');
  const at = (deps.now?.() ?? new Date()).toISOString();
  try {
    // Which channels took it, and, once all did, when it was told; until then it stays listed
    // for the sweep (and noted as not told: a record from before signals were noted would
    // otherwise count as told).
    await deps.store.update(record.pk, record.sk, (latest) => {
      if (!latest) return null;
      const before = toldOf(latest);
      const channels = [...new Set([...before, ...told])].sort();
      const signalled = failed ? (latest.signalled ?? null) : latest.signalled || at;
      if (signalled === latest.signalled && channels.length === before.length) return null;
      return { record: { ...latest, told: channels, signalled }, result: null };
    });
    if (failed) await deps.store.track(record);
    else await deps.store.untrack(record.pk, record.sk);
  } catch (error) {
    outcomes.push(
      recordFailure(
        record.value.name,
        failed
          ? 'could not be listed to tell it again'
          : 'could not note the signal as told (it may be told again)',
        error,
      ),
    );
  }
  return outcomes;
}
