// Runs that share one set of clients (a Lambda container's between invocations, `wait`'s checks,
// tests) each count their own calls and keep their own time limit, even when they overlap; the
// SDK clients and the budget's buckets stay shared. Served through the real SDK stack.
import { ListClustersCommand } from '@aws-sdk/client-ecs';
import { DescribeParametersCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { AwsClients, TimeLimitError } from '../../lib/aws/index.js';
import { readSettings } from '../../lib/config.js';
import { DefinitionCache } from '../../lib/consumers/definitions.js';
import { parsePayload } from '../../lib/events/index.js';
import { runPipeline } from '../../lib/pipeline.js';
import { type AwsRequest, awsError, RecordedAws } from '../helpers/recorded-aws.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };
const ACCOUNT = '123456789012';

/** A promise and the function that settles it: a reply held until the test lets it go. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a run on shared clients', () => {
  it('counts its own calls while another run calls at the same time', async () => {
    const held = gate();
    const recorded = new RecordedAws(async (request) => {
      if (request.operation === 'ListClusters') await held.opened;
      return { body: request.operation === 'ListClusters' ? { clusterArns: [] } : {} };
    });
    const clients = new AwsClients({ requestHandler: recorded, credentials, maxAttempts: 1 });
    const ecs = clients.get('ecs', 'us-east-1');
    const ssm = clients.get('ssm', 'us-east-1');
    // A's calls wait on the gate while B makes all of its own: they overlap.
    const a = clients.run(async () => {
      await Promise.all([1, 2, 3].map(() => ecs.send(new ListClustersCommand({}))));
      return clients.counter.byApi();
    });
    const b = clients.run(async () => {
      await ssm.send(new DescribeParametersCommand({}));
      await ssm.send(new DescribeParametersCommand({}));
      const mine = clients.counter.byApi();
      held.open();
      return mine;
    });
    const [countedA, countedB] = await Promise.all([a, b]);
    expect(Object.keys(countedA)).toEqual(['ecs:ListClusters']);
    expect(countedA['ecs:ListClusters']?.calls).toBe(3);
    expect(Object.keys(countedB)).toEqual(['ssm:DescribeParameters']);
    expect(countedB['ssm:DescribeParameters']?.calls).toBe(2);
    // Outside any run, the clients' own tally holds both.
    expect(clients.counter.total()).toBe(5);
    expect(clients.sent.total()).toBe(5);
  });

  it("keeps its own time limit: another run's limit neither stops nor frees its calls", async () => {
    const recorded = new RecordedAws(() => ({ body: { clusterArns: [] } }));
    const clients = new AwsClients({ requestHandler: recorded, credentials, maxAttempts: 1 });
    const ecs = clients.get('ecs', 'us-east-1');
    const past = Date.now() - 1;
    const limited = gate();
    const unlimited = gate();
    // Each run makes its call only once the other is inside its own limit.
    const a = clients.until(past, async () => {
      limited.open();
      await unlimited.opened;
      return ecs.send(new ListClustersCommand({}));
    });
    const b = clients.until(undefined, async () => {
      unlimited.open();
      await limited.opened;
      return ecs.send(new ListClustersCommand({}));
    });
    await expect(a).rejects.toBeInstanceOf(TimeLimitError);
    await expect(b).resolves.toMatchObject({ clusterArns: [] });
    expect(recorded.calls('ecs:ListClusters')).toHaveLength(1);
    // Nothing lingers on the clients once a limit's task is over.
    expect(clients.deadline).toBeUndefined();
    await expect(ecs.send(new ListClustersCommand({}))).resolves.toBeDefined();
  });

  it('two overlapping pipeline runs report their own calls, and only the late one hands over', async () => {
    // Run B scans eu-west-1, where ListClusters answers late, after B's time limit: B's next
    // read is refused and B hands over. Run A, in us-east-1 at the same moment on the same
    // clients, has no limit and reads everything.
    const late = gate();
    const route = async (request: AwsRequest) => {
      const api = `${request.service}:${request.operation}`;
      switch (api) {
        case 'ssm:DescribeParameters': {
          const names = (request.input.ParameterFilters as Array<{ Values: string[] }>)[0]?.Values;
          return {
            body: {
              Parameters: (names ?? []).map((Name) => ({
                Name,
                Type: 'SecureString',
                Version: 2,
                LastModifiedDate: Date.now() / 1000 - 60,
              })),
            },
          };
        }
        case 'ecs:ListClusters':
          if (request.region !== 'eu-west-1') return { body: { clusterArns: [] } };
          await late.opened;
          return {
            body: { clusterArns: [`arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/c`] },
          };
        case 'ecs:ListTasks':
          return { body: { taskArns: [] } };
        case 'batch:DescribeJobQueues':
          return { body: { jobQueues: [] } };
        default:
          return awsError('UnknownOperationException', `not recorded: ${api}`);
      }
    };
    const recorded = new RecordedAws(route);
    const clients = new AwsClients({ requestHandler: recorded, credentials, maxAttempts: 1 });
    const settings = readSettings({});
    const deps = (region: string) => ({
      settings,
      regions: [region],
      home: region,
      clients,
      cache: new DefinitionCache(),
    });
    const b = runPipeline({ records: change('/b/password', 'eu-west-1') }, deps('eu-west-1'), {
      apply: false,
      readBy: Date.now() + 200,
    });
    const a = runPipeline({ records: change('/a/password', 'us-east-1') }, deps('us-east-1'), {
      apply: false,
    });
    // B's limit passes while its ListClusters is unanswered; A runs meanwhile.
    const runA = await a;
    await sleep(250);
    late.open();
    const runB = await b;
    expect(runA.handedOver).toBe(false);
    expect(runA.report.complete).toBe(true);
    expect(runB.handedOver).toBe(true);
    expect(recorded.calls('ecs:ListTasks')).toHaveLength(0);
    // Each report counts its own calls, and only its own: B's DescribeParameters, due after
    // its scan, was refused and is not counted, nor is A's in B's report.
    const calls = (run: typeof runA) =>
      Object.fromEntries(Object.entries(run.report.calls ?? {}).map(([k, v]) => [k, v.calls]));
    expect(calls(runA)).toEqual({
      'batch:DescribeJobQueues': 1,
      'ecs:ListClusters': 1,
      'ssm:DescribeParameters': 1,
    });
    expect(calls(runB)).toEqual({ 'batch:DescribeJobQueues': 1, 'ecs:ListClusters': 1 });
    expect(clients.sent.of('ecs:ListClusters')).toBe(2);
  });
});

/** The EventBridge event of a parameter's update, parsed as the Lambda parses it. */
function change(name: string, region: string) {
  return parsePayload({
    version: '0',
    id: `event-${name}`,
    'detail-type': 'Parameter Store Change',
    source: 'aws.ssm',
    account: ACCOUNT,
    time: new Date(Date.now() - 60_000).toISOString(),
    region,
    resources: [`arn:aws:ssm:${region}:${ACCOUNT}:parameter${name}`],
    detail: { operation: 'Update', name, type: 'SecureString' },
  });
}
