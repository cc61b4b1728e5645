// A redeploy the circuit breaker rolled back: the service's deployments look as they did before
// the change, so it reads as stale exactly as before. The rotation record knows the watcher
// already redeployed it for this change: the next run (a redelivery, the sweep) notifies with that
// reason instead of forcing a deployment that would be rolled back the same way. ECS and SSM come
// from the scripted account (moto cannot roll back); the state table is moto's DynamoDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeps } from '../../lib/compose.js';
import { readSettings } from '../../lib/config.js';
import { parsePayload } from '../../lib/events/index.js';
import { type PipelineDeps, runPipeline } from '../../lib/pipeline.js';
import { type Moto, startMoto } from '../../scripts/moto.js';
import { Seeder } from '../../scripts/seed.js';
import { parameterChange } from '../helpers/events.js';
import { useScriptedAccount } from '../helpers/scripted.js';
import { emptyAccount, type ScriptedDeployment } from '../support/account/index.js';

const scripted = useScriptedAccount();
const REGION = 'us-east-1';
const NAME = '/app/db/password';
const CHANGE = Date.parse('2026-11-20T12:00:00Z');
const MINUTE = 60_000;

let moto: Moto;
let deps: PipelineDeps;

beforeAll(async () => {
  moto = await startMoto();
  // Only DynamoDB goes to moto; everything else to the scripted account.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = moto.endpoint;
  const table = await new Seeder().stateTable(REGION, 'rolled-back');
  const a = emptyAccount(CHANGE + 2 * MINUTE);
  a.clusters = ['prod'];
  a.parameters = [{ name: NAME, version: 2, lastModified: CHANGE }];
  a.taskDefinitions = [{ family: 'app', revision: 1, secrets: [{ name: 'DB', valueFrom: NAME }] }];
  const before: ScriptedDeployment = {
    id: 'ecs-svc/1',
    status: 'PRIMARY',
    rolloutState: 'COMPLETED',
    createdAt: CHANGE - 60 * MINUTE,
    updatedAt: CHANGE - 50 * MINUTE,
    taskDefinition: 'app:1',
  };
  a.services = [
    {
      cluster: 'prod',
      name: 'api',
      status: 'ACTIVE',
      desiredCount: 1,
      tags: { 'rotation-watcher:action': 'redeploy' },
      deployments: [before],
    },
  ];
  a.tasks = [
    {
      cluster: 'prod',
      id: 'old',
      taskDefinition: 'app:1',
      group: 'service:api',
      startedBy: 'ecs-svc/1',
      createdAt: CHANGE - 60 * MINUTE,
      startedAt: CHANGE - 59 * MINUTE,
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
    },
  ];
  Object.assign(scripted.account, a);
  deps = {
    ...buildDeps(readSettings({ WATCHER_STATE_TABLE: table }), { home: REGION }),
    now: () => new Date(scripted.account.now),
  };
}, 60_000);

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  await moto?.stop();
});

const redeploys = (run: Awaited<ReturnType<typeof runPipeline>>) =>
  run.report.actions.filter((action) => action.kind === 'redeploy');

describe('a redeploy that was rolled back', () => {
  it('is redeployed once, then notified with the reason, not redeployed again', async () => {
    const event = () => parsePayload(parameterChange(NAME, { id: 'evt-1' }));
    const first = await runPipeline({ records: event() }, deps, { apply: true });
    expect(redeploys(first).map((action) => action.status)).toEqual(['done']);
    const service = scripted.account.services[0];
    expect(service?.deployments).toHaveLength(2);

    // The new deployment's tasks fail; the circuit breaker rolls back to the deployment from
    // before the change, and ECS no longer lists the failed one.
    scripted.account.now += 20 * MINUTE;
    if (service) service.deployments = service.deployments.slice(1);

    for (const again of [
      await runPipeline({ records: event() }, deps, { apply: true }),
      await runPipeline({ sweep: true }, deps, { apply: true }),
    ]) {
      expect(redeploys(again)).toEqual([]);
      const decided = again.plan.decisions.find((d) => d.consumer.name === 'api');
      expect(decided).toMatchObject({ action: 'notify', basis: 'restart-undone' });
      expect(decided?.reason).toMatch(/already redeployed it for this change/);
    }
    expect(service?.deployments).toHaveLength(1);
  }, 60_000);
});
