// IAM, evaluated: the real functions (on-change, then the sweep) run against moto in every
// configuration of the packaged template; every AWS call they make is recorded (AwsClients'
// onCall hook), turned into the IAM requests AWS authorises for it (action, resource ARNs, the
// resources' tags, the request's tags, service keys), and evaluated against the role resolved for
// that configuration with @cloud-copilot/iam-simulate. A denied call fails; so does a grant that
// no recorded call needs. The configurations restart all at once (Waves all); the staged restarts'
// own calls (the look at a wave in flight that ECS and Batch events and the record's follow-up
// bring, and the next wave let go) are recorded by a scenario with the template's default waves.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('../../lib/aws/index.js', async (importOriginal) => {
  const { recording } = await import('../helpers/iam-recorder.js');
  return recording(await importOriginal<typeof import('../../lib/aws/index.js')>());
});

import { DescribeJobsCommand, type JobDetail, ListJobsCommand } from '@aws-sdk/client-batch';
import { DescribeServicesCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createHandler as createOnChange } from '../../functions/on-change.js';
import { createHandler as createSweep } from '../../functions/sweep.js';
import { buildDeps } from '../../lib/compose.js';
import { readSettings } from '../../lib/config.js';
import { ACCOUNT } from '../../scripts/seed.js';
import { type SlackStub, startSlackStub } from '../../scripts/slack-stub.js';
import { packageStack, type Template } from '../helpers/cloudformation.js';
import { sqsBatch } from '../helpers/events.js';
import {
  evaluate,
  type Grant,
  grantKey,
  grantsOf,
  isInert,
  type Statement,
  type Verdict,
} from '../helpers/iam-evaluate.js';
import { type RecordedCall, takeCalls } from '../helpers/iam-recorder.js';
import { type IamRequest, iamRequests } from '../helpers/iam-requests.js';
import {
  type Configuration,
  configurations,
  environmentFor,
  freshTables,
  HOME,
  holdJobs,
  PARAMETER,
  roleFor,
  rotate,
  seedWorld,
  topicKeys,
  type World,
} from '../helpers/iam-world.js';
import { useMoto } from '../helpers/moto.js';
import { startFaultProxy } from '../support/fault-proxy.js';

let onChange = createOnChange();
/** A cold start: the handler of a new Lambda container. */
const resetOnChange = () => {
  onChange = createOnChange();
};
let sweep = createSweep();
/** A cold start: the handler of a new Lambda container. */
const resetSweep = () => {
  sweep = createSweep();
};

// moto's services run their desired count, so a service's deployment is COMPLETED (moto 5.2 keeps
// one deployment per service, its id and times rewritten in place by a forced new deployment;
// without this its rolloutState stays IN_PROGRESS for ever and no wave could end). The server
// started for this file (useMoto, below) inherits it; taken back once it runs (beforeAll).
process.env.MOTO_ECS_SERVICE_RUNNING = '1';
const env = useMoto();
const CONFIGURATIONS = configurations();
/** The runs the cross-configuration checks need: each configuration's, the failure paths', the waves'. */
const RUNS = CONFIGURATIONS.length + 2;

/**
 * Statements used by the Lambda service on the functions' behalf, not by their code, so no
 * recorded call needs them: the log group writes of the runtime, and the SQS event source's
 * polling of the changes queue.
 */
const PLATFORM = new Set(['WriteOwnLogs', 'ReadChangesQueue']);

/**
 * Grants no call needs, known and reported, each waiting for a change of serverless.yml outside
 * this test's remit. Each must still be granted and still unused: fixing one fails this list.
 */
const KNOWN_UNUSED: Record<string, string> = {
  [`PassRolesOfResubmittedJobs | iam:PassRole | arn:aws:iam::${ACCOUNT}:role/batch-exec`]:
    'SubmitJob passes no role (its overrides carry none; the definition does, at RegisterJobDefinition)',
  [`PassRolesOfResubmittedJobs | iam:PassRole | arn:aws:iam::${ACCOUNT}:role/batch-job`]:
    'SubmitJob passes no role (its overrides carry none; the definition does, at RegisterJobDefinition)',
};

