import type { Outcome } from '../domain/index.js';
import type { RunReport } from '../report.js';
import { type Colour, ellipsis, type Layout, paint, printable, table } from './table.js';

type ConsumerRow = RunReport['consumers'][number];

/**
 * What the STATE column says of a consumer, from the facts its reason is written from (the
 * verdict's `cause`, the decision's `basis`), so that the two never disagree:
 * - `alarm`: a value it references was deleted: it cannot start again;
 * - `gone`: its service was deleted, its tasks are stopping;
 * - `stale`: it may hold an old value and nothing is replacing it;
 * - `replacing`: it ran on an old value, but a deployment begun after the change (or ECS
 *   stopping them) is replacing those tasks;
 * - `fresh`: created after every change it reads;
 * - `queued`: a Batch job with no container yet: it will read the current value;
 * - `unaffected`: the changes do not alter what it reads (a pinned version, a label);
 * - `idle`: nothing of it runs.
 */
export type ConsumerState =
  | 'alarm'
  | 'gone'
  | 'stale'
  | 'replacing'
  | 'fresh'
  | 'queued'
  | 'unaffected'
  | 'idle';

export function stateOf(
  consumer: Pick<ConsumerRow, 'stale' | 'cause' | 'basis' | 'alarm'>,
): ConsumerState {
  if (consumer.alarm) return 'alarm';
  // A deleted service's tasks that still run on the old value are stale first.
  if (consumer.stale) return 'stale';
  if (consumer.basis === 'service-gone') return 'gone';
  return STATE_OF_CAUSE[consumer.cause];
}

const STATE_OF_CAUSE: Record<ConsumerRow['cause'], ConsumerState> = {
  'created-before': 'stale',
  'time-unknown': 'stale',
  replaced: 'replacing',
  'created-after': 'fresh',
  'not-started': 'queued',
  unaffected: 'unaffected',
  'no-run': 'idle',
};

const STATE_COLOUR: Record<ConsumerState, Colour> = {
  alarm: 'red',
  gone: 'dim',
  stale: 'red',
  replacing: 'yellow',
  fresh: 'green',
  queued: 'green',
  unaffected: 'dim',
  idle: 'dim',
};

/** The sentence that explains the STATE: why it is stale, or what the decision rests on. */
export function whyOf(consumer: ConsumerRow): string {
  return consumer.stale && !consumer.alarm ? consumer.staleReason : consumer.reason;
}

/**
 * A run as people read it: one row per consumer (REGION only when the run spans several), the
 * count by state, then what was done or would be done. `empty` is said when no consumer is listed.
 */
export function renderRun(report: RunReport, empty: string, layout: Layout): string {
  const lines: string[] = [];
  const { consumers } = report;
  if (consumers.length === 0) {
    lines.push(empty);
  } else {
    const regions = new Set(consumers.map((c) => c.region));
    const several = regions.size > 1;
    const header = ['KIND', 'NAME', ...(several ? ['REGION'] : []), 'RUNNING', 'STATE'];
    header.push('ACTION', 'WHY');
    const states = consumers.map(stateOf);
    const rows = consumers.map((c, i) =>
      [
        c.kind,
        c.name,
        ...(several ? [c.region] : []),
        String(c.running),
        states[i] as ConsumerState,
        c.action,
        whyOf(c),
      ].map(printable),
    );
    const why = header.length - 1;
    const state = header.indexOf('STATE');
    lines.push(
      table(header, rows, {
        width: layout.width,
        cut: [why, header.indexOf('NAME')],
        paint: (cell, row, column) =>
          column === state
            ? paint(cell, STATE_COLOUR[states[row] as ConsumerState], layout.colour)
            : cell,
      }).trimEnd(),
    );
    lines.push('', summary(states, several ? null : ([...regions][0] ?? null)));
  }
  // No outcome is a planned notification (kinds are restarts, channels and the table's steps).
  if (report.actions.length) {
    lines.push('', 'Actions:');
    const verbs = report.actions.map(verbOf);
    const pad = Math.max(...verbs.map((verb) => verb.length));
    report.actions.forEach((action, i) => {
      const verb = (verbs[i] as string).padEnd(pad);
      const text = `  ${verb}  ${printable(action.target)}${action.detail ? ` — ${printable(action.detail)}` : ''}`;
      const fitted = layout.width === null ? text : ellipsis(text, layout.width);
      lines.push(action.status === 'failed' ? paint(fitted, 'red', layout.colour) : fitted);
    });
  }
  return `${lines.join('\n')}\n`;
}

/** `3 consumers, 2 stale, 1 replacing in us-east-1`: the count by the states that need a look. */
function summary(states: ConsumerState[], region: string | null): string {
  const count = (wanted: ConsumerState) => states.filter((state) => state === wanted).length;
  const stale = count('stale');
  const extra = (['replacing', 'alarm'] as const)
    .filter((state) => count(state) > 0)
    .map((state) => `, ${count(state)} ${state}`)
    .join('');
  const where = region ? ` in ${region}` : '';
  return `${states.length} consumer${states.length === 1 ? '' : 's'}, ${stale} stale${extra}${where}`;
}

/**
 * What an outcome says it did, in words that match what the command does: a plan says
 * `would redeploy`, a run that acted `redeployed`.
 */
export function verbOf(action: Pick<Outcome, 'kind' | 'status'>): string {
  const { kind, status } = action;
  if (kind === 'redeploy' || kind === 'resubmit') {
    if (status === 'planned') return `would ${kind}`;
    if (status === 'done') return kind === 'redeploy' ? 'redeployed' : 'resubmitted';
    return `${kind} ${status}`;
  }
  if (kind === 'sns' || kind === 'slack' || kind === 'eventbridge') {
    if (status === 'planned') return `would notify (${kind})`;
    if (status === 'done') return `notified (${kind})`;
    return `${kind} ${status}`;
  }
  return `${kind} ${status}`;
}
