import type { ChannelKind } from '../domain/index.js';
import type { RotationRecord, Signal } from '../rotations/record.js';
import type { Rendered } from './fit.js';
import type { Summary } from './summary.js';

/** What a rotation record says when it closes (`lib/notify/signal.ts` has one entry per kind). */
export type SignalKind = Exclude<Signal, null>;

/** A run's report, summarised once: every channel renders this summary, never the report. */
export interface RunMessage {
  kind: 'run';
  summary: Summary;
}

/** A rotation record's signal: `Rotation Complete`, `Rotation Overdue`. */
export interface SignalMessage {
  kind: 'signal';
  signal: SignalKind;
  record: RotationRecord;
}

/** Everything the watcher tells people and programs: a message is one of these. */
export type Message = RunMessage | SignalMessage;

/**
 * One way out: SNS, Slack or EventBridge. It renders any message within its own limit (a
 * serialized size or a count of blocks; its default is the service's own) and sends what it
 * rendered. `send` resolves to what the outcome reports, and rejects with a NotifyError or the
 * SDK's error.
 */
export interface Channel<R = unknown> {
  readonly kind: ChannelKind;
  /** What outcomes name: the topic, the bus, or the webhook's parameter (never its URL). */
  readonly target: string;
  render(message: Message, limit?: number): Rendered<R>;
  send(rendered: R): Promise<string>;
}