type Fn = 'on-change' | 'sweep';

interface Evaluated {
  fn: Fn;
  call: RecordedCall;
  request: IamRequest;
  /** One verdict per role variant: without and with PassRoleArns. */
  verdicts: Verdict[];
}

interface Run {
  config: Configuration;
  roles: Statement[][];
  evaluated: Evaluated[];
  jobs: { tagged: string; untagged: string };
}

const runs: Run[] = [];
let slack: SlackStub;
let template: Template;
let world: World;

beforeAll(async () => {
  delete process.env.MOTO_ECS_SERVICE_RUNNING;
  slack = await startSlackStub();
  const packaged = packageStack();
  expect(packaged.result.status, packaged.result.stderr).toBe(0);
  template = packaged.template;
  await env.reset();
  // A Batch job that runs across a change: moto's Docker backend keeps a job's thread waiting
  // for a dependency that never comes, and an immediate state transition shows it RUNNING (its
  // Docker-free backend finishes every job inside SubmitJob). Without Docker, a job that would
  // really start fails at once, which is all a resubmitted job needs to do here.
  for (const [path, body] of [
    ['config', { batch: { use_docker: true } }],
    [
      'state-manager/set-transition',
      { model_name: 'batch::job', transition: { progression: 'immediate' } },
    ],
  ] as const) {
    const reply = await fetch(`${env.moto.endpoint}/moto-api/${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    expect(reply.ok).toBe(true);
  }
  world = await seedWorld(env, slack.url);
}, 180_000);

afterAll(async () => {
  await slack?.stop();
});

/** A Parameter Store Change event as EventBridge delivers it. */
function parameterEvent(id: string) {
  return {
    version: '0',
    id,
    'detail-type': 'Parameter Store Change',
    source: 'aws.ssm',
    account: ACCOUNT,
    time: new Date(Date.now() + 1000).toISOString(),
    region: HOME,
    resources: [`arn:aws:ssm:${HOME}:${ACCOUNT}:parameter${PARAMETER}`],
    detail: { operation: 'Update', name: PARAMETER, type: 'SecureString', description: '' },
  };
}

/** Sets a function's WATCHER_* environment, as the template gives it, and nothing else of ours. */
function useEnvironment(variables: Record<string, string>): void {
  for (const name of Object.keys(process.env))
    if (name.startsWith('WATCHER_')) delete process.env[name];
  // The whole of each bucket: the world grows with every configuration, and what is checked here
  // is which calls are made, not how fast (the hand-over run below sets its own share).
  Object.assign(process.env, variables, { AWS_REGION: HOME, WATCHER_API_SHARE: '1' });
}

const inputOf = (call: RecordedCall) => call.input as Record<string, unknown>;
const callsTo = (calls: RecordedCall[], api: string) => calls.filter((call) => call.api === api);
const describeRequest = (e: Evaluated) =>
  `${e.fn}: ${e.request.action} on ${e.request.resource} ${JSON.stringify(e.request.context)}`;

/**
 * One run of a configuration: a change of the parameter every consumer reads, delivered to
 * on-change as the changes queue delivers it, then a sweep; each with the environment the
 * template gives that function. Records the calls, evaluates them against the role (with and
 * without PassRoleArns) and keeps the lot for the checks across configurations.
 */
async function runConfiguration(config: Configuration, run: number, options = { again: false }) {
  await freshTables(template, world);
  const jobs = await holdJobs(env, world, run);
  await rotate(env, run);
  resetOnChange();
  resetSweep();
  slack.received.length = 0;
  takeCalls();

  useEnvironment(environmentFor(template, 'OnDashchangeLambdaFunction', config, world));
  const reply = await onChange(sqsBatch(parameterEvent(`evt-${run}`)));
  if (options.again) {
    // A second rotation while the first is open: its record supersedes the first, which leaves
    // the sweep's list.
    await rotate(env, run + 1_000);
    await onChange(sqsBatch(parameterEvent(`evt-${run}-again`)));
  }
  const changed = takeCalls();
  useEnvironment(environmentFor(template, 'SweepLambdaFunction', config, world));
  const swept = await sweep();
  // A sweep with 1 s to read, at a hundredth of each bucket (one token, then one per 5 s),
  // cannot read the account: it hands over to a new invocation of itself.
  resetSweep();
  process.env.WATCHER_API_SHARE = '0.01';
  await sweep(
    {},
    {
      getRemainingTimeInMillis: () => 16_000,
      invokedFunctionArn: `arn:aws:lambda:${HOME}:${ACCOUNT}:function:rotation-watcher-dev-sweep`,
    },
  );
  delete process.env.WATCHER_API_SHARE;
  resetSweep();
  const calls = [
    ...changed.map((call) => ({ fn: 'on-change' as const, call })),
    ...takeCalls().map((call) => ({ fn: 'sweep' as const, call })),
  ];

  const denied = await evaluateRun(config, calls, jobs);
  return { reply, swept, calls: calls.map(({ call }) => call), changed, jobs, denied };
}

/**
 * Evaluates a run's recorded calls against the configuration's role (with and without
 * PassRoleArns), keeps the lot for the checks across configurations, and returns the requests
 * denied.
 */
async function evaluateRun(
  config: Configuration,
  calls: Array<{ fn: Fn; call: RecordedCall }>,
  jobs: Run['jobs'],
): Promise<string[]> {
  world.known.topicKeys = topicKeys(template, config, world);
  const roles = [false, true].map((passRoles) => roleFor(template, config, world, passRoles));
  const evaluated: Evaluated[] = [];
  for (const { fn, call } of calls)
    for (const request of iamRequests(call, world.known))
      evaluated.push({
        fn,
        call,
        request,
        verdicts: await Promise.all(roles.map((role) => evaluate(role, request))),
      });
  runs.push({ config, roles, evaluated, jobs });
  return evaluated
    .filter((e) => e.verdicts.some((verdict) => verdict.decision !== 'Allowed'))
    .map(describeRequest);
}

describe('every call the functions make is allowed by the packaged role', () => {
  it.each(CONFIGURATIONS.map((config, index) => [config.label, config, index + 1] as const))(
    '%s',
    async (_label, config, run) => {
      const { reply, swept, calls, jobs, denied } = await runConfiguration(config, run);
      expect(denied).toEqual([]);
      expect(reply).toEqual({ batchItemFailures: [] });
      expect(swept.complete).toBe(true);

      // The scenario did what this configuration asks for: restarts by tag always, untagged ones
      // by the default action, and each configured channel told.
      const updated = callsTo(calls, 'UpdateService').map((call) => inputOf(call).service);
      expect(new Set(updated)).toEqual(
        new Set([
          world.services.tagged,
          world.services.taggedOther,
          ...(config.defaultAction === 'redeploy' ? [world.services.untagged] : []),
        ]),
      );
      const submitted = callsTo(calls, 'SubmitJob').map((call) => inputOf(call).jobDefinition);
      expect(new Set(submitted)).toEqual(
        new Set([
          world.definitions.tagged,
          ...(config.defaultAction === 'resubmit' ? [world.definitions.untagged] : []),
        ]),
      );
      const terminated = callsTo(calls, 'TerminateJob').map((call) => inputOf(call).jobId);
      expect(terminated).toHaveLength(submitted.length);
      expect(terminated).toContain(jobs.tagged.split('/').pop());
      const topic = config.topic === 'created' ? world.topics.created : world.topics.existing;
      expect(new Set(callsTo(calls, 'Publish').map((call) => inputOf(call).TopicArn))).toEqual(
        new Set([topic]),
      );
      expect(callsTo(calls, 'GetParameter').length > 0).toBe(config.slack);
      expect(slack.received.length > 0).toBe(config.slack);
      expect(callsTo(calls, 'PutEvents').length > 0).toBe(config.bus);
      expect(callsTo(calls, 'DescribeSecret').length).toBeGreaterThan(0);
    },
    60_000,
  );

  it('and when restarts fail (the calls of the failure paths: a read-back, a lease given back, a record superseded)', async () => {
    // A fault proxy in front of moto refuses the tagged service's UpdateService (nothing changed:
    // its lease is given back) and answers 500 to the tagged job's SubmitJob (it may have been
    // done: read back by ListJobs by name and DescribeJobs, the lease kept); the record comes back.
    const proxy = await startFaultProxy(env.moto.endpoint, {
      rules: [
        {
          fault: 'denied',
          rate: 1,
          apis: ['ecs:UpdateService'],
          inputContains: `${world.services.tagged}"`,
        },
        {
          fault: 'error500',
          rate: 1,
          apis: ['batch:SubmitJob'],
          inputContains: `${world.definitions.tagged}"`,
        },
      ],
    });
    const direct = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = proxy.endpoint;
    try {
      const config = { ...(CONFIGURATIONS[0] as Configuration) };
      config.label = `${config.label}, the tagged service's restart refused, the job's answered 500`;
      const { reply, calls, changed, denied } = await runConfiguration(
        config,
        CONFIGURATIONS.length + 1,
        {
          again: true,
        },
      );
      expect(denied).toEqual([]);
      expect(reply).toEqual({ batchItemFailures: [{ itemIdentifier: expect.any(String) }] });
      expect(callsTo(calls, 'UpdateService').map((call) => inputOf(call).service)).toContain(
        world.services.tagged,
      );
      const readBack = callsTo(calls, 'ListJobs').filter((call) => inputOf(call).filters);
      expect(readBack.length).toBeGreaterThan(0);
      if (world.tables.size > 0) expect(callsTo(calls, 'DeleteItem').length).toBeGreaterThan(0);
      // The second on-change run itself takes the superseded record off the sweep's list.
      const untracked = callsTo(changed, 'DeleteItem').filter(
        (call) => (inputOf(call).Key as { pk: { S: string } }).pk.S === 'open#rot',
      );
      if (world.tables.size > 0) expect(untracked.length).toBeGreaterThan(0);
    } finally {
      process.env.AWS_ENDPOINT_URL = direct;
      await proxy.stop();
    }
  });

  it("and when restarts go out in waves (the template's Waves and Bake): the canary alone, an ECS deployment event, the follow-up that looks at the bake and lets the next wave go, a Batch job event", async () => {
    // The template's default waves: the tagged service, tagged the canary, goes first; the rest
    // wait until its deployment COMPLETED and baked. Slack, the bus and the stack's own topic, so
    // that a halt is told on every channel.
    const base = CONFIGURATIONS.find(
      (c) => c.defaultAction === 'notify' && c.slack && c.bus && c.topic === 'created',
    ) as Configuration;
    const { waves: _all, ...staged } = base;
    const config: Configuration = { ...staged, label: `${base.label}, default waves` };
    const run = CONFIGURATIONS.length + 2;
    await freshTables(template, world);
    // The stack's changes queue (WATCHER_QUEUE_URL): the record's follow-ups are its messages, and
    // a follow-up that cannot send the next one is handed back.
    const sqs = new SQSClient({ region: HOME });
    await sqs.send(new CreateQueueCommand({ QueueName: 'rotation-watcher-dev-ChangesQueue' }));
    sqs.destroy();
    const environment = environmentFor(template, 'OnDashchangeLambdaFunction', config, world);
    expect(environment.WATCHER_WAVES).toBe('1,25%,100%');
    expect(environment.WATCHER_BAKE).toBe('5m');
    /** How far ahead the clock of the looks after the bake is: past the 5-minute bake. */
    const BAKE_PASSED_MS = 6 * 60_000;
    const jobs = await holdJobs(env, world, run);
    await rotate(env, run);
    slack.received.length = 0;
    takeCalls();
    const calls: Array<{ fn: Fn; call: RecordedCall }> = [];
    /**
     * One on-change invocation (a cold start) with the template's environment, given what the
     * changes queue delivers; `ahead`: its clock that far ahead of now (the bake has passed).
     */
    const deliver = async (payload: unknown, ahead = 0) => {
      useEnvironment(environment);
      const handler =
        ahead === 0
          ? createOnChange()
          : createOnChange(() =>
              buildDeps(readSettings(process.env), {
                home: HOME,
                queueUrl: process.env.WATCHER_QUEUE_URL?.trim() || null,
                now: () => new Date(Date.now() + ahead),
              }),
            );
      const reply = await handler(payload);
      const made = takeCalls();
      calls.push(...made.map((call) => ({ fn: 'on-change' as const, call })));
      expect(reply).toEqual({ batchItemFailures: [] });
      return made;
    };
    const restarted = (made: RecordedCall[]) => ({
      services: callsTo(made, 'UpdateService').map((call) => inputOf(call).service),
      jobs: callsTo(made, 'SubmitJob').map((call) => inputOf(call).jobDefinition),
    });

    // 1. The change: only the canary is redeployed.
    const first = await deliver(sqsBatch(parameterEvent(`evt-${run}`)));
    expect(restarted(first)).toEqual({ services: [world.services.tagged], jobs: [] });
    const ecs = env.seed.ecs(HOME);
    const { services: [service] = [] } = await ecs.send(
      new DescribeServicesCommand({ cluster: world.cluster, services: [world.services.tagged] }),
    );
    const deployment = service?.deployments?.find((d) => d.status === 'PRIMARY');
    expect(deployment?.rolloutState).toBe('COMPLETED');
    const deploymentId = deployment?.id as string;

    // 2. ECS says the canary's deployment completed: the look reads it (DescribeServices), the
    // wave settles and bakes; nothing more goes yet.
    const second = await deliver(
      sqsBatch({
        version: '0',
        id: `evt-${run}-deployment`,
        'detail-type': 'ECS Deployment State Change',
        source: 'aws.ecs',
        account: ACCOUNT,
        time: new Date().toISOString(),
        region: HOME,
        resources: [world.services.tagged],
        detail: {
          eventType: 'INFO',
          eventName: 'SERVICE_DEPLOYMENT_COMPLETED',
          deploymentId,
          updatedAt: (deployment?.updatedAt ?? new Date()).toISOString(),
          reason: `ECS deployment ${deploymentId} completed.`,
        },
      }),
    );
    expect(
      callsTo(second, 'DescribeServices').flatMap((call) => inputOf(call).services as string[]),
    ).toContain(world.services.tagged);
    expect(restarted(second)).toEqual({ services: [], jobs: [] });

    // A task of the new deployment (moto's scheduler starts none) that a person stopped during
    // the bake: the bake's look describes it, and it is no failure.
    const [task] = await env.seed.serviceTasks(
      HOME,
      world.cluster,
      'checkout',
      service?.taskDefinition as string,
      1,
      deploymentId,
    );
    await ecs.send(
      new StopTaskCommand({ cluster: world.cluster, task, reason: 'Stopped by a person' }),
    );

    // 3. The record's follow-up, as the watcher sent it, once the bake is over: the look at the
    // bake (the deployment's stopped tasks), then the account read for the change, and the next
    // wave let go.
    const followUp = calls
      .filter(({ call }) => call.api === 'SendMessage')
      .map(({ call }) => JSON.parse(String(inputOf(call).MessageBody)) as Record<string, string>)
      .filter((message) => message['rotation-watcher'] === 'follow-up')
      .at(-1);
    expect(followUp?.pk).toMatch(/^rot#/);
    const third = await deliver(sqsBatch(followUp), BAKE_PASSED_MS);
    const bakeLook = callsTo(third, 'ListTasks').filter(
      (call) =>
        inputOf(call).startedBy === deploymentId && inputOf(call).desiredStatus === 'STOPPED',
    );
    expect(bakeLook.length).toBeGreaterThan(0);
    expect(
      callsTo(third, 'DescribeTasks').flatMap((call) => inputOf(call).tasks as string[]),
    ).toContain(task);
    expect(restarted(third)).toEqual({ services: [], jobs: [world.definitions.tagged] });
    expect(callsTo(third, 'TerminateJob').map((call) => inputOf(call).jobId)).toEqual([
      jobs.tagged.split('/').pop(),
    ]);

    // 4. Batch says what became of the resubmitted job (the event's detail is the job as
    // DescribeJobs shows it): the look reads it (DescribeJobs).
    const job = await resubmittedJob(jobs);
    expect(job.status).toBe('FAILED');
    const fourth = await deliver(
      sqsBatch({
        version: '0',
        id: `evt-${run}-job`,
        'detail-type': 'Batch Job State Change',
        source: 'aws.batch',
        account: ACCOUNT,
        time: new Date().toISOString(),
        region: HOME,
        resources: [job.jobArn],
        detail: job,
      }),
      BAKE_PASSED_MS + 60_000,
    );
    expect(
      callsTo(fourth, 'DescribeJobs').flatMap((call) => inputOf(call).jobs as string[]),
    ).toContain(job.jobId);
    // It failed: the waves halt, and Rotation Halted is told on every channel.
    expect(restarted(fourth)).toEqual({ services: [], jobs: [] });
    const halted = callsTo(fourth, 'PutEvents').flatMap(
      (call) => inputOf(call).Entries as Array<{ DetailType: string }>,
    );
    expect(halted.map((entry) => entry.DetailType)).toContain('Rotation Halted');
    expect(callsTo(fourth, 'Publish').length).toBeGreaterThan(0);
    expect(slack.received.length).toBeGreaterThan(0);

    expect(await evaluateRun(config, calls, jobs)).toEqual([]);
  }, 60_000);
});

