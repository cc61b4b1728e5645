// Staged restarts over generated timelines, on the scripted account whose deployments progress
// with its clock (complete after a while, fail, roll back, stall): whatever the ECS events say
// and whenever they come (late, repeated, about another deployment, out of order), and whatever
// mix of redeliveries, follow-ups and sweeps brings the change back,
// - never more services are being restarted than the wave in flight holds, and every one of them
//   is a member of it;
// - a wave's restarts begin only after every restart of the wave before it completed and the
//   bake passed;
// - no service is restarted twice for the change, and none after a wave whose restart failed;
// - by the end, every service was restarted, or the waves halted and `Rotation Halted` was told
//   with the service among those left on the old value.
// ECS and SSM are the scripted account; the state table and the topic are moto's.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeps } from '../../lib/compose.js';
import { readSettings } from '../../lib/config.js';
import { parsePayload, type RecordResult } from '../../lib/events/index.js';
import { type PipelineDeps, runPipeline } from '../../lib/pipeline.js';
import { CLEARED, type RotationRecord, recordPk } from '../../lib/rotations/record.js';
import { RotationStore } from '../../lib/rotations/store.js';
import { type Moto, startMoto } from '../../scripts/moto.js';
import { Seeder } from '../../scripts/seed.js';
import { parameterChange } from '../helpers/events.js';
import { useScriptedAccount } from '../helpers/scripted.js';
import {
  type DeploymentScript,
  parameterReaders,
  type ScriptedDeployment,
  type ScriptedService,
} from '../support/account/index.js';

const scripted = useScriptedAccount();
const REGION = 'us-east-1';
const NAME = '/app/api/token';
const CHANGE = Date.parse('2026-11-20T12:00:00Z');
const MINUTE = 60_000;
const SERVICES = ['s0', 's1', 's2', 's3', 's4', 's5'];

let moto: Moto;
let seeder: Seeder;
let topic: { topicArn: string; queueUrl: string };
let tables = 0;

beforeAll(async () => {
  moto = await startMoto();
  for (const service of ['DYNAMODB', 'SNS', 'SQS'])
    process.env[`AWS_ENDPOINT_URL_${service}`] = moto.endpoint;
  seeder = new Seeder();
  topic = await seeder.topicWithSubscriber(REGION, 'waves-property');
}, 60_000);

afterAll(async () => {
  for (const service of ['DYNAMODB', 'SNS', 'SQS'])
    delete process.env[`AWS_ENDPOINT_URL_${service}`];
  await moto?.stop();
});

interface World {
  services: Array<{ tasks: number; script: DeploymentScript; canary: boolean }>;
  spec: string;
  bakeMinutes: number;
  steps: Step[];
}

type Delivery =
  | { kind: 'event' }
  | { kind: 'follow-up' }
  | { kind: 'sweep' }
  | { kind: 'ecs'; service: number; eventName: string; which: 'newest' | 'first' | 'made-up' };

interface Step {
  minutes: number;
  delivery: Delivery;
  twice: boolean;
}

const script: fc.Arbitrary<DeploymentScript> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .integer({ min: 30, max: 400 })
      .map((after) => ({ kind: 'complete' as const, after })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 30, max: 400 }).map((after) => ({ kind: 'fail' as const, after })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 30, max: 400 })
      .map((after) => ({ kind: 'rollback' as const, after })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'stall' as const }) },
);

const delivery: fc.Arbitrary<Delivery> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'event' as const }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'follow-up' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'sweep' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('ecs' as const),
      service: fc.integer({ min: 0, max: SERVICES.length - 1 }),
      eventName: fc.constantFrom('SERVICE_DEPLOYMENT_COMPLETED', 'SERVICE_DEPLOYMENT_FAILED'),
      which: fc.constantFrom('newest' as const, 'first' as const, 'made-up' as const),
    }),
  },
);

const world: fc.Arbitrary<World> = fc.record({
  services: fc.array(
    fc.record({
      tasks: fc.integer({ min: 1, max: 4 }),
      script,
      canary: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
    }),
    { minLength: 2, maxLength: SERVICES.length },
  ),
  spec: fc.constantFrom('1,25%,100%', '1,50%', '2,100%', '1,1,1,100%'),
  bakeMinutes: fc.integer({ min: 0, max: 8 }),
  steps: fc.array(
    fc.record({ minutes: fc.integer({ min: 0, max: 9 }), delivery, twice: fc.boolean() }),
    { minLength: 3, maxLength: 18 },
  ),
});

