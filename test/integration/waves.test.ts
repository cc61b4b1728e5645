// Staged restarts on the scripted account, whose deployments progress with its clock: a healthy
// rotation goes out canary first, each wave only after the one before it completed and baked;
// a canary whose deployment fails halts every later wave with `Rotation Halted`. ECS, Batch and
// SSM are the scripted account; the state table, the topic and its subscriber are moto's.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildDeps } from '../../lib/compose.js';
import { readSettings } from '../../lib/config.js';
import { parsePayload, type RecordResult } from '../../lib/events/index.js';
import { type PipelineDeps, runPipeline } from '../../lib/pipeline.js';
import { type RotationRecord, recordPk } from '../../lib/rotations/record.js';
import { RotationStore } from '../../lib/rotations/store.js';
import { settle } from '../../lib/rotations/wave-progress.js';
import { readFacts } from '../../lib/rotations/wave-reads.js';
import type { Waves } from '../../lib/rotations/waves.js';
import { type Moto, startMoto } from '../../scripts/moto.js';
import { Seeder } from '../../scripts/seed.js';
import { parameterChange } from '../helpers/events.js';
import { useScriptedAccount } from '../helpers/scripted.js';
import {
  type DeploymentScript,
  parameterReaders,
  type Reader,
  type ScriptedService,
} from '../support/account/index.js';

const scripted = useScriptedAccount();
const REGION = 'us-east-1';
const NAME = '/app/db/password';
const CHANGE = Date.parse('2026-11-20T12:00:00Z');
const MINUTE = 60_000;

let moto: Moto;
let seeder: Seeder;
let table: string;
let topic: { topicArn: string; queueUrl: string };
let deps: PipelineDeps;
let store: RotationStore;
let tableNumber = 0;

beforeAll(async () => {
  moto = await startMoto();
  for (const service of ['DYNAMODB', 'SNS', 'SQS'])
    process.env[`AWS_ENDPOINT_URL_${service}`] = moto.endpoint;
  seeder = new Seeder();
  topic = await seeder.topicWithSubscriber(REGION, 'waves-alerts');
}, 60_000);

afterAll(async () => {
  for (const service of ['DYNAMODB', 'SNS', 'SQS'])
    delete process.env[`AWS_ENDPOINT_URL_${service}`];
  await moto?.stop();
});

/** Services named by their running task counts, each tagged redeploy, each rollout scripted. */
function account(services: Reader[]) {
  Object.assign(scripted.account, parameterReaders(NAME, CHANGE, services, CHANGE + 2 * MINUTE));
}

beforeEach(async () => {
  table = await seeder.stateTable(REGION, `waves-${++tableNumber}`);
  const settings = readSettings({
    WATCHER_STATE_TABLE: table,
    WATCHER_SNS_TOPIC_ARN: topic.topicArn,
    WATCHER_BAKE: '5m',
    WATCHER_API_SHARE: '1',
  });
  deps = buildDeps(settings, { home: REGION, now: () => new Date(scripted.account.now) });
  store = new RotationStore({ table, region: REGION, clients: deps.clients });
  await seeder.drain(REGION, topic.queueUrl);
}, 30_000);

const event = () => parsePayload(parameterChange(NAME, { id: 'evt-1' }));
const redeployed = (run: Awaited<ReturnType<typeof runPipeline>>) =>
  run.report.actions
    .filter((action) => action.kind === 'redeploy' && action.status === 'done')
    .map((action) => action.target.split('/').at(-1) ?? action.target);

async function record(): Promise<RotationRecord> {
  const [newest] = await store.list(
    recordPk({
      service: 'ssm',
      region: REGION,
      account: '123456789012',
      name: NAME,
      versionStage: null,
    }),
  );
  if (!newest) throw new Error('no record');
  return newest;
}

/** The record's follow-up message, as its chain would bring it back. */
async function followUp(): Promise<RecordResult[]> {
  const { pk, sk } = await record();
  return [{ recordId: null, changes: [], ignored: null, error: null, followUp: { pk, sk } }];
}

/** ECS's `ECS Deployment State Change` for a service's newest deployment, as the handler gets it. */
function deploymentEvent(service: string, eventName: string, reason: string): RecordResult[] {
  const s = scripted.account.services.find((x) => x.name === service) as ScriptedService;
  const deployment = s.deployments.find((d) => d.status === 'PRIMARY') ?? s.deployments[0];
  return [
    {
      recordId: null,
      changes: [],
      ignored: null,
      error: null,
      nudge: {
        kind: 'ecs-deployment',
        service: `arn:aws:ecs:${REGION}:123456789012:service/prod/${service}`,
        deploymentId: deployment?.id ?? '',
        eventName,
        reason,
        at: new Date(scripted.account.now).toISOString(),
      },
    },
  ];
}