/**
 * The job submitted in place of the held tagged one, once Batch has taken it to RUNNING,
 * SUCCEEDED or FAILED (moto without Docker fails a job that would start at once).
 */
async function resubmittedJob(held: Run['jobs']): Promise<JobDetail> {
  const batch = env.seed.batch(HOME);
  const heldIds = new Set([held.tagged, held.untagged].map((arn) => arn.split('/').pop()));
  for (let attempt = 0; attempt < 100; attempt++) {
    const ids: string[] = [];
    for (const jobStatus of JOB_STATUSES) {
      const { jobSummaryList = [] } = await batch.send(
        new ListJobsCommand({ jobQueue: world.queue, jobStatus }),
      );
      for (const summary of jobSummaryList)
        if (summary.jobId && !heldIds.has(summary.jobId)) ids.push(summary.jobId);
    }
    const { jobs = [] } = ids.length
      ? await batch.send(new DescribeJobsCommand({ jobs: ids }))
      : { jobs: [] };
    expect(jobs.length).toBeLessThanOrEqual(1);
    const job = jobs[0];
    if (job && ['RUNNING', 'SUCCEEDED', 'FAILED'].includes(job.status ?? '')) return job;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the resubmitted job did not start or end');
}

const JOB_STATUSES = [
  'SUBMITTED',
  'PENDING',
  'RUNNABLE',
  'STARTING',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
] as const;

describe('the role grants nothing that no call needs', () => {
  /** Every grant of every configuration's role, but the platform's, by key, with its sources. */
  async function allGrants(): Promise<{ grants: Map<string, Grant>; inert: Set<string> }> {
    const grants = new Map<string, Grant>();
    const inert = new Set<string>();
    for (const run of runs)
      for (const role of run.roles)
        for (const grant of grantsOf(role)) {
          if (PLATFORM.has(grant.sid)) continue;
          if (await isInert(grant)) inert.add(grantKey(grant));
          else grants.set(grantKey(grant), grant);
        }
    return { grants, inert };
  }

  /** Each grant that allowed a recorded request → where it was first made. */
  function usedGrants(): Map<string, { grant: Grant; by: string }> {
    const used = new Map<string, { grant: Grant; by: string }>();
    for (const run of runs)
      for (const e of run.evaluated)
        for (const verdict of e.verdicts)
          for (const grant of verdict.allowedBy)
            if (!used.has(grantKey(grant)))
              used.set(grantKey(grant), {
                grant,
                by: `iam.test.ts › ${run.config.label} (functions/${e.fn}: ${e.call.service}:${e.call.api})`,
              });
    return used;
  }

  it('every grant of every configuration is used by a recorded call (platform statements apart)', async () => {
    expect(runs, 'run the whole file: the configurations record the calls').toHaveLength(RUNS);
    const { grants, inert } = await allGrants();
    const used = usedGrants();
    const unused = [...grants.keys()].filter((key) => !used.has(key) && !(key in KNOWN_UNUSED));
    expect(unused).toEqual([]);
    // The known ones are still there and still unused; a fixed one must leave the list.
    for (const key of Object.keys(KNOWN_UNUSED)) {
      expect(grants.has(key), `${key} is no longer granted`).toBe(true);
      expect(used.has(key), `${key} is used now`).toBe(false);
    }
    // Pairs that cannot allow anything (the action has no such resource type) are not grants.
    expect([...inert].filter((key) => used.has(key))).toEqual([]);

    // The (API, resource pattern) pairs the role grants, each with the test that makes the call.
    const rows = [...used.values()]
      .sort(
        (a, b) =>
          a.grant.action.localeCompare(b.grant.action) ||
          a.grant.resource.localeCompare(b.grant.resource),
      )
      .map(({ grant, by }) => `| ${grant.action} | ${grant.resource} | ${grant.sid} | ${by} |`);
    const table = [
      '| API | resource pattern | statement | recorded in |',
      '| --- | --- | --- | --- |',
      ...rows,
      ...[...inert].map((key) => `| (inert) ${key} | | | never matches a resource of the action |`),
    ].join('\n');
    if (process.env.IAM_PAIRS_OUT) writeFileSync(process.env.IAM_PAIRS_OUT, `${table}\n`);
  });

  it('removing RedeployTaggedServices denies the recorded UpdateService of the tagged service', async () => {
    const run = runs.find((r) => r.config.defaultAction === 'notify');
    const update = run?.evaluated.find(
      (e) =>
        e.request.action === 'ecs:UpdateService' && e.request.resource === world.services.tagged,
    );
    expect(update).toBeDefined();
    const role = run?.roles[0] as Statement[];
    const request = update?.request as IamRequest;
    const full = await evaluate(role, request);
    expect(full.decision).toBe('Allowed');
    expect(full.allowedBy.map((grant) => grant.sid)).toEqual(['RedeployTaggedServices']);
    const without = role.filter((statement) => statement.Sid !== 'RedeployTaggedServices');
    expect((await evaluate(without, request)).decision).toBe('ImplicitlyDenied');
  });

  it('each statement is needed: without it, some recorded call of some configuration is denied', async () => {
    const sids = new Set(
      runs.flatMap((run) => run.roles.flatMap((role) => role.map((s) => String(s.Sid)))),
    );
    // Statements all of whose grants are known to be unused cannot be needed.
    const knownUnusedSids = new Set(
      [...sids].filter((sid) =>
        runs.every((run) =>
          run.roles.every((role) =>
            grantsOf(role)
              .filter((grant) => grant.sid === sid)
              .every((grant) => grantKey(grant) in KNOWN_UNUSED),
          ),
        ),
      ),
    );
    const unneeded: string[] = [];
    for (const sid of sids) {
      if (PLATFORM.has(sid) || knownUnusedSids.has(sid)) continue;
      let needed = false;
      for (const run of runs) {
        const role = run.roles[1] as Statement[];
        if (!role.some((statement) => statement.Sid === sid)) continue;
        const without = role.filter((statement) => statement.Sid !== sid);
        for (const e of run.evaluated) {
          if ((await evaluate(without, e.request)).decision !== 'Allowed') {
            needed = true;
            break;
          }
        }
        if (needed) break;
      }
      if (!needed) unneeded.push(sid);
    }
    expect(unneeded).toEqual([]);
  });
});

describe('batch:TagResource: only what a SubmitJob with tags needs', () => {
  const resubmitTag = {
    'aws:RequestTag/rotation-watcher:action': 'resubmit',
    'aws:TagKeys': ['rotation-watcher:action'],
  };

  it('no configuration lets the role tag an existing job (to make it resubmit, then terminate it)', async () => {
    expect(runs).toHaveLength(RUNS);
    for (const run of runs)
      for (const role of run.roles)
        for (const job of [run.jobs.tagged, run.jobs.untagged]) {
          const request = {
            action: 'batch:TagResource',
            resource: job,
            context: { ...tagsOf(job), ...resubmitTag },
          };
          expect((await evaluate(role, request)).decision, `${run.config.label}: ${job}`).toBe(
            'ImplicitlyDenied',
          );
        }
  });

  it('nor tag a job definition it could not submit anyway', async () => {
    for (const run of runs)
      for (const role of run.roles) {
        const request = {
          action: 'batch:TagResource',
          resource: world.definitions.untagged,
          context: resubmitTag,
        };
        expect((await evaluate(role, request)).decision, run.config.label).toBe(
          run.config.defaultAction === 'resubmit' ? 'Allowed' : 'ImplicitlyDenied',
        );
      }
  });

  it('while the recorded SubmitJob with tags, tag-on-create included, is allowed', () => {
    const tagOnCreate = runs.flatMap((run) =>
      run.evaluated.filter(
        (e) => e.call.api === 'SubmitJob' && e.request.action === 'batch:TagResource',
      ),
    );
    const resources = new Set(tagOnCreate.map((e) => e.request.resource));
    expect(resources).toContain(world.definitions.tagged);
    expect(resources).toContain(world.definitions.untagged);
    for (const resource of resources)
      expect(resource).toMatch(/:job-queue\/nightly-\d+$|:job-definition\/(report|export):1$/);
    expect(tagOnCreate.every((e) => e.verdicts.every((v) => v.decision === 'Allowed'))).toBe(true);
  });

  it('the grant it replaced (TagResource on job/*, no condition) would have let it', async () => {
    const run = runs[0] as Run;
    const before = [
      ...(run.roles[0] as Statement[]),
      {
        Sid: 'SubmitToQueuesAndTagNewJobs',
        Effect: 'Allow',
        Action: ['batch:SubmitJob', 'batch:TagResource'],
        Resource: [`arn:aws:batch:*:${ACCOUNT}:job-queue/*`, `arn:aws:batch:*:${ACCOUNT}:job/*`],
      },
    ];
    const request = {
      action: 'batch:TagResource',
      resource: run.jobs.untagged,
      context: resubmitTag,
    };
    expect((await evaluate(before, request)).decision).toBe('Allowed');
  });

  function tagsOf(resource: string) {
    return Object.fromEntries(
      Object.entries(world.known.tags.get(resource) ?? {}).map(([key, value]) => [
        `aws:ResourceTag/${key}`,
        value,
      ]),
    );
  }
});

describe('the requests', () => {
  it('refuse a call whose authorisation nobody described', () => {
    expect(() =>
      iamRequests({ service: 's3', api: 'GetObject', region: HOME, input: {} }, world.known),
    ).toThrow(/no IAM mapping for s3:GetObject/);
  });
});
