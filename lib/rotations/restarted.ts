import type { Change, Consumer, RestartKind } from '../domain/index.js';
import { isRestart } from '../plan.js';
import { refersTo } from '../refs/index.js';
import { CLEARED, recordPk, recordSk } from './record.js';
import type { RotationStore } from './store.js';

/**
 * The consumers, each marked with what the watcher already restarted it with for a change it is
 * still stale for (its rotation record says so): a service redeployed for this change whose
 * deployment the circuit breaker rolled back looks as stale as before, and another redeploy would
 * end the same way. One record read per change; a record that cannot be read marks nothing (the
 * restart is then sent, and the lease still keeps it to one at a time).
 */
export async function withRestarts(
  consumers: Consumer[],
  changes: Change[],
  store: RotationStore,
): Promise<Consumer[]> {
  const restarted = new Map<string, RestartKind>();
  for (const change of changes.filter((c) => c.effect === 'value' && c.timeSource === 'aws')) {
    if (!consumers.some((consumer) => consumer.stale && holds(consumer, change))) continue;
    const record = await store.get(recordPk(change), recordSk(change)).catch(() => null);
    for (const consumer of record?.consumers ?? [])
      if (isRestart(consumer.action) && !CLEARED.has(consumer.state))
        restarted.set(consumer.arn, consumer.action);
  }
  if (restarted.size === 0) return consumers;
  return consumers.map((consumer) => {
    const action = restarted.get(consumer.arn);
    return action && consumer.stale ? { ...consumer, restarted: action } : consumer;
  });
}

const holds = (consumer: Consumer, change: Change) =>
  consumer.references.some((ref) => refersTo(ref.target, change));
