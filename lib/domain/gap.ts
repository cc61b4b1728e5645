import type { TargetService } from './reference.js';

/** A part of the account that could not be read: the answer is incomplete without it. */
export interface Gap {
  region: string;
  /** What was being read, for people: a cluster or queue ARN, or a service name for account-wide calls. */
  scope: string;
  api: string;
  error: string;
  /** Which changes it could concern, set by the read that failed (see lib/gaps.ts). */
  affects: GapScope;
  /** `time-limit`: the read was not sent because the run's time was up (see runPipeline). */
  cause?: 'time-limit';
}

/** Which changes a gap could concern, as far as what was read tells. */
export type GapScope =
  /** Only changes of values in this service and region (their metadata could not be read). */
  | { kind: 'values'; service: TargetService; region: string }
  /**
   * Only the changes of known consumers in this region (their details are unknown): those of
   * this cluster, queue or job (`parent`, the consumer's parent or its own ARN), or of any
   * (`null`).
   */
  | { kind: 'consumers'; region: string; parent: string | null }
  /** Any change: a consumer of it may be among what could not be listed. */
  | { kind: 'any' };
