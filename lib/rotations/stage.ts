// Staged restarts in a run: the gate before acting (which restarts the waves let go now, the
// record opened or updated first so that two runs never send two canaries), the note after it
// (what each wave sent), and the look at the waves in flight that events and follow-ups bring
// (settled, baked, or halted with `Rotation Halted`). The rules are lib/rotations/waves.ts.

import type { ActionOutcome } from '../actions/index.js';
import { describeError } from '../aws/index.js';
import type { Change, Consumer, DiscoveryResult, Nudge, Outcome } from '../domain/index.js';
import { type RecordResult, valueKey } from '../events/index.js';
import { notify, signalMessage } from '../notify/index.js';
import type { Plan, PlannedAction } from '../plan.js';
import { isRestart } from '../plan.js';
import { refersTo } from '../refs/index.js';
import { openRecord } from './follow.js';
import { changeOf, movesWhatIsRead, observationsOf } from './observations.js';
import { type RotationRecord, recordPk, recordSk } from './record.js';
import type { RunDeps } from './run.js';
import { toldOf } from './signal.js';
import { recordFailure } from './types.js';
import { readFacts } from './wave-reads.js';
import {
  admit,
  type Candidate,
  noteSent,
  settle,
  specText,
  WAVE_TAG,
  type Waves,
  wantsRun,
} from './waves.js';

/** One change whose restarts the gate staged, and the record that keeps its waves. */
export interface Staged {
  change: Change;
  pk: string;
  sk: string;
  /** The consumers (ARNs) the plan would restart for it. */
  candidates: Set<string>;
}

export interface Gate {
  plan: Plan;
  staged: Staged[];
  /** Records the gate opened (`PK SK`): the run records them as opened by it. */
  opened: Set<string>;
  outcomes: Outcome[];
}

/**
 * Holds back every planned restart its changes' waves do not let go now. A consumer stale for
 * several changes goes only when each of them lets it (a restart would carry every new value at
 * once). Without the state table the waves cannot be remembered: only the canary goes, each run.
 */
export async function gate(
  planned: Plan,
  result: DiscoveryResult,
  deps: Omit<RunDeps, 'rotations'> & { rotations?: RunDeps['rotations'] },
  /** Write the waves (a run that acts); else only read them, to show what a run would do. */
  persist = true,
): Promise<Gate> {
  const { settings } = deps;
  const none: Gate = { plan: planned, staged: [], opened: new Set(), outcomes: [] };
  if (settings.waves === 'all') return none;
  const steps = settings.waves;
  const spec = specText(steps);
  const now = deps.now?.() ?? new Date();
  const restarts = planned.actions.filter((action) => isRestart(action.kind));
  if (restarts.length === 0) return none;
  const held = new Map<string, string>();
  const admittedBy = new Map<string, number>();
  const wanted = new Map<string, number>();
  const gate: Gate = { ...none, plan: planned };
  for (const change of result.changes.filter(
    (c) => c.effect === 'value' && movesWhatIsRead(c, result.consumers),
  )) {
    const mine = restarts.filter(
      (action) =>
        action.consumer.stale &&
        action.consumer.references.some((ref) => refersTo(ref.target, change)),
    );
    if (mine.length === 0) continue;
    for (const action of mine)
      wanted.set(action.consumer.arn, (wanted.get(action.consumer.arn) ?? 0) + 1);
    const candidates = mine.map((action) => candidateOf(action.consumer));
    const let_ = (admitted: Set<string>, why: Map<string, string>) => {
      for (const arn of admitted) admittedBy.set(arn, (admittedBy.get(arn) ?? 0) + 1);
      for (const [arn, reason] of why) if (!held.has(arn)) held.set(arn, reason);
    };
    if (!deps.rotations || !persist) {
      const known =
        deps.rotations && change.timeSource === 'aws'
          ? await deps.rotations.store.get(recordPk(change), recordSk(change)).catch(() => null)
          : null;
      const shown = admit(known?.waves, candidates, steps, spec, now, change.name, result.complete);
      let_(shown.admit, persist ? withoutTable(shown.held) : shown.held);
      continue;
    }
    if (change.timeSource !== 'aws') {
      // Its record is keyed by AWS's time of the change: until a look reads it, nothing goes.
      for (const action of mine)
        held.set(
          action.consumer.arn,
          `held back: AWS's time of the change to ${change.name} could not be read, so its waves cannot be kept yet; the next look that reads it goes on`,
        );
      continue;
    }
    const pk = recordPk(change);
    const sk = recordSk(change);
    try {
      const written = await deps.rotations.store.update(pk, sk, (current) => {
        const base: RotationRecord =
          current ??
          openRecord(
            change,
            observationsOf(result.consumers, change, undefined, now),
            result.complete,
            deps,
            now,
          ).record;
        const admission = admit(
          base.waves,
          candidates,
          steps,
          base.waves?.spec ?? spec,
          now,
          change.name,
          result.complete,
        );
        const unchanged = current !== null && sameWaves(current.waves, admission.waves);
        return {
          record: unchanged ? base : { ...base, waves: admission.waves },
          result: { admission, opened: current === null, unchanged },
        };
      });
      if (!written) continue;
      let_(written.result.admission.admit, written.result.admission.held);
      if (written.result.opened) gate.opened.add(`${pk} ${sk}`);
      gate.staged.push({ change, pk, sk, candidates: new Set(candidates.map((c) => c.arn)) });
    } catch (error) {
      // The waves could not be read or written: nothing of this change is restarted blindly.
      for (const action of mine)
        held.set(
          action.consumer.arn,
          `held back: the waves of ${change.name} could not be kept (${describeError(error)}); the next run tries again`,
        );
      gate.outcomes.push(recordFailure(change.name, 'could not keep its waves', error));
    }
  }
  const actions = planned.actions.map((action): PlannedAction => {
    if (action.status !== 'planned' || !isRestart(action.kind)) return action;
    const arn = action.consumer.arn;
    // Restarted only when each of its staged changes lets it go.
    const letGo = (admittedBy.get(arn) ?? 0) >= (wanted.get(arn) ?? 0) && !held.has(arn);
    if (letGo || !wanted.has(arn)) return action;
    return {
      ...action,
      status: 'skipped',
      heldBy: 'waves',
      detail: held.get(arn) ?? 'held back: another change it reads waits for its own wave',
    };
  });
  return { ...gate, plan: { ...planned, actions } };
}

