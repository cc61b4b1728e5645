/** A part of the account that could not be read: the answer is incomplete without it. */
export interface Gap {
  region: string;
  /** What was being read: a cluster or queue ARN, or a service name for account-wide calls. */
  scope: string;
  api: string;
  error: string;
  /** `time-limit`: the read was not sent because the run's time was up (see runPipeline). */
  cause?: 'time-limit';
}

/** Which changes a gap could concern, as far as what was read tells. */
export type GapScope =
  /** Only changes of values in this service and region (their metadata could not be read). */
  | { kind: 'values'; service: 'ssm' | 'secretsmanager'; region: string }
  /** Only the changes of consumers in this cluster, queue or job (their details are unknown). */
  | { kind: 'consumers'; region: string; parent: string }
  /** Any change: a consumer of it may be among what could not be listed. */
  | { kind: 'any' };
