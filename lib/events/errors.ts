/** Base class of every error the events module raises. */
export class EventError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventError';
  }
}

/** An event of a kind the watcher handles, but with fields missing or of the wrong type. */
export class MalformedEventError extends EventError {
  constructor(
    message: string,
    readonly path: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MalformedEventError';
  }
}