function withoutTable(held: Map<string, string>): Map<string, string> {
  return new Map(
    [...held.keys()].map((arn) => [
      arn,
      'held back: waves need the state table (WATCHER_STATE_TABLE) to follow the canary, so only the canary goes; WATCHER_WAVES=all restarts every consumer at once',
    ]),
  );
}

const sameWaves = (a: Waves | undefined, b: Waves) =>
  a !== undefined && JSON.stringify(a) === JSON.stringify(b);

function candidateOf(consumer: Consumer): Candidate {
  const canary = consumer.tags.some((level) => level.tags[WAVE_TAG] === 'canary');
  return {
    arn: consumer.arn,
    name: consumer.name,
    kind: consumer.kind === 'batch-job' ? 'resubmit' : 'redeploy',
    region: consumer.region,
    parent: consumer.service?.cluster ?? consumer.parent,
    runs: consumer.runs.length,
    canary,
  };
}

/**
 * After acting: each restart done is noted in the waves of every staged change it was a
 * candidate of (a consumer restarted after several changes counts for each of them).
 */
export async function noteRestarts(
  gate: Gate,
  actions: ActionOutcome[],
  deps: Pick<RunDeps, 'now'> & { rotations?: RunDeps['rotations'] },
): Promise<Outcome[]> {
  const at = (deps.now?.() ?? new Date()).toISOString();
  const done = actions.filter((action) => action.status === 'done' && isRestart(action.kind));
  if (done.length === 0 || !deps.rotations) return [];
  const outcomes: Outcome[] = [];
  for (const staged of gate.staged) {
    const sent = done
      .filter((action) => staged.candidates.has(action.consumer.arn))
      .map((action) => ({
        arn: action.consumer.arn,
        name: action.consumer.name,
        kind: action.kind,
        region: action.consumer.region,
        parent: action.consumer.service?.cluster ?? action.consumer.parent,
        ref: action.ref ?? null,
        at,
      }));
    if (sent.length === 0) continue;
    try {
      await deps.rotations.store.update(staged.pk, staged.sk, (latest) => {
        if (!latest?.waves) return null;
        const waves = noteSent(latest.waves, sent);
        return waves === latest.waves ? null : { record: { ...latest, waves }, result: null };
      });
    } catch (error) {
      outcomes.push(
        recordFailure(staged.change.name, 'could not note the restarts of its wave', error),
      );
    }
  }
  return outcomes;
}