describe('healthy waves', () => {
  it('go out canary first, each wave only after the one before completed and baked', async () => {
    const complete: DeploymentScript = { kind: 'complete', after: 60 };
    account([
      { name: 'a', tasks: 3, onDeploy: complete },
      { name: 'b', tasks: 1, onDeploy: complete },
      { name: 'c', tasks: 2, onDeploy: complete },
      { name: 'd', tasks: 4, onDeploy: complete },
      { name: 'e', tasks: 5, onDeploy: complete },
    ]);
    const timeline: Array<[number, string[]]> = [];
    const step = async (minutes: number, records: RecordResult[]) => {
      scripted.account.now += minutes * MINUTE;
      const run = await runPipeline({ records }, deps, { apply: true });
      const done = redeployed(run);
      if (done.length > 0) timeline.push([(scripted.account.now - CHANGE) / MINUTE, done.sort()]);
      return run;
    };
    // The canary: the service with the fewest tasks; the others are held back, saying why.
    const first = await step(0, event());
    expect(redeployed(first)).toEqual(['b']);
    const held = first.report.actions.filter(
      (a) => a.kind === 'redeploy' && a.status === 'skipped',
    );
    expect(held).toHaveLength(4);
    expect(held[0]?.detail).toMatch(/waits for a later wave.*canary/);
    // The event again (a redelivery) starts nothing twice.
    expect(redeployed(await step(0, event()))).toEqual([]);
    // Its rollout completes at +90 s: ECS says so; the bake begins, nothing goes yet.
    expect(
      redeployed(
        await step(
          2,
          deploymentEvent(
            'b',
            'SERVICE_DEPLOYMENT_COMPLETED',
            'ECS deployment ecs-svc/x completed.',
          ),
        ),
      ),
    ).toEqual([]);
    expect((await record()).waves?.waves[0]?.settledAt).not.toBeNull();
    expect(redeployed(await step(3, await followUp()))).toEqual([]);
    // The bake (5 minutes from the completion) is over: wave 2, 25% of the four left → 1.
    expect(redeployed(await step(3, await followUp()))).toEqual(['c']);
    // Wave 2 completes and bakes; then the last wave takes the rest.
    expect(redeployed(await step(2, await followUp()))).toEqual([]);
    expect(redeployed(await step(6, await followUp()))).toEqual(['a', 'd', 'e']);
    await step(2, await followUp());
    await step(6, await followUp());
    const last = await record();
    expect(timeline).toEqual([
      [2, ['b']],
      [10, ['c']],
      [18, ['a', 'd', 'e']],
    ]);
    expect(last.waves?.waves.map((w) => w.members.length)).toEqual([1, 1, 3]);
    expect(last.waves?.restarts.every((r) => r.state === 'settled')).toBe(true);
    expect(last.status).toBe('complete');
    // Every service was redeployed exactly once.
    for (const service of scripted.account.services) expect(service.deployments.length).toBe(2);
  }, 120_000);
});

