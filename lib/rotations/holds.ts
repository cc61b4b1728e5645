// Another value's waves may hold a consumer a change's waves would let go: a restart reads every
// value the consumer reads, so it waits while a value it also reads is halted, or rolling for an
// older change and not there yet.
import type { CachedDefinition, Change, Consumer, Reference, Target } from '../domain/index.js';
import { valueKey } from '../events/index.js';
import type { PlannedAction } from '../plan.js';
import { CLEARED, type RotationRecord, recordPk } from './record.js';
import type { RunDeps } from './run.js';

/**
 * Why each of `restarts` waits for another value's waves (see heldElsewhere), by consumer ARN.
 * `staged`: the values this run's gate stages (their own waves decide); `oldest`: each consumer's
 * oldest staged change.
 */
export async function holdsElsewhere(
  restarts: PlannedAction[],
  mine: { staged: ReadonlySet<string>; oldest: ReadonlyMap<string, string> },
  deps: { store: RunDeps['rotations']['store']; cache: RunDeps['cache'] },
): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  const newest = new Map<string, Promise<RotationRecord | undefined | 'unreadable'>>();
  const newestOf = (pk: string) => {
    let found = newest.get(pk);
    if (!found) {
      found = deps.store
        .list(pk, 1)
        .then((records) => records[0])
        .catch(() => 'unreadable' as const);
      newest.set(pk, found);
    }
    return found;
  };
  for (const action of restarts) {
    const arn = action.consumer.arn;
    // Every value its definitions read, not only those this run's changes concern (discovery
    // has just read those definitions: the cache has them).
    const definitions = await deps.cache
      .getMany(
        action.consumer.runs.map((r) => r.definitionArn).filter(Boolean),
        async (missing) => ({ found: new Map(), failed: missing }),
      )
      .catch(() => new Map<string, CachedDefinition>());
    const targets = [
      ...action.consumer.references.map((ref) => ref.target),
      ...[...definitions.values()].flatMap((d) =>
        d.references.flatMap((ref: Reference) => (ref.target ? [ref.target] : [])),
      ),
    ];
    const why = await heldElsewhere(
      action.consumer,
      targets,
      { staged: mine.staged, since: mine.oldest.get(arn) ?? '' },
      newestOf,
    );
    if (why) held.set(arn, why);
  }
  return held;
}

/**
 * Why a consumer waits for another value's waves: the newest record of a value it reads (not one
 * this run stages) holds it among those still on the old value, not yet restarted by them, and
 * either its waves are halted (open, or closed overdue: the value is known to be bad) or they are
 * in flight for an older change than this consumer's own (`since`): the newer waits for the
 * older, never both for each other. A record that cannot be read holds it too.
 */
async function heldElsewhere(
  consumer: Consumer,
  targets: Target[],
  mine: { staged: ReadonlySet<string>; since: string },
  newestOf: (pk: string) => Promise<RotationRecord | undefined | 'unreadable'>,
): Promise<string | null> {
  const { staged, since } = mine;
  const values = new Map<string, { pk: string; name: string }>();
  for (const target of targets) {
    if (!target.name) continue;
    // A bare name is read in the consumer's own region and account.
    const value = {
      service: target.service,
      region: target.region ?? consumer.region,
      account: target.account ?? consumer.account,
      name: target.name,
      versionStage: target.service === 'secretsmanager' ? (target.versionStage ?? null) : null,
    } as Change;
    const key = valueKey(value);
    if (!staged.has(key)) values.set(key, { pk: recordPk(value), name: target.name });
  }
  for (const { pk, name } of values.values()) {
    const newest = await newestOf(pk);
    if (newest === 'unreadable')
      return `held back: it also reads ${name}, whose rotation records could not be read; the next run tries again`;
    const waves = newest?.waves;
    if (!newest || !waves) continue;
    const halted =
      waves.status === 'halted' && (newest.status === 'open' || newest.status === 'overdue');
    const older =
      newest.status === 'open' && waves.status === 'rolling' && newest.value.changedAt < since;
    if (!halted && !older) continue;
    const holds = newest.consumers.some((c) => c.arn === consumer.arn && !CLEARED.has(c.state));
    const restarted = waves.restarts.some((r) => r.arn === consumer.arn);
    // A member of that value's wave in flight is one its waves let go.
    const member =
      waves.status === 'rolling' && Boolean(waves.waves.at(-1)?.members.includes(consumer.arn));
    if (holds && !restarted && !member)
      return waves.status === 'halted'
        ? `held back: it also reads ${name}, whose waves are halted (${waves.halt?.reason ?? 'halted'}): a restart would read that value too`
        : `held back: it also reads ${name}, whose waves have not reached it yet: a restart would read that value too`;
  }
  return null;
}
