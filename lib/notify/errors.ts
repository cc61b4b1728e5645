/**
 * Why a channel did not take a message. Each names what went wrong in one line a person can act
 * on, keeps the error it wraps as `cause`, and never holds the Slack webhook's URL: it is a
 * credential.
 */
export class NotifyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NotifyError';
  }
}

/** Slack did not take a post: an HTTP error after the retries, or no answer at all. */
export class SlackPostError extends NotifyError {
  /** Slack's last HTTP status; null when it could not be reached. */
  readonly status: number | null;

  constructor(message: string, status: number | null, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SlackPostError';
    this.status = status;
  }
}

/** PutEvents answered, but refused the entry (it answers 200 with a failed entry count). */
export class EventRefusedError extends NotifyError {
  readonly errorCode: string | null;

  constructor(errorCode: string | null, errorMessage: string | null) {
    super(`PutEvents refused the event: ${errorCode ?? 'unknown'} ${errorMessage ?? ''}`.trim());
    this.name = 'EventRefusedError';
    this.errorCode = errorCode;
  }
}

/** The webhook's SecureString could not be read (throttled, denied, missing, ...). */
export class WebhookReadError extends NotifyError {
  readonly parameter: string;

  constructor(parameter: string, detail: string, options?: ErrorOptions) {
    super(`could not read the Slack webhook from the parameter ${parameter}: ${detail}`, options);
    this.name = 'WebhookReadError';
    this.parameter = parameter;
  }
}

/** The webhook's SecureString holds something other than an https:// URL (not shown). */
export class WebhookValueError extends NotifyError {
  readonly parameter: string;

  constructor(parameter: string) {
    super(`the parameter ${parameter} does not hold an https:// webhook URL`);
    this.name = 'WebhookValueError';
    this.parameter = parameter;
  }
}

/** Stands in for an error whose message named the webhook: only its name is kept. */
export class WithheldError extends NotifyError {
  /** The name of the error it stands in for. */
  readonly original: string;

  constructor(original: string) {
    super(`${original} (its message named the webhook, so it is not kept)`);
    this.name = 'WithheldError';
    this.original = original;
  }
}
