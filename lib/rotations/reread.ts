import type { AwsClients } from '../aws/index.js';
import { CONSUMER_STRATEGIES, type Sighting } from '../consumers/index.js';
import type { Change, ConsumerReference, Gap } from '../domain/index.js';
import { resolveReference } from '../refs/index.js';
import { CLEARED, type Observation, type RecordedConsumer, type RotationRecord } from './record.js';

/**
 * The record's consumers as they are now, reading only them, each kind by its own strategy and
 * judged by discovery's own rule, so a follow-up and discovery never disagree on who may hold the
 * old value. A consumer whose read failed is not observed (it keeps its state) and the look is
 * incomplete; the others are still observed.
 */
export async function reread(
  record: RotationRecord,
  change: Change,
  clients: AwsClients,
  now: Date,
): Promise<{ observations: Observation[]; complete: boolean }> {
  const gaps: Gap[] = [];
  const open = record.consumers.filter((consumer) => !CLEARED.has(consumer.state));
  const look = { change, references: referencesOf(record), clients, now, gaps };
  const observations: Observation[] = [];
  let unread = 0;
  for (const strategy of Object.values(CONSUMER_STRATEGIES)) {
    const seen = await strategy.reread(
      open.filter((c) => c.kind === strategy.kind),
      look,
    );
    for (const { consumer, sighting } of seen.sightings)
      observations.push(observed(consumer, sighting));
    unread += seen.unread;
  }
  // A failed call is a gap; a service whose tasks could not be listed is counted in `unread`.
  return { observations, complete: unread === 0 && gaps.length === 0 };
}

function observed(consumer: RecordedConsumer, seen: Sighting): Observation {
  const { arn, kind, name, region, parent, action } = consumer;
  return { arn, kind, name, region, parent, action, ...seen };
}

/**
 * The record's value as a reference its consumers hold: a follow-up reads no task definition, so
 * every run of a recorded consumer counts as reading the value (it did when the record opened).
 */
function referencesOf(record: RotationRecord): ConsumerReference[] {
  const { value } = record;
  const spelled =
    value.arn ??
    (value.service === 'secretsmanager'
      ? `/aws/reference/secretsmanager/${value.name}`
      : value.name);
  const target = {
    ...resolveReference(spelled, { region: value.region, account: value.account }),
    ...(value.stage && value.stage !== 'AWSCURRENT' ? { versionStage: value.stage } : {}),
  };
  return [{ container: null, field: 'record', name: null, valueFrom: spelled, target }];
}
