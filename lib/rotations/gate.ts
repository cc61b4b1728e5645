// The waves' gate, before a run acts: which restarts the waves of each change let go now (the
// change's record opened or updated first, so that two runs never send two canaries), what other
// values' waves hold, and the cap spent on what goes. The rules are lib/rotations/waves.ts.

import { describeError } from '../aws/index.js';
import type { Change, Consumer, DiscoveryResult, Outcome } from '../domain/index.js';
import { valueKey } from '../events/index.js';
import type { Plan, PlannedAction } from '../plan.js';
import { isRestart } from '../plan.js';
import { openRecord } from './follow.js';
import { holdsElsewhere } from './holds.js';
import { movesWhatIsRead, observationsOf } from './observations.js';
import { type RotationRecord, recordPk, recordSk } from './record.js';
import type { RunDeps } from './run.js';
import { recordFailure } from './types.js';
import { admit, type Candidate, specText, WAVE_TAG, type Waves } from './waves.js';

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
  /** Values (valueKey) whose waves could not be kept: their events come back. */
  failed: Set<string>;
}

/**
 * Holds back every planned restart its changes' waves do not let go now, then caps what goes at
 * WATCHER_MAX_ACTIONS (so the cap is spent on what the waves let go, never on what they hold).
 * A consumer stale for several changes goes only when each of them lets it (a restart carries
 * every new value at once), and only when no other value it reads has waves that hold it (in
 * flight, or halted: a value known to be bad). Without the state table the waves cannot be
 * remembered: only the canary goes, each run.
 */
