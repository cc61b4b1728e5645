/** Base class of every error lib/consumers raises. */
export class ConsumerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConsumerError';
  }
}

/** The consumer was deleted between discovery and the action: nothing to restart, nothing failed. */
export class ConsumerGoneError extends ConsumerError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConsumerGoneError';
  }
}

/**
 * A failure after which AWS may have changed something: the answer to a restart was lost and the
 * read-back did not show it, or a resubmit's job was submitted but the old one not terminated.
 */
export class MayHaveChanged extends ConsumerError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MayHaveChanged';
  }
}

/**
 * A consumer that cannot be restarted as it stands: its kind is never restarted, or discovery
 * left out what the restart needs (a service's cluster, a job's details). Nothing was sent.
 */
export class NotRestartableError extends ConsumerError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NotRestartableError';
  }
}
