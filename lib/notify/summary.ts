import type { RunReport } from '../report.js';

export type Severity = 'alarm' | 'action' | 'info';

/** What a run's notification says first: how bad, and in one line. */
export interface Summary {
  severity: Severity;
  title: string;
  stale: number;
  failed: number;
  names: string[];
}

/** Whether a run has anything a person should hear about. */
export function worthTelling(report: RunReport): boolean {
  return (
    // A consumer tagged ignore is not news, stale or not.
    report.consumers.some(
      (consumer) =>
        (consumer.stale && consumer.action !== 'ignore') || consumer.action === 'notify',
    ) ||
    report.actions.some((action) => action.status !== 'planned') ||
    !report.complete
  );
}

export function summarize(report: RunReport): Summary {
  const stale = report.consumers.filter((consumer) => consumer.stale).length;
  const failed = report.actions.filter((action) => action.status === 'failed').length;
  const alarm = report.consumers.some((consumer) => consumer.alarm);
  const restarted = report.actions.filter((action) => action.status === 'done').length;
  const names = [...new Set(report.changes.map((change) => change.name))];
  const severity: Severity =
    alarm || failed > 0 || !report.complete ? 'alarm' : restarted > 0 ? 'action' : 'info';
  const what =
    names.length === 1 ? `the old ${names[0] as string}` : `old values (${names.length} changed)`;
  const parts = [`${stale} consumer${stale === 1 ? '' : 's'} still on ${what}`];
  if (restarted) parts.push(`${restarted} restarted`);
  if (failed) parts.push(`${failed} failed`);
  if (alarm) parts.push('a referenced value was deleted');
  if (!report.complete) parts.push('answer incomplete');
  return { severity, title: `rotation-watcher: ${parts.join(', ')}`, stale, failed, names };
}

/** A plain-text rendering for e-mail and logs: one line per change, consumer and failure. */
export function renderText(report: RunReport): string {
  const summary = summarize(report);
  const lines = [summary.title, '', 'What changed:'];
  for (const change of report.changes) {
    lines.push(
      `  - ${change.service === 'ssm' ? 'parameter' : 'secret'} ${oneLine(change.name)} in ${change.region}: ${oneLine(change.operation, 64)} at ${change.changedAt}`,
    );
  }
  lines.push('', 'Consumers:');
  if (report.consumers.length === 0) lines.push('  (none running)');
  for (const consumer of report.consumers) {
    const outcome = report.actions.find((action) => action.target === consumer.arn);
    const state = consumer.stale ? 'STALE' : 'fresh';
    const did = outcome
      ? `${outcome.kind} ${outcome.status}: ${oneLine(outcome.detail)}`
      : `${consumer.action}: ${oneLine(consumer.reason)}`;
    lines.push(
      `  - [${state}] ${consumer.kind} ${oneLine(consumer.name)} (${consumer.region}) — ${did}`,
    );
  }
  const cut = (report as RunReport & { truncated?: number }).truncated;
  if (cut) lines.push(`  … and ${cut} more, left out to fit the message (the logs list them all)`);
  if (report.gaps.length) {
    lines.push('', 'Not read (the answer is incomplete):');
    for (const gap of report.gaps)
      lines.push(`  - ${oneLine(gap.scope)} in ${gap.region} (${gap.api}): ${oneLine(gap.error)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Flattens a string to one printable line of at most `max` characters. */
export function oneLine(text: string, max = 300): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