export async function gate(
  planned: Plan,
  result: DiscoveryResult,
  deps: Omit<RunDeps, 'rotations'> & { rotations?: RunDeps['rotations'] },
  /** Write the waves (a run that acts); else only read them, to show what a run would do. */
  persist = true,
): Promise<Gate> {
  const { settings } = deps;
  const none: Gate = {
    plan: planned,
    staged: [],
    opened: new Set(),
    outcomes: [],
    failed: new Set(),
  };
  if (settings.waves === 'all') return none;
  const steps = settings.waves;
  const spec = specText(steps);
  const now = deps.now?.() ?? new Date();
  // Every restart the plan wants, those the cap held back too: the cap is applied after.
  const restarts = planned.actions.filter(
    (action) =>
      isRestart(action.kind) && (action.status === 'planned' || action.heldBy === 'max-actions'),
  );
  if (restarts.length === 0) return none;
  const held = new Map<string, string>();
  const admittedBy = new Map<string, number>();
  const wanted = new Map<string, number>();
  const gate: Gate = { ...none };
  const staged = new Set<string>();
  const oldest = new Map<string, string>();
  for (const change of result.changes.filter(
    (c) => c.effect === 'value' && movesWhatIsRead(c, result.consumers),
  )) {
    // Candidates of this change: consumers it makes stale, judged against it alone.
    const judged = new Map(
      observationsOf(result.consumers, change, undefined, now).map((seen) => [seen.arn, seen]),
    );
    const mine = restarts.filter((action) => (judged.get(action.consumer.arn)?.staleRuns ?? 0) > 0);
    const seen = new Map(
      [...judged.values()].map((o) => [
        o.arn,
        o.replacing
          ? ('replacing' as const)
          : o.staleRuns === 0
            ? ('fresh' as const)
            : ('stale' as const),
      ]),
    );
    // The consumer's oldest staged change: only an older change's waves may hold it elsewhere.
    for (const action of mine) {
      const before = oldest.get(action.consumer.arn);
      if (!before || change.changedAt < before) oldest.set(action.consumer.arn, change.changedAt);
    }
    if (mine.length === 0) continue;
    staged.add(valueKey(change));
    for (const action of mine)
      wanted.set(action.consumer.arn, (wanted.get(action.consumer.arn) ?? 0) + 1);
    const candidates = mine.map((action) => candidateOf(action.consumer));
    const let_ = (admitted: Set<string>, why: Map<string, string>) => {
      for (const arn of admitted) admittedBy.set(arn, (admittedBy.get(arn) ?? 0) + 1);
      for (const [arn, reason] of why) if (!held.has(arn)) held.set(arn, reason);
    };
    const pk = recordPk(change);
    const sk = recordSk(change);
    if (!deps.rotations || !persist) {
      const known =
        deps.rotations && change.timeSource === 'aws'
          ? await deps.rotations.store.get(pk, sk).catch(() => null)
          : null;
      if (known && known.status !== 'open' && known.waves?.status !== 'halted') {
        let_(new Set(candidates.map((c) => c.arn)), new Map());
        continue;
      }
      const shown = admit(
        known?.waves,
        candidates,
        steps,
        spec,
        now,
        change.name,
        result.complete,
        seen,
      );
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
    try {
      const written = await deps.rotations.store.update(pk, sk, (current) => {
        // A closed record's waves are no longer followed (its looks ended): a halt stands; else
        // what is still stale goes at once, as the sweep restarted it before waves.
        if (current && current.status !== 'open') {
          const halted = current.waves?.status === 'halted';
          return {
            record: current,
            result: {
              admission: halted
                ? admit(current.waves, candidates, steps, spec, now, change.name, false)
                : {
                    waves: current.waves,
                    admit: new Set(candidates.map((c) => c.arn)),
                    held: new Map(),
                  },
              opened: false,
              closed: true,
            },
          };
        }
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
          seen,
        );
        const unchanged = current !== null && sameWaves(current.waves, admission.waves);
        return {
          record: unchanged ? base : { ...base, waves: admission.waves },
          result: { admission, opened: current === null, closed: false },
        };
      });
      if (!written) continue;
      const { admission, opened, closed } = written.result;
      let_(admission.admit, admission.held);
      if (closed) continue;
      if (opened) {
        gate.opened.add(`${pk} ${sk}`);
        // On the sweep's list at once: a record the run could not finish still gets looked at.
        await deps.rotations.store.track(written.record);
      }
      gate.staged.push({ change, pk, sk, candidates: new Set(candidates.map((c) => c.arn)) });
    } catch (error) {
      // The waves could not be read or written: nothing of this change is restarted blindly,
      // and its events come back.
      for (const action of mine)
        held.set(
          action.consumer.arn,
          `held back: the waves of ${change.name} could not be kept (${describeError(error)}); the next run tries again`,
        );
      gate.failed.add(valueKey(change));
      gate.outcomes.push(recordFailure(change.name, 'could not keep its waves', error));
    }
  }
  // Other values each consumer reads, whose waves (of a change not in this run) hold it.
  if (deps.rotations)
    for (const [arn, why] of await holdsElsewhere(
      restarts.filter(
        (action) => wanted.has(action.consumer.arn) && !held.has(action.consumer.arn),
      ),
      { staged, oldest },
      { store: deps.rotations.store, cache: deps.cache },
    ))
      held.set(arn, why);
  let budget = settings.maxActions;
  const actions = planned.actions.map((action): PlannedAction => {
    if (!restarts.includes(action)) return action;
    const arn = action.consumer.arn;
    // Restarted only when each of its staged changes lets it go.
    const letGo =
      !wanted.has(arn) || ((admittedBy.get(arn) ?? 0) >= (wanted.get(arn) ?? 0) && !held.has(arn));
    if (!letGo)
      return {
        ...action,
        status: 'skipped',
        heldBy: 'waves',
        detail: held.get(arn) ?? 'held back: another change it reads waits for its own wave',
      };
    if (budget > 0) {
      budget -= 1;
      const { heldBy: _, ...rest } = action;
      return {
        ...rest,
        status: 'planned',
        detail:
          planned.decisions.find((d) => d.consumer === action.consumer)?.reason ?? action.detail,
      };
    }
    return {
      ...action,
      status: 'skipped',
      heldBy: 'max-actions',
      detail: `held back: WATCHER_MAX_ACTIONS allows ${settings.maxActions} redeploys and resubmits a run; the next run or the sweep takes it up`,
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
