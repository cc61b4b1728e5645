import type { AwsClients } from '../aws/index.js';
import { describeError } from '../aws/index.js';
import type { Settings } from '../config.js';
import type { Outcome } from '../domain/index.js';
import type { PostOptions } from '../notify/slack.js';
import type { Observation, RotationRecord } from './record.js';
import type { RotationStore } from './store.js';

/** The body of the delayed message that brings a record back for a follow-up. */
export interface FollowUpMessage {
  'rotation-watcher': 'follow-up';
  pk: string;
  sk: string;
  /** Which link of the record's chain this is (`RotationRecord.nextLook`); absent in older ones. */
  chain?: string;
}

export interface FollowDeps {
  clients: AwsClients;
  store: RotationStore;
  settings: Settings;
  /** The watcher's own region (its topic, bus and queue). */
  home: string;
  /** The regions its looks scan for consumers (what a record says it covered). */
  regions?: string[];
  /** The changes queue, for delayed follow-ups; none: records are only looked at again by the sweep. */
  queueUrl: string | null;
  now?: () => Date;
  slack?: PostOptions;
  /**
   * A look at the whole account for a record's value (discovery). A record no such look has read
   * whole (its opening look had gaps) is followed up with it instead of a re-read of the consumers
   * it knows, which cannot find those it missed. None: such records wait for an event or a sweep.
   */
  lookWhole?: (
    record: RotationRecord,
  ) => Promise<{ observations: Observation[]; complete: boolean }>;
}

/** A step of keeping a record that failed, as a run's outcome. */
export function recordFailure(name: string, what: string, error: unknown): Outcome {
  return {
    kind: 'record',
    target: name,
    status: 'failed',
    detail: `the rotation record ${what}: ${describeError(error)}`,
  };
}