describe('a failing canary', () => {
  it('is the only restart, and Rotation Halted names it, its deployment and ECS reasons', async () => {
    account([
      { name: 'a', tasks: 3, onDeploy: { kind: 'complete', after: 60 } },
      { name: 'b', tasks: 1, onDeploy: { kind: 'rollback', after: 60 } },
      { name: 'c', tasks: 2, onDeploy: { kind: 'complete', after: 60 } },
    ]);
    const first = await runPipeline({ records: event() }, deps, { apply: true });
    expect(redeployed(first)).toEqual(['b']);
    const canary = scripted.account.services.find((s) => s.name === 'b');
    const failedDeployment = canary?.deployments[0]?.id;
    scripted.account.now += 2 * MINUTE;
    const failed = await runPipeline(
      {
        records: deploymentEvent(
          'b',
          'SERVICE_DEPLOYMENT_FAILED',
          'ECS deployment circuit breaker: tasks failed to start.',
        ),
      },
      deps,
      { apply: true },
    );
    expect(redeployed(failed)).toEqual([]);
    const halted = await record();
    expect(halted.waves?.status).toBe('halted');
    expect(halted.waves?.halt).toMatchObject({
      by: 'watcher',
      name: 'b',
      ref: failedDeployment,
    });
    expect(halted.waves?.halt?.stopped.join(' ')).toMatch(/ResourceInitializationError/);
    // Told once, as an alarm, naming what a person needs.
    const published = await seeder.drain(REGION, topic.queueUrl);
    const halts = published
      .map(
        (m) =>
          JSON.parse(m.body) as {
            Subject?: string;
            Message: string;
            MessageAttributes?: Record<string, { Value: string }>;
          },
      )
      .filter((m) => m.Subject?.includes('Rotation Halted'));
    expect(halts).toHaveLength(1);
    const text = halts[0]?.Message ?? '';
    expect(text).toContain(failedDeployment);
    expect(text).toMatch(/circuit breaker/);
    expect(text).toMatch(/ResourceInitializationError/);
    expect(text).toMatch(/\ba\b/);
    expect(text).toMatch(/\bc\b/);
    expect(halts[0]?.MessageAttributes?.severity?.Value).toBe('alarm');
    // Nothing more goes, whatever comes: follow-ups, the sweep, the event again.
    for (const records of [await followUp(), event()]) {
      scripted.account.now += 10 * MINUTE;
      expect(redeployed(await runPipeline({ records }, deps, { apply: true }))).toEqual([]);
    }
    scripted.account.now += 10 * MINUTE;
    expect(redeployed(await runPipeline({ sweep: true }, deps, { apply: true }))).toEqual([]);
    expect(scripted.account.services.find((s) => s.name === 'a')?.deployments).toHaveLength(1);
    expect(scripted.account.services.find((s) => s.name === 'c')?.deployments).toHaveLength(1);
    // Told once only.
    const again = (await seeder.drain(REGION, topic.queueUrl)).filter((m) =>
      m.body.includes('Rotation Halted'),
    );
    expect(again).toHaveLength(0);
  }, 120_000);
});

describe('a wave held back by WATCHER_MAX_ACTIONS', () => {
  it('stays in flight: the rest of it goes on the next looks, and the next wave only after it', async () => {
    const complete: DeploymentScript = { kind: 'complete', after: 60 };
    account([
      { name: 'a', tasks: 1, onDeploy: complete },
      { name: 'b', tasks: 2, onDeploy: complete },
      { name: 'c', tasks: 3, onDeploy: complete },
      { name: 'd', tasks: 4, onDeploy: complete },
    ]);
    const capped: PipelineDeps = buildDeps(
      readSettings({
        WATCHER_STATE_TABLE: table,
        WATCHER_WAVES: '1,100%',
        WATCHER_BAKE: '0',
        WATCHER_MAX_ACTIONS: '2',
        WATCHER_API_SHARE: '1',
      }),
      { home: REGION, now: () => new Date(scripted.account.now) },
    );
    const step = async (minutes: number, records: RecordResult[]) => {
      scripted.account.now += minutes * MINUTE;
      return redeployed(await runPipeline({ records }, capped, { apply: true })).sort();
    };
    expect(await step(0, event())).toEqual(['a']);
    // The canary completes; the second wave (b, c, d) opens, two at a time.
    expect(await step(3, await followUp())).toEqual(['b', 'c']);
    const open = await record();
    expect(open.waves?.waves.map((w) => w.members.length)).toEqual([1, 3]);
    // d is still the wave's: the next look sends it, though b and c are still rolling out.
    expect(await step(0, await followUp())).toEqual(['d']);
    expect(await step(3, await followUp())).toEqual([]);
    for (const service of scripted.account.services) expect(service.deployments.length).toBe(2);
  }, 60_000);
});