/** The scripted account for one generated world: every service tagged redeploy, all stale. */
function seedAccount(w: World): void {
  const readers = w.services.map((s, i) => ({
    name: SERVICES[i] as string,
    tasks: s.tasks,
    onDeploy: s.script,
    ...(s.canary ? { tags: { 'rotation-watcher:wave': 'canary' } } : {}),
  }));
  Object.assign(scripted.account, parameterReaders(NAME, CHANGE, readers));
}

/** The deployments the watcher's UpdateService calls began, by service name (as ECS answered). */
const sent = new Map<string, string[]>();

/** The deployments the watcher made, as the account has them now. */
function restartsOf(service: ScriptedService): ScriptedDeployment[] {
  const ids = sent.get(service.name) ?? [];
  return service.deployments.filter((d) => ids.includes(d.id));
}

/** When a restart's deployment completed, or failed (rolled back counts), as the account has it. */
function outcomeOf(d: ScriptedDeployment): { completed: number | null; failed: boolean } {
  return {
    completed: d.rolloutState === 'COMPLETED' ? d.updatedAt : null,
    failed: d.rolloutState === 'FAILED',
  };
}

async function check(w: World): Promise<void> {
  seedAccount(w);
  const table = await seeder.stateTable(REGION, `waves-prop-${++tables}`);
  const deps: PipelineDeps = buildDeps(
    readSettings({
      WATCHER_STATE_TABLE: table,
      WATCHER_SNS_TOPIC_ARN: topic.topicArn,
      WATCHER_WAVES: w.spec,
      WATCHER_BAKE: `${w.bakeMinutes}m`.replace(/^0m$/, '0'),
      WATCHER_API_SHARE: '1',
    }),
    { home: REGION, now: () => new Date(scripted.account.now) },
  );
  const store = new RotationStore({ table, region: REGION, clients: deps.clients });
  // Every UpdateService the watcher sends, with the deployment ECS answered it began.
  sent.clear();
  deps.clients.once('ecs', REGION).middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'UpdateServiceCommand') {
        const service = (
          result.output as {
            service?: {
              serviceName?: string;
              deployments?: Array<{ id?: string; status?: string }>;
            };
          }
        ).service;
        const id = service?.deployments?.find((d) => d.status === 'PRIMARY')?.id;
        const name = service?.serviceName ?? '?';
        if (id) sent.set(name, [...(sent.get(name) ?? []), id]);
      }
      return result;
    },
    { step: 'initialize', name: 'recordUpdateService' },
  );
  const pk = recordPk({
    service: 'ssm',
    region: REGION,
    account: '123456789012',
    name: NAME,
    versionStage: null,
  });
  const record = async (): Promise<RotationRecord | undefined> => (await store.list(pk))[0];
  const services = () => scripted.account.services;

  const deliver = async (d: Delivery): Promise<void> => {
    let records: RecordResult[];
    if (d.kind === 'sweep') {
      await runPipeline({ sweep: true }, deps, { apply: true });
      return;
    }
    if (d.kind === 'event') records = parsePayload(parameterChange(NAME, { id: 'evt-1' }));
    else if (d.kind === 'follow-up') {
      const r = await record();
      if (!r) return;
      records = [
        {
          recordId: null,
          changes: [],
          ignored: null,
          error: null,
          followUp: { pk: r.pk, sk: r.sk },
        },
      ];
    } else {
      const service = services()[d.service % services().length] as ScriptedService;
      const deployment =
        d.which === 'made-up'
          ? 'ecs-svc/424242'
          : d.which === 'first'
            ? service.deployments.at(-1)?.id
            : service.deployments[0]?.id;
      records = [
        {
          recordId: null,
          changes: [],
          ignored: null,
          error: null,
          nudge: {
            kind: 'ecs-deployment',
            service: `arn:aws:ecs:${REGION}:123456789012:service/prod/${service.name}`,
            deploymentId: deployment ?? 'ecs-svc/0',
            eventName: d.eventName,
            reason: d.eventName.endsWith('FAILED')
              ? 'ECS deployment circuit breaker: tasks failed to start.'
              : null,
            at: new Date(scripted.account.now).toISOString(),
          },
        },
      ];
    }
    await runPipeline({ records }, deps, { apply: true });
  };

  /** The invariants that hold at every moment. */
  const invariants = async (): Promise<void> => {
    const r = await record();
    const waves = r?.waves;
    const restarted = services().filter((s) => restartsOf(s).length > 0);
    // Never twice for the change.
    for (const [name, ids] of sent) expect(ids.length, name).toBeLessThanOrEqual(1);
    if (!waves) {
      expect(restarted).toEqual([]);
      return;
    }
    // Every restart belongs to a wave, and those still in progress to the wave in flight.
    const member = new Map<string, number>();
    waves.waves.forEach((wave, k) => {
      for (const arn of wave.members) member.set(arn.split('/').at(-1) as string, k);
    });
    const current = waves.waves.length - 1;
    for (const s of restarted) {
      expect(member.has(s.name), `${s.name} restarted outside every wave`).toBe(true);
      const d = restartsOf(s)[0] as ScriptedDeployment;
      if (d.status === 'PRIMARY' && d.rolloutState === 'IN_PROGRESS' && waves.status !== 'halted')
        expect(member.get(s.name), `${s.name} in progress outside the wave in flight`).toBe(
          current,
        );
    }
    // Each wave within its size: the canary (tagged ones, else the first step) and then the steps.
    const inFlight = restarted.filter((s) => {
      const d = restartsOf(s)[0] as ScriptedDeployment;
      return d.status === 'PRIMARY' && d.rolloutState === 'IN_PROGRESS';
    });
    expect(inFlight.length).toBeLessThanOrEqual(waves.waves[current]?.members.length ?? 0);
    // A wave's restarts begin only after the wave before it completed and baked, and none
    // after a wave with a failed restart.
    for (let k = 1; k <= current; k++) {
      const before = (waves.waves[k - 1] as { members: string[] }).members.map((arn) =>
        services().find((s) => arn.endsWith(`/${s.name}`)),
      );
      const outcomes = before.flatMap((s) => (s ? restartsOf(s).map(outcomeOf) : []));
      expect(
        outcomes.some((o) => o.failed),
        `wave ${k + 1} opened after a failure`,
      ).toBe(false);
      const done = Math.max(0, ...outcomes.map((o) => o.completed ?? Number.POSITIVE_INFINITY));
      for (const arn of (waves.waves[k] as { members: string[] }).members) {
        const s = services().find((x) => arn.endsWith(`/${x.name}`));
        for (const d of s ? restartsOf(s) : [])
          expect(d.createdAt, `${s?.name} of wave ${k + 1} before the bake`).toBeGreaterThanOrEqual(
            done + w.bakeMinutes * MINUTE,
          );
      }
    }
  };

  for (const step of w.steps) {
    scripted.account.now += step.minutes * MINUTE;
    await deliver(step.delivery);
    if (step.twice) await deliver(step.delivery);
    await invariants();
  }
  // Then the change's event once more and the follow-ups, as the chain brings them, till all ends.
  await deliver({ kind: 'event' });
  for (let i = 0; i < 24; i++) {
    scripted.account.now += 10 * MINUTE;
    await deliver({ kind: 'follow-up' });
    await invariants();
    const r = await record();
    if (r && (r.status !== 'open' || r.waves?.status === 'halted')) break;
  }
  const r = (await record()) as RotationRecord;
  const left = new Set(
    r.consumers.filter((c) => !CLEARED.has(c.state)).map((c) => c.arn.split('/').at(-1)),
  );
  if (r.waves?.status === 'halted') {
    // Told, naming every service left on the old value.
    expect(r.waves.halt?.told).toContain('sns');
    for (const s of services())
      if (restartsOf(s).length === 0) expect(left.has(s.name), `${s.name} unreported`).toBe(true);
  } else
    for (const s of services()) expect(restartsOf(s).length, `${s.name} never restarted`).toBe(1);
}

describe('staged restarts over generated timelines', () => {
  it('keep every wave within its size and order, restart nobody twice, and leave nobody unreported', async () => {
    await fc.assert(fc.asyncProperty(world, check), {
      numRuns: Number(process.env.WAVES_RUNS ?? 12),
      ...(process.env.WAVES_SEED ? { seed: Number(process.env.WAVES_SEED) } : {}),
    });
  }, 240_000);
});
