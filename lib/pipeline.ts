import { type ActionOutcome, execute } from './actions/index.js';
import type { AwsClients } from './aws/index.js';
import { type Settings, withinPrefix } from './config.js';
import { discover } from './discovery/index.js';
import type { Change, DiscoveryResult, Outcome } from './domain/index.js';
import { dedupeChanges, type RecordResult, valueKey } from './events/index.js';
import { concerns } from './gaps.js';
import { isChannelKind, notify, runMessage } from './notify/index.js';
import { worthTelling } from './notify/summary.js';
import { type Plan, type PlannedAction, plan } from './plan.js';
import { remember, sortOut } from './remind.js';
import { buildReport, plannedOutcomes, type RunReport } from './report.js';
import { gate } from './rotations/gate.js';
import { followRun, type RunDeps, withRestarts } from './rotations/index.js';
import { lookAtWaves, noteRestarts } from './rotations/stage.js';

import type { Leases } from './state/lease.js';
import type { ReminderStore } from './state/reminders.js';

/** What a run needs: what keeping records needs (lib/rotations), the state table's parts optional. */
export interface PipelineDeps extends Omit<RunDeps, 'rotations'> {
  /** Claims on consumers, when runs may overlap (the functions, with the state table). */
  leases?: Leases;
  /** Rotation records (the functions, with the state table), and the queue for follow-ups. */
  rotations?: RunDeps['rotations'];
  /** When each stale consumer was last told of (the functions, with the state table). */
  reminders?: ReminderStore;
}

/** Changes read from events (the Lambda, `simulate`), or a sweep of every referenced value. */
export type PipelineInput = { records: RecordResult[] } | { sweep: true };

export interface PipelineRun {
  report: RunReport;
  result: DiscoveryResult;
  plan: Plan;
  actions: ActionOutcome[];
  notifications: Outcome[];
  /** SQS message ids to hand back for a retry: unreadable, or touched by a failure. */
  failedRecords: string[];
  /**
   * The run reached its time limit before it had read the account: it acted on nothing, told
   * nobody, saved what it learned (the reference index) and hands every record back.
   */
  handedOver: boolean;
}

export interface PipelineOptions {
  /** Act and tell (the functions, `simulate --apply`), or only plan. */
  apply: boolean;
  /**
   * Epoch ms by which the account must have been read (the Lambda's remaining time less what
   * acting and telling need); reads that would start later are not sent.
   */
  readBy?: number;
  /**
   * Epoch ms by which restarts must have been sent (the Lambda's end less a margin); one that
   * would start later is not sent, fails, and its records come back.
   */
  actBy?: number;
  /**
   * The restarts a person confirmed (`kind#arn`, `drift --apply`): any other the plan now holds
   * (the account changed since the question) is skipped, not sent.
   */
  confirmed?: ReadonlySet<string>;
}

/**
 * The whole flow for one batch: changes → consumers → plan → actions → notifications. The
 * on-change Lambda, the sweep and `simulate` all run this one function. With `apply` false it
 * only plans; with WATCHER_DRY_RUN it plans and notifies but changes nothing.
 */
export function runPipeline(
  input: PipelineInput,
  deps: PipelineDeps,
  options: PipelineOptions,
): Promise<PipelineRun> {
  // Each run counts its own calls and keeps its own time limits (RunScope in lib/aws/clients.ts):
  // a Lambda container keeps its clients between runs, and runs may share them at once.
  return deps.clients.run(() => pipeline(input, deps, options));
}

