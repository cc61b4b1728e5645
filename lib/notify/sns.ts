import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import { bytes, type Rendered } from './fit.js';
import { renderSnsJson, SNS_LIMIT } from './json.js';
import { SIGNALS, signalTitle } from './signal.js';
import { renderSignalText } from './text.js';
import type { Message } from './types.js';

/** A Publish without its topic: the topic is a setting, not part of the message. */
export interface SnsPublish {
  Subject: string;
  Message: string;
  MessageStructure?: 'json';
  MessageAttributes: Record<
    string,
    MessageAttributeValue & { DataType: string; StringValue: string }
  >;
}

/**
 * A message as the topic carries it, within `limit` bytes as SNS counts a Publish (message,
 * subject and attributes). A run: one MessageStructure `json` message, readable text for e-mail,
 * the JSON report for queues, Lambdas and HTTPS, with attributes `severity`, `parameter` (the
 * changed names) and `stale`. A signal: its text, with attribute `severity`.
 */
export function renderSns(message: Message, limit = SNS_LIMIT): Rendered<SnsPublish> {
  if (message.kind === 'run') {
    const { summary } = message;
    const Subject = asciiSubject(summary.title);
    const MessageAttributes = {
      severity: { DataType: 'String', StringValue: summary.severity },
      // Filter policies match whole names; no real name is longer than 2,048 characters.
      parameter: {
        DataType: 'String.Array',
        StringValue: JSON.stringify(
          summary.names.filter((name) => name.length <= 2048).slice(0, 20),
        ),
      },
      stale: { DataType: 'Number', StringValue: String(summary.stale) },
    };
    const rendered = renderSnsJson(summary, limit - overhead(Subject, MessageAttributes));
    return {
      message: { Subject, MessageStructure: 'json', Message: rendered.message, MessageAttributes },
      omitted: rendered.omitted,
    };
  }
  const { record, signal } = message;
  const Subject = asciiSubject(signalTitle(record, signal));
  const MessageAttributes = {
    severity: { DataType: 'String', StringValue: SIGNALS[signal].severity },
  };
  const text = renderSignalText(record, signal, limit - overhead(Subject, MessageAttributes));
  return { message: { Subject, Message: text.message, MessageAttributes }, omitted: text.omitted };
}

/** SNS subjects: ASCII, no line breaks, at most 100 characters. */
export function asciiSubject(title: string): string {
  const ascii = title.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > 100 ? `${ascii.slice(0, 99)}~` : ascii;
}

/** What SNS counts against the limit besides the message: the subject and each attribute. */
function overhead(
  subject: string,
  attributes: Record<string, { DataType: string; StringValue: string }>,
): number {
  return (
    bytes(subject) +
    Object.entries(attributes).reduce(
      (sum, [name, value]) => sum + bytes(name) + bytes(value.DataType) + bytes(value.StringValue),
      0,
    )
  );
}
