/** Base class of every error lib/rotations raises. */
export class RotationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RotationError';
  }
}

/** A write lost to another run's write of the same record, more often than it was retried. */
export class RecordContentionError extends RotationError {
  constructor(key: string, attempts: number) {
    super(`the rotation record ${key} kept changing under this run (${attempts} attempts)`);
    this.name = 'RecordContentionError';
  }
}

/**
 * A follow-up (a message, or the sweep's list) names keys that are not a rotation record's: it
 * is not looked at, and its message comes back until the dead-letter queue takes it.
 */
export class NotARecordError extends RotationError {
  constructor(
    readonly pk: string,
    readonly sk: string,
  ) {
    super(
      `not a rotation record's key: ${JSON.stringify(pk.slice(0, 80))} ${JSON.stringify(sk.slice(0, 80))}`,
    );
    this.name = 'NotARecordError';
  }
}
