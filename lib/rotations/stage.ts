// Staged restarts after the gate (gate.ts): the note after acting (what each wave sent), and the
// look at the waves in flight that events and follow-ups bring (settled, baked, or halted with
// `Rotation Halted`). The rules are lib/rotations/waves.ts and wave-progress.ts.

import type { ActionOutcome } from '../actions/index.js';
import type { Change, Nudge, Outcome } from '../domain/index.js';
import { type RecordResult, valueKey } from '../events/index.js';
import { isChannelKind, notify, signalMessage } from '../notify/index.js';
import { isRestart } from '../plan.js';
import { RESEND_AFTER_MS } from './follow.js';
import type { Gate } from './gate.js';
import { changeOf } from './observations.js';
import type { RotationRecord } from './record.js';
import type { RunDeps } from './run.js';
import { toldOf } from './signal.js';
import { recordFailure } from './types.js';
import { noteUnsent, settle, wantsRun } from './wave-progress.js';
import { readFacts } from './wave-reads.js';
import { noteSent, type Waves } from './waves.js';

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
      if (wantsRun(latest.waves)) changes.push(changeOf(latest));
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
  for (const outcome of outcomes)
    if (outcome.status === 'done' && isChannelKind(outcome.kind)) told.add(outcome.kind);
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