describe('a task of the canary failing during the bake', () => {
  it('halts the waves when the bake ends, naming the stopped task’s reason', async () => {
    const complete: DeploymentScript = { kind: 'complete', after: 60 };
    account([
      { name: 'a', tasks: 1, onDeploy: complete },
      { name: 'b', tasks: 2, onDeploy: complete },
    ]);
    const step = async (minutes: number, records: RecordResult[]) => {
      scripted.account.now += minutes * MINUTE;
      return redeployed(await runPipeline({ records }, deps, { apply: true }));
    };
    expect(await step(0, event())).toEqual(['a']);
    expect(
      await step(2, deploymentEvent('a', 'SERVICE_DEPLOYMENT_COMPLETED', 'completed')),
    ).toEqual([]);
    // A minute into the bake, the new task's essential container exits (the new value is bad,
    // and the app only reads it on its first request).
    scripted.account.now += MINUTE;
    const canary = scripted.account.services.find((s) => s.name === 'a');
    const newest = canary?.deployments[0]?.id;
    const task = scripted.account.tasks.find((t) => t.startedBy === newest);
    if (!task) throw new Error('no task of the new deployment');
    Object.assign(task, {
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      stoppedAt: scripted.account.now,
    });
    expect(await step(5, await followUp())).toEqual([]);
    const halted = await record();
    expect(halted.waves?.status).toBe('halted');
    expect(halted.waves?.halt?.reason).toMatch(
      /stopped during the bake \(EssentialContainerExited\)/,
    );
    expect(halted.waves?.halt?.stopped).toEqual(['Essential container in task exited']);
    expect(scripted.account.services.find((s) => s.name === 'b')?.deployments).toHaveLength(1);
  }, 60_000);
});