async function pipeline(
  input: PipelineInput,
  deps: PipelineDeps,
  options: PipelineOptions,
): Promise<PipelineRun> {
  const { clients, cache, settings, regions } = deps;
  const records = 'records' in input ? input.records : [];
  const watch = (name: string) => withinPrefix(name, settings.namePrefix);
  // Waves in flight that a follow-up, an ECS or Batch event or the sweep brings: looked at first,
  // and the changes whose next wave may go are read with the run's own.
  const waves =
    options.apply && deps.rotations
      ? await clients.until(options.readBy, () =>
          lookAtWaves(
            records,
            { ...deps, rotations: deps.rotations as RunDeps['rotations'] },
            {
              sweep: 'sweep' in input,
            },
          ),
        )
      : { changes: [], outcomes: [] };
  const changes = dedupeChanges([
    ...records.flatMap((record) => record.changes),
    ...waves.changes,
  ]).filter((change) => watch(change.name));
  const read: DiscoveryResult =
    'sweep' in input || changes.length > 0
      ? await clients.until(options.readBy, () =>
          discover('sweep' in input ? { drift: true } : { changes }, {
            regions,
            clients,
            cache,
            now: deps.now,
            watch,
            moves: deps.moves,
          }),
        )
      : { changes: [], consumers: [], gaps: [], complete: true };
  if (read.gaps.some((gap) => gap.cause === 'time-limit'))
    return handOver(records, read, settings, clients);
  // What the watcher already did for these changes: a restart rolled back is not sent again.
  const result: DiscoveryResult =
    options.apply && deps.rotations
      ? {
          ...read,
          consumers: await withRestarts(read.consumers, read.changes, deps.rotations.store),
        }
      : read;
  // The restarts go out in waves (WATCHER_WAVES): those a wave does not let go now are held back.
  const gated = await gate(
    confirmedOnly(plan(result.consumers, settings), options.confirmed),
    result,
    deps,
    options.apply && !settings.dryRun,
  );
  const planned = gated.plan;
  const actions = options.apply
    ? await clients.until(options.actBy, () =>
        execute(planned.actions, { clients, dryRun: settings.dryRun, leases: deps.leases }),
      )
    : [];
  const outcomes: Outcome[] = options.apply
    ? actions.map(({ consumer: _, ref: _ref, ...outcome }) => outcome)
    : plannedOutcomes(planned);
  outcomes.push(...waves.outcomes, ...gated.outcomes);
  if (options.apply) outcomes.push(...(await noteRestarts(gated, actions, deps)));
  // The memory of each rotation, and the follow-ups that look again until it is complete.
  const followed =
    options.apply && deps.rotations
      ? await followRun(
          records,
          result,
          actions,
          { ...deps, rotations: deps.rotations },
          {
            open: !('sweep' in input),
            opened: gated.opened,
            actBy: options.actBy,
            decided: new Map(planned.decisions.map((d) => [d.consumer, d.action])),
          },
        )
      : { outcomes: [], retry: [] };
  outcomes.push(...followed.outcomes);
  const draft = buildReport(result, planned, outcomes, clients.counter.byApi());
  // A stale consumer nobody restarts is told of when first seen, when something about it
  // changes, and then once per WATCHER_REMIND_EVERY, not on every sweep.
  const sorted =
    options.apply && deps.reminders
      ? await sortOut(draft, result, planned, deps.reminders, settings)
      : { report: draft, told: [], outcomes: [] };
  const toTell = { ...sorted.report, actions: [...sorted.report.actions, ...sorted.outcomes] };
  // A rotation's signal told (Complete, Overdue, Halted) is its own message: not news for a report.
  const news = {
    ...toTell,
    actions: toTell.actions.filter(
      (action) => !(action.status === 'done' && isChannelKind(action.kind)),
    ),
  };
  const notifications =
    options.apply && worthTelling(news)
      ? await notify(runMessage(toTell), {
          clients,
          settings,
          region: deps.home,
          slack: deps.slack,
        })
      : [];
  const remembered = deps.reminders
    ? await remember(deps.reminders, sorted.told, notifications, settings)
    : [];
  const report = {
    ...draft,
    actions: [...draft.actions, ...sorted.outcomes, ...notifications, ...remembered],
    calls: clients.counter.byApi(),
    ...(sorted.report.quiet ? { quiet: sorted.report.quiet } : {}),
  };
  return {
    report,
    result,
    plan: planned,
    actions,
    notifications,
    failedRecords: [
      ...new Set([
        ...failedRecords(records, result, actions, notifications),
        ...followed.retry,
        // Changes whose waves could not be kept: held back now, their events come back.
        ...records.flatMap((record) =>
          record.recordId && record.changes.some((change) => gated.failed.has(valueKey(change)))
            ? [record.recordId]
            : [],
        ),
      ]),
    ],
    handedOver: false,
  };
}

