import type { ChangedValue } from '../refs/index.js';

/**
 * One change to one parameter or secret, whatever event announced it. Everything downstream
 * (discovery, plan, report) looks at this, never at the raw event.
 */
export interface Change extends ChangedValue {
  partition: string;
  region: string;
  /** `null` only for a change read from metadata whose account is not known (a bare name's). */
  account: string | null;
  /** The AWS operation: Update, Delete, PutSecretValue, RotationSucceeded, Expiration, ... */
  operation: string;
  /** When the change happened (ISO 8601): consumers that started before it hold the old value. */
  changedAt: string;
  /** Secrets Manager: the version the moved label now points to, when the event says. */
  versionId: string | null;
  /** The EventBridge event id, for tracing a change back to its event. */
  eventId: string;
  /** The EventBridge detail-type it came from. */
  detailType: string;
}

/** What became of one event, or of one SQS record carrying an event. */
export interface RecordResult {
  /** The SQS messageId, `null` for an event delivered directly. */
  recordId: string | null;
  changes: Change[];
  /** Why the event yields no change, when it is of a kind the watcher does not act on. */
  ignored: string | null;
  /** Why the record could not be read at all. */
  error: string | null;
}