/**
 * The look at waves in flight that a follow-up, an ECS or Batch event, or the sweep brings: what
 * AWS says of each restart of the wave (settled, failed), the bake, a halt told as `Rotation
 * Halted`. Returns the changes whose next wave may go (or whose wave has restarts still to send):
 * the run reads the account for them, and its gate lets the wave go.
 */
export async function lookAtWaves(
  records: RecordResult[],
  deps: RunDeps,
  options: { sweep: boolean },
): Promise<{ changes: Change[]; outcomes: Outcome[] }> {
  const { store } = deps.rotations;
  const now = deps.now?.() ?? new Date();
  const nudges = records.flatMap((record) => (record.nudge ? [record.nudge] : []));
  const keys = new Map<string, Nudge[]>();
  for (const record of records)
    if (record.followUp) keys.set(`${record.followUp.pk} ${record.followUp.sk}`, []);
  const outcomes: Outcome[] = [];
  let found: RotationRecord[] = [];
  try {
    if (nudges.length > 0 || options.sweep)
      for (const { pk, sk } of await store.tracked())
        keys.set(`${pk} ${sk}`, keys.get(`${pk} ${sk}`) ?? []);
    found = (
      await Promise.all(
        [...keys.keys()].map((key) => {
          const [pk = '', sk = ''] = key.split(' ');
          return store.get(pk, sk);
        }),
      )
    ).filter(
      (record): record is RotationRecord =>
        record?.status === 'open' && record.waves?.status === 'rolling',
    );
  } catch (error) {
    return {
      changes: [],
      outcomes: [recordFailure('waves in flight', 'could not be read', error)],
    };
  }
  const followed = new Set(
    records.flatMap((r) => (r.followUp ? [`${r.followUp.pk} ${r.followUp.sk}`] : [])),
  );
  const changes: Change[] = [];
  for (const record of found) {
    const key = `${record.pk} ${record.sk}`;
    const mine = nudges.filter((nudge) => names(record.waves as Waves, nudge));
    // An event about someone else's deployment brings nothing to look at here.
    if (!followed.has(key) && !options.sweep && mine.length === 0) continue;
    try {
      const facts = await readFacts(record.waves as Waves, deps.clients, mine, now);
      const written = await store.update(record.pk, record.sk, (latest) => {
        if (!latest?.waves) return null;
        const next = settle(latest.waves, facts, now, deps.settings.bakeMs);
        return next.waves === latest.waves
          ? null
          : { record: { ...latest, waves: next.waves }, result: next.halted };
      });
      const latest = written?.record ?? record;
      if (written?.result) outcomes.push(...(await tellHalted(latest, deps)));
      if (wantsRun(latest.waves, now)) changes.push(changeOf(latest));
    } catch (error) {
      outcomes.push(recordFailure(record.value.name, 'could not look at its waves', error));
    }
  }
  return { changes: dedupe(changes), outcomes };
}

function dedupe(changes: Change[]): Change[] {
  const seen = new Map<string, Change>();
  for (const change of changes) seen.set(valueKey(change), change);
  return [...seen.values()];
}

/** Whether an event is about a restart of the wave in flight. */
function names(waves: Waves, nudge: Nudge): boolean {
  const index = waves.waves.length - 1;
  return waves.restarts.some(
    (restart) =>
      restart.wave === index &&
      (nudge.kind === 'ecs-deployment'
        ? restart.ref === nudge.deploymentId || restart.arn === nudge.service
        : restart.ref === nudge.jobId),
  );
}

/**
 * `Rotation Halted` on the topic (alarm), Slack and the bus, each channel once: the record's
 * halt notes which took it.
 */
export async function tellHalted(record: RotationRecord, deps: RunDeps): Promise<Outcome[]> {
  const halt = record.waves?.halt;
  if (!halt) return [];
  const told = new Set(halt.told ?? []);
  const outcomes = await notify(signalMessage(record, 'halted'), {
    clients: deps.clients,
    settings: deps.settings,
    region: deps.home,
    slack: deps.slack,
    skip: toldOf({ told: [...told] }),
  });
  for (const outcome of outcomes) if (outcome.status === 'done') told.add(outcome.kind);
  try {
    await deps.rotations.store.update(record.pk, record.sk, (latest) =>
      latest?.waves?.halt && latest.waves.halt.at === halt.at
        ? {
            record: {
              ...latest,
              waves: { ...latest.waves, halt: { ...latest.waves.halt, told: [...told].sort() } },
            },
            result: null,
          }
        : null,
    );
  } catch (error) {
    outcomes.push(
      recordFailure(record.value.name, 'could not note Rotation Halted as told', error),
    );
  }
  return outcomes;
}