/**
 * A run cut short by its time limit does nothing with the part it read: acting and telling on
 * it would be repeated, or contradicted, by the run that reads the whole account. The reference
 * index already holds what it described, so the next run gets further.
 */
function handOver(
  records: RecordResult[],
  read: DiscoveryResult,
  settings: Settings,
  clients: AwsClients,
): PipelineRun {
  const result = { ...read, consumers: [], complete: false };
  const planned = plan([], settings);
  return {
    report: buildReport(result, planned, [], clients.counter.byApi()),
    result,
    plan: planned,
    actions: [],
    notifications: [],
    // Ignored events and names outside the prefix have nothing to do again.
    failedRecords: records.flatMap((record) =>
      record.recordId && (record.error || record.changes.length > 0 || record.followUp)
        ? [record.recordId]
        : [],
    ),
    handedOver: true,
  };
}

/**
 * Which SQS records to retry. A record whose change touched a consumer whose action failed, or
 * whose run could not be told (a notification failed), or that a gap could concern (see
 * lib/gaps.ts: only while young for gaps that could concern anything), comes back; a retry is
 * safe because a restarted consumer is fresh and is not restarted twice.
 * Unreadable records come back too, and end in the dead-letter queue after the retries.
 */
function failedRecords(
  records: RecordResult[],
  result: DiscoveryResult,
  actions: ActionOutcome[],
  notifications: Outcome[],
): string[] {
  const failed = new Set<string>();
  const failedChanges = actions
    .filter((action) => action.status === 'failed' || action.retry)
    .flatMap((action) => action.consumer.changes);
  // Nobody was told: every record that carried a change comes back.
  const untold = notifications.some((outcome) => outcome.status === 'failed');
  for (const record of records) {
    if (!record.recordId) continue;
    if (record.error) failed.add(record.recordId);
    else if (
      record.changes.length > 0 &&
      (untold ||
        record.changes.some(
          (change) =>
            touches(change, failedChanges) ||
            result.gaps.some((gap) =>
              concerns(gap, change, result.consumers, record.receiveCount ?? 1),
            ),
        ))
    )
      failed.add(record.recordId);
  }
  return [...failed];
}

/**
 * Whether a record's change is about a value whose consumer's action failed. By value, not by
 * time: discovery judges an event's change by AWS's record, which has its own time.
 */
function touches(change: Change, failed: Change[]): boolean {
  const wanted = valueKey(change);
  return failed.some((other) => valueKey(other) === wanted);
}

/** The plan with every planned restart not among `confirmed` skipped (all kept without a set). */
function confirmedOnly(planned: Plan, confirmed: ReadonlySet<string> | undefined): Plan {
  if (!confirmed) return planned;
  return {
    ...planned,
    // Every unconfirmed restart, the cap's too (else the waves' gate, which spends the cap, would
    // send it).
    actions: planned.actions.map((action) => {
      if (action.status !== 'planned' && action.heldBy !== 'max-actions') return action;
      if (confirmed.has(restartKey(action))) return action;
      const { heldBy: _, ...rest } = action;
      return {
        ...rest,
        status: 'skipped',
        detail: 'not in what was confirmed (the account changed since): run it again to act',
      };
    }),
  };
}

/** How a confirmed restart is named: `redeploy#ARN`, `resubmit#ARN`. */
export function restartKey(action: Pick<PlannedAction, 'kind' | 'consumer'>): string {
  return `${action.kind}#${action.consumer.arn}`;
}
