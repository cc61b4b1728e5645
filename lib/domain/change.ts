import type { ChangedValue } from './reference.js';

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
  /**
   * When the change happened as AWS records it (ISO 8601): a consumer created before it may hold
   * the old value. From the value's metadata when it could be read (`timeSource: 'aws'`), else
   * the event's time (`timeSource: 'event'`).
   */
  changedAt: string;
  /** Where `changedAt` comes from: AWS's record of the value, or only the event that told of it. */
  timeSource: 'aws' | 'event';
  /**
   * Which fact of AWS's record decided `changedAt` (see lib/discovery/moves.ts): a secret's label
   * move is recorded nowhere, so its time is the tightest one provably not earlier than the move.
   */
  timeBasis?: 'event' | 'last-changed' | 'first-sight' | 'look' | 'last-modified';
  /** The event's own time, when an event told of the change (a late or replayed copy's is later). */
  eventTime: string | null;
  /**
   * The version AWS records as current, when metadata was read: a parameter's version number, a
   * secret's AWSCURRENT version id. Two deliveries of one change name the same version.
   */
  version: string | null;
  /** Secrets Manager: the version the moved label now points to, when the event says. */
  versionId: string | null;
  /**
   * Secrets Manager, read from metadata: a version that holds AWSPENDING without AWSCURRENT. A
   * rotation is then in progress (or failed and left it behind): AWSCURRENT is about to move.
   */
  pendingVersion?: string | null;
  /**
   * Secrets Manager, read from the primary's metadata: its replicas. Each has its own ARN in its
   * region, and consumers there read the replica, which follows the primary after a delay.
   */
  replicas?: ReplicaValue[];
  /** Read from metadata: no such value exists at all (not merely scheduled for deletion). */
  missing?: boolean;
  /** The EventBridge event id, for tracing a change back to its event. */
  eventId: string;
  /** The EventBridge detail-type it came from. */
  detailType: string;
}

/** A replica of a secret, as the primary's DescribeSecret `ReplicationStatus` lists it. */
export interface ReplicaValue {
  region: string;
  /** The replica's own ARN: the primary's name and suffix in the replica's region. */
  arn: string | null;
  /** InSync, InProgress or Failed, as AWS says; `null` when it does not. */
  status: string | null;
}
