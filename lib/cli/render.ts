import type { Outcome } from '../domain/index.js';
import type { RunReport } from '../report.js';
import type { RotationRecord } from '../rotations/index.js';
import type { Halt, Waves } from '../rotations/waves.js';
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

/**
 * The staged restarts of one record: a line on the waves, then for an open record a row per wave
 * (the first is the canary) and a row per restart, and the halt with what resumes it. A closed
 * record's waves are history: one line, and its halt if any.
 */
export function renderWaves(record: RotationRecord, layout: Layout, resume: string): string {
  const waves = record.waves as Waves;
  const failed = waves.restarts.filter((restart) => restart.state === 'failed').length;
  const lines = [
    `Waves of the change at ${printable(record.value.changedAt)}${record.value.version ? ` (version ${printable(record.value.version)})` : ''}: ${paint(waves.status, WAVES_COLOUR[waves.status], layout.colour)} (WATCHER_WAVES ${printable(waves.spec)}), ${count(waves.waves.length, 'wave')}, ${count(waves.restarts.length, 'restart')}${failed ? `, ${failed} failed` : ''}`,
  ];
  const indent = (text: string) =>
    text
      .trimEnd()
      .split('\n')
      .map((line) => `  ${line}`);
  const width = layout.width === null ? null : Math.max(40, layout.width - 2);
  if (record.status === 'open' && waves.waves.length > 0) {
    lines.push(
      ...indent(
        table(
          ['WAVE', 'MEMBERS', 'OPENED', 'SETTLED', 'BAKED UNTIL'],
          waves.waves.map((wave, index) =>
            [
              index === 0 ? '1 canary' : String(index + 1),
              String(wave.members.length),
              wave.openedAt,
              wave.settledAt ?? '-',
              wave.bakedAt ?? '-',
            ].map(printable),
          ),
          { width },
        ),
      ),
    );
    if (waves.restarts.length > 0) {
      const header = ['WAVE', 'CONSUMER', 'KIND', 'REF', 'STATE', 'REASON'];
      const rows = waves.restarts.map((restart) =>
        [
          String(restart.wave + 1),
          restart.name,
          restart.kind,
          restart.ref ?? '-',
          restart.state,
          restart.reason ?? '-',
        ].map(printable),
      );
      const state = header.indexOf('STATE');
      lines.push(
        ...indent(
          table(header, rows, {
            width,
            cut: [header.indexOf('REASON'), header.indexOf('CONSUMER'), header.indexOf('REF')],
            paint: (cell, row, column) =>
              column === state && waves.restarts[row]?.state === 'failed'
                ? paint(cell, 'red', layout.colour)
                : cell,
          }),
        ),
      );
    }
  }
  if (waves.halt) {
    lines.push(...haltText(waves.halt).map((line) => `  ${line}`));
    if (record.status === 'open')
      lines.push(`  Nothing more is restarted until \`${resume}\` (once the value is fixed).`);
  }
  const resumed = waves.resumed ?? [];
  const last = resumed.at(-1);
  if (last)
    lines.push(
      `  Resumed ${count(resumed.length, 'time')}, last at ${printable(last.resumedAt)} (halted: ${printable(last.reason)})`,
    );
  return `${lines.join('\n')}\n`;
}

/** A halt as people read it: when, by whom, on which restart, and AWS's reasons (a line each). */
export function haltText(halt: Halt): string[] {
  const who = halt.by === 'person' ? 'by hand' : 'by the watcher';
  const on = halt.name ?? halt.consumer;
  const where = on ? `: ${on}${halt.ref ? ` (${halt.ref})` : ''}` : '';
  const lines = [`Halted at ${halt.at} ${who}${where}: ${halt.reason}`];
  if (halt.stopped.length) lines.push(`stopped tasks: ${halt.stopped.join('; ')}`);
  return lines.map(printable);
}

const WAVES_COLOUR: Record<Waves['status'], Colour> = {
  rolling: 'yellow',
  halted: 'red',
  done: 'green',
};

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
