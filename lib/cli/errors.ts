/** A problem with what the user asked or gave: printed as one line, never with a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit codes of the CLI (part of its contract). */
export const EXIT = {
  ok: 0,
  internal: 1,
  badInput: 2,
  incomplete: 3,
  actionFailed: 4,
  /** `wait`: the time ran out with consumers still on the old value. */
  timedOut: 5,
} as const;
