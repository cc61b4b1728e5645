import type { Change, Nudge } from '../domain/index.js';

/** What became of one event, or of one SQS record carrying an event. */
export interface RecordResult {
  /** The SQS messageId, `null` for an event delivered directly. */
  recordId: string | null;
  /** How many times SQS has delivered this record (ApproximateReceiveCount); 1 when unknown. */
  receiveCount?: number;
  changes: Change[];
  /** Why the event yields no change, when it is of a kind the watcher does not act on. */
  ignored: string | null;
  /** Why the record could not be read at all. */
  error: string | null;
  /** The watcher's own delayed message: look at this rotation record again. */
  followUp?: { pk: string; sk: string; chain?: string };
  /** An ECS deployment or a Batch job changed state: the waves that restarted it look again. */
  nudge?: Nudge;
}
