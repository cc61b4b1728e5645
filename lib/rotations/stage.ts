// Staged restarts in a run: the gate before acting (which restarts the waves let go now, the
// record opened or updated first so that two runs never send two canaries), the note after it
// (what each wave sent), and the look at the waves in flight that events and follow-ups bring
// (settled, baked, or halted with `Rotation Halted`). The rules are lib/rotations/waves.ts.

import type { ActionOutcome } from '../actions/index.js';
import { describeError } from '../aws/index.js';
import type {
  CachedDefinition,
  Change,
  Consumer,
  DiscoveryResult,
  Nudge,
  Outcome,
  Reference,
  Target,
} from '../domain/index.js';
import { type RecordResult, valueKey } from '../events/index.js';
import { notify, signalMessage } from '../notify/index.js';
import type { Plan, PlannedAction } from '../plan.js';
import { isRestart } from '../plan.js';
import { openRecord, RESEND_AFTER_MS } from './follow.js';
import { changeOf, movesWhatIsRead, observationsOf } from './observations.js';
import { CLEARED, type RotationRecord, recordPk, recordSk } from './record.js';
import type { RunDeps } from './run.js';
import { toldOf } from './signal.js';
import { recordFailure } from './types.js';
import { readFacts } from './wave-reads.js';
import {
  admit,
  type Candidate,
  noteSent,
  noteUnsent,
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
  if (deps.rotations) {
    const newest = new Map<string, Promise<RotationRecord | undefined | 'unreadable'>>();
    const { store } = deps.rotations;
    const newestOf = (pk: string) => {
      let found = newest.get(pk);
      if (!found) {
        found = store
          .list(pk, 1)
          .then((records) => records[0])
          .catch(() => 'unreadable' as const);
        newest.set(pk, found);
      }
      return found;
    };
    for (const action of restarts) {
      const arn = action.consumer.arn;
      if (!wanted.has(arn) || held.has(arn)) continue;
      // Every value its definitions read, not only those this run's changes concern (discovery
      // has just read those definitions: the cache has them).
      const definitions = await deps.cache
        .getMany(
          action.consumer.runs.map((r) => r.definitionArn).filter(Boolean),
          async (missing) => ({ found: new Map(), failed: missing }),
        )
        .catch(() => new Map<string, CachedDefinition>());
      const targets = [
        ...action.consumer.references.map((ref) => ref.target),
        ...[...definitions.values()].flatMap((d) =>
          d.references.flatMap((ref: Reference) => (ref.target ? [ref.target] : [])),
        ),
      ];
      const why = await heldElsewhere(
        action.consumer,
        targets,
        { staged, since: oldest.get(arn) ?? '' },
        newestOf,
      );
      if (why) held.set(arn, why);
    }
  }
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

/**
 * Why a consumer waits for another value's waves: the newest record of a value it reads (not one
 * this run stages) holds it among those still on the old value, not yet restarted by them, and
 * either its waves are halted (open, or closed overdue: the value is known to be bad) or they are
 * in flight for an older change than this consumer's own (`since`): the newer waits for the
 * older, never both for each other. A record that cannot be read holds it too.
 */
async function heldElsewhere(
  consumer: Consumer,
  targets: Target[],
  mine: { staged: ReadonlySet<string>; since: string },
  newestOf: (pk: string) => Promise<RotationRecord | undefined | 'unreadable'>,
): Promise<string | null> {
  const { staged, since } = mine;
  const values = new Map<string, { pk: string; name: string }>();
  for (const target of targets) {
    if (!target.name) continue;
    // A bare name is read in the consumer's own region and account.
    const value = {
      service: target.service,
      region: target.region ?? consumer.region,
      account: target.account ?? consumer.account,
      name: target.name,
      versionStage: target.service === 'secretsmanager' ? (target.versionStage ?? null) : null,
    } as Change;
    const key = valueKey(value);
    if (!staged.has(key)) values.set(key, { pk: recordPk(value), name: target.name });
  }
  for (const { pk, name } of values.values()) {
    const newest = await newestOf(pk);
    if (newest === 'unreadable')
      return `held back: it also reads ${name}, whose rotation records could not be read; the next run tries again`;
    const waves = newest?.waves;
    if (!newest || !waves) continue;
    const halted =
      waves.status === 'halted' && (newest.status === 'open' || newest.status === 'overdue');
    const older =
      newest.status === 'open' && waves.status === 'rolling' && newest.value.changedAt < since;
    if (!halted && !older) continue;
    const holds = newest.consumers.some((c) => c.arn === consumer.arn && !CLEARED.has(c.state));
    const restarted = waves.restarts.some((r) => r.arn === consumer.arn);
    // A member of that value's wave in flight is one its waves let go.
    const member =
      waves.status === 'rolling' && Boolean(waves.waves.at(-1)?.members.includes(consumer.arn));
    if (holds && !restarted && !member)
      return waves.status === 'halted'
        ? `held back: it also reads ${name}, whose waves are halted (${waves.halt?.reason ?? 'halted'}): a restart would read that value too`
        : `held back: it also reads ${name}, whose waves have not reached it yet: a restart would read that value too`;
  }
  return null;
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
  deps: Omit<RunDeps, 'rotations'> & { rotations?: RunDeps['rotations'] },
): Promise<Outcome[]> {
  const now = deps.now?.() ?? new Date();
  const at = now.toISOString();
  const done = actions.filter((action) => action.status === 'done' && isRestart(action.kind));
  const failed = actions.filter((action) => action.status === 'failed' && isRestart(action.kind));
  const { rotations } = deps;
  if ((done.length === 0 && failed.length === 0) || !rotations) return [];
  const outcomes: Outcome[] = [];
  for (const staged of gate.staged) {
    const unsent = failed
      .filter((action) => staged.candidates.has(action.consumer.arn))
      .map((action) => ({
        arn: action.consumer.arn,
        name: action.consumer.name,
        error: action.detail,
      }));
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
    if (sent.length === 0 && unsent.length === 0) continue;
    try {
      const written = await rotations.store.update(staged.pk, staged.sk, (latest) => {
        if (!latest?.waves) return null;
        const noted = noteUnsent(noteSent(latest.waves, sent), unsent, now);
        return noted.waves === latest.waves
          ? null
          : { record: { ...latest, waves: noted.waves }, result: noted.halted };
      });
      // A restart AWS keeps refusing: the waves halt, and people are told why.
      if (written?.result)
        outcomes.push(...(await tellHalted(written.record, { ...deps, rotations })));
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
  const found: RotationRecord[] = [];
  try {
    if (nudges.length > 0 || options.sweep)
      for (const { pk, sk } of await store.tracked())
        keys.set(`${pk} ${sk}`, keys.get(`${pk} ${sk}`) ?? []);
    // One at a time: a burst of Batch job events must not become a burst of reads.
    for (const key of keys.keys()) {
      const [pk = '', sk = ''] = key.split(' ');
      const record = await store.get(pk, sk);
      if (record?.status === 'open' && (record.waves?.status === 'rolling' || untold(record)))
        found.push(record);
    }
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
    if (untold(record)) {
      // A halt whose signal did not reach every channel (or whose run stopped before telling):
      // told again by a later look, once the run that halted has had its time.
      const since = now.getTime() - Date.parse(record.waves?.halt?.at ?? '');
      if ((followed.has(key) || options.sweep) && since >= RESEND_AFTER_MS)
        outcomes.push(...(await tellHalted(record, deps)));
      continue;
    }
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

/** Halted by the watcher, and `Rotation Halted` not yet taken by every channel. */
function untold(record: RotationRecord): boolean {
  const halt = record.waves?.halt;
  return record.waves?.status === 'halted' && halt?.by === 'watcher' && !halt.toldAt;
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
  const all = !outcomes.some((outcome) => outcome.status === 'failed');
  const at = (deps.now?.() ?? new Date()).toISOString();
  try {
    await deps.rotations.store.update(record.pk, record.sk, (latest) =>
      latest?.waves?.halt && latest.waves.halt.at === halt.at
        ? {
            record: {
              ...latest,
              waves: {
                ...latest.waves,
                halt: {
                  ...latest.waves.halt,
                  told: [...told].sort(),
                  toldAt: all ? (latest.waves.halt.toldAt ?? at) : null,
                },
              },
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