describe('what the review found', () => {
  const complete: DeploymentScript = { kind: 'complete', after: 60 };
  const run = async (records: RecordResult[] | 'sweep', over: PipelineDeps = deps) =>
    redeployed(
      await runPipeline(records === 'sweep' ? { sweep: true } : { records }, over, { apply: true }),
    ).sort();

  it('spends WATCHER_MAX_ACTIONS on what the waves let go: the canary goes, wherever discovery lists it', async () => {
    account([
      { name: 'a', tasks: 4, onDeploy: complete },
      { name: 'b', tasks: 3, onDeploy: complete },
      { name: 'c', tasks: 2, onDeploy: complete },
      { name: 'd', tasks: 1, onDeploy: complete },
    ]);
    const capped = buildDeps(
      readSettings({
        WATCHER_STATE_TABLE: table,
        WATCHER_MAX_ACTIONS: '2',
        WATCHER_API_SHARE: '1',
      }),
      { home: REGION, now: () => new Date(scripted.account.now) },
    );
    expect(await run(event(), capped)).toEqual(['d']);
  }, 60_000);

  it('holds a consumer another value’s waves have not reached, and one whose other value is halted', async () => {
    const OTHER = '/app/api/key';
    account([
      { name: 'a', tasks: 1, onDeploy: { kind: 'rollback', after: 60 } },
      { name: 'b', tasks: 2, onDeploy: complete },
    ]);
    // b also reads OTHER, which changes later; a does not.
    scripted.account.parameters.push({ name: OTHER, version: 5, lastModified: CHANGE });
    scripted.account.taskDefinitions.push({
      family: 'both',
      revision: 1,
      secrets: [
        { name: 'DB', valueFrom: NAME },
        { name: 'KEY', valueFrom: OTHER },
      ],
    });
    for (const task of scripted.account.tasks)
      if (task.group === 'service:b') task.taskDefinition = 'both:1';
    const b = scripted.account.services.find((s) => s.name === 'b') as ScriptedService;
    for (const d of b.deployments) d.taskDefinition = 'both:1';
    // NAME's canary is a; b waits for its wave.
    expect(await run(event())).toEqual(['a']);
    // Then OTHER changes: its only consumer is b, but NAME's waves have not reached b.
    scripted.account.now += MINUTE;
    const other = scripted.account.parameters.find((p) => p.name === OTHER);
    if (other) Object.assign(other, { version: 6, lastModified: scripted.account.now });
    expect(await run(parsePayload(parameterChange(OTHER, { id: 'evt-2' })))).toEqual([]);
    // a's deployment fails and rolls back: NAME's waves halt; OTHER's event again restarts nothing.
    scripted.account.now += 2 * MINUTE;
    await run(
      deploymentEvent(
        'a',
        'SERVICE_DEPLOYMENT_FAILED',
        'ECS deployment circuit breaker: tasks failed to start.',
      ),
    );
    expect((await record()).waves?.status).toBe('halted');
    const again = await runPipeline(
      { records: parsePayload(parameterChange(OTHER, { id: 'evt-3' })) },
      deps,
      { apply: true },
    );
    expect(redeployed(again)).toEqual([]);
    expect(again.report.actions.find((x) => x.target.endsWith('/b'))?.detail).toMatch(
      /also reads \/app\/db\/password, whose waves are halted/,
    );
    // A day on, NAME's record goes overdue (nobody fixed the value): its halt still holds b.
    scripted.account.now += 24 * 60 * MINUTE;
    await run(await followUp());
    expect((await record()).status).toBe('overdue');
    expect(await run(parsePayload(parameterChange(OTHER, { id: 'evt-4' })))).toEqual([]);
    expect(b.deployments).toHaveLength(1);
  }, 60_000);

  it('lets no wave go on the bake’s end alone: an event after it restarts nothing until a look judged the bake', async () => {
    account([
      { name: 'a', tasks: 1, onDeploy: complete },
      { name: 'b', tasks: 2, onDeploy: complete },
    ]);
    expect(await run(event())).toEqual(['a']);
    scripted.account.now += 2 * MINUTE;
    expect(await run(deploymentEvent('a', 'SERVICE_DEPLOYMENT_COMPLETED', 'completed'))).toEqual(
      [],
    );
    // During the bake the canary's new task exits.
    scripted.account.now += MINUTE;
    const a = scripted.account.services.find((s) => s.name === 'a');
    const task = scripted.account.tasks.find((t) => t.startedBy === a?.deployments[0]?.id);
    if (!task) throw new Error('no task of the new deployment');
    Object.assign(task, {
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: 'TaskFailedToStart',
      stoppedReason: 'ResourceInitializationError: unable to pull secrets',
      stoppedAt: scripted.account.now,
    });
    // Past the bake's end the change's event comes again: nothing goes.
    scripted.account.now += 5 * MINUTE;
    expect(await run(event())).toEqual([]);
    // The look that judges the bake halts the waves.
    expect(await run(await followUp())).toEqual([]);
    expect((await record()).waves?.status).toBe('halted');
  }, 60_000);

  it('settles a Classic Load Balancer deployment (no rolloutState) at its desired count despite one failed task', async () => {
    account([{ name: 'a', tasks: 3, onDeploy: { kind: 'stall' } }]);
    const now = scripted.account.now;
    const service = scripted.account.services[0] as ScriptedService;
    service.deployments = [
      {
        id: 'ecs-svc/new',
        status: 'PRIMARY',
        createdAt: now - 10 * MINUTE,
        updatedAt: now - 5 * MINUTE,
        taskDefinition: 'app:1',
        desiredCount: 3,
        runningCount: 3,
        failedTasks: 1,
      },
    ];
    const arn = 'arn:aws:ecs:us-east-1:123456789012:service/prod/a';
    const waves: Waves = {
      spec: '1,100%',
      status: 'rolling',
      halt: null,
      waves: [
        {
          members: [arn],
          openedAt: new Date(now - 11 * MINUTE).toISOString(),
          settledAt: null,
          bakedAt: null,
        },
      ],
      restarts: [
        {
          arn,
          name: 'a',
          kind: 'redeploy',
          region: REGION,
          parent: 'prod',
          wave: 0,
          ref: 'ecs-svc/new',
          at: new Date(now - 10 * MINUTE).toISOString(),
          state: 'in-flight',
          settledAt: null,
          reason: null,
        },
      ],
    };
    const later = new Date(now + 60 * MINUTE);
    scripted.account.now = later.getTime();
    const facts = await readFacts(waves, deps.clients, [], later);
    expect(facts.get(arn)).toMatchObject({ state: 'settled' });
    expect(settle(waves, facts, later, 300_000).halted).toBe(false);
  });

  it('restarts only what a person confirmed (drift --apply), whatever the cap had held in the plan', async () => {
    account([
      { name: 'a', tasks: 3, onDeploy: complete },
      { name: 'd', tasks: 1, onDeploy: complete },
    ]);
    const capped = buildDeps(
      readSettings({
        WATCHER_STATE_TABLE: table,
        WATCHER_MAX_ACTIONS: '1',
        WATCHER_API_SHARE: '1',
      }),
      { home: REGION, now: () => new Date(scripted.account.now) },
    );
    // Asked when the plan held d back by the cap, the person confirmed a alone: d is not
    // restarted (before, the gate spent the cap on it and sent it); the waves choose among what
    // may go, so a is the canary.
    const confirmed = new Set(['redeploy#arn:aws:ecs:us-east-1:123456789012:service/prod/a']);
    const done = await runPipeline({ sweep: true }, capped, { apply: true, confirmed });
    expect(redeployed(done)).toEqual(['a']);
    expect(done.report.actions.find((x) => x.target.endsWith('/d'))?.detail).toMatch(
      /not in what was confirmed/,
    );
  }, 60_000);
});
