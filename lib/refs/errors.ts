/** Base class of every error the reference model raises. */
export class RefsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RefsError';
  }
}

/** A `valueFrom` that names neither a Parameter Store parameter nor a Secrets Manager secret. */
export class InvalidReferenceError extends RefsError {
  constructor(
    readonly valueFrom: string,
    reason: string,
  ) {
    super(`invalid reference ${JSON.stringify(clip(valueFrom))}: ${reason}`);
    this.name = 'InvalidReferenceError';
  }
}

/** JSON that is neither a task definition nor a job definition in any accepted shape. */
export class UnrecognizedDefinitionError extends RefsError {
  constructor(reason: string) {
    super(reason);
    this.name = 'UnrecognizedDefinitionError';
  }
}

/** Shortens a user-supplied string for an error message. */
export function clip(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
