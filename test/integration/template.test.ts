import { join } from 'node:path';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { withinPrefix } from '../../lib/config.js';
import {
  DEPLOYMENT_EVENT_NAMES,
  HANDLED_EVENTS,
  JOB_STATUSES,
  parseEvent,
} from '../../lib/events/index.js';
import type { PipelineRun } from '../../lib/pipeline.js';
import type { RunMeasures } from '../../lib/runtime.js';
import {
  asList,
  cfnLint,
  type Packaged,
  packageStack,
  type Resource,
  resolve,
  resourcesOf,
  roleStatements,
} from '../helpers/cloudformation.js';
import { loadEvent } from '../helpers/events.js';
import { aChange } from '../helpers/factories.js';
import { useMoto } from '../helpers/moto.js';

const env = useMoto();
const RULES = [
  'ParameterChangeRule',
  'ParameterPolicyRule',
  'SecretLabelRule',
  'SecretApiCallRule',
  'SecretRotationRule',
  'DeploymentStateRule',
  'JobStateRule',
];
const FORBIDDEN =
  /^(ssm:GetParameter|ssm:GetParameters|ssm:GetParametersByPath|secretsmanager:GetSecretValue|secretsmanager:BatchGetSecretValue|kms:Decrypt)$/;

let defaults: Packaged;
let custom: Packaged;

beforeAll(() => {
  defaults = packageStack();
  custom = packageStack({
    defaultAction: 'redeploy',
    slackWebhookParam: '/watcher/slack-webhook',
    eventBus: 'ops-bus',
    passRoleArns:
      'arn:aws:iam::123456789012:role/batch-exec,arn:aws:iam::123456789012:role/batch-job',
    alertEmail: 'oncall@example.com',
    sweepSchedule: 'rate(1 hour)',
  });
}, 300_000);

describe('npx serverless package', () => {
  it('packages offline, with no credentials, one zip per function', () => {
    for (const { result, template } of [defaults, custom]) {
      expect(result.stdout + result.stderr).toMatch(/Service packaged/);
      expect(result.status).toBe(0);
      expect(Object.keys(template.Resources).length).toBeGreaterThan(10);
    }
  });

  it('runs both functions on nodejs22.x, arm64; on-change with no reserved concurrency to throttle its pollers', () => {
    const { Resources } = defaults.template;
    for (const name of ['OnDashchangeLambdaFunction', 'SweepLambdaFunction']) {
      expect(Resources[name].Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
      });
    }
    // Reserved concurrency throttles Lambda's SQS pollers, and each throttled batch spends a
    // receive on the way to the dead-letter queue; the event source's maximum concurrency
    // caps batches in flight instead, and leases in the state table serialise per consumer.
    expect(
      Resources.OnDashchangeLambdaFunction.Properties.ReservedConcurrentExecutions,
    ).toBeUndefined();
    const mapping = resourcesOf(defaults.template).find(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping',
    );
    expect(mapping?.Properties.ScalingConfig).toEqual({ MaximumConcurrency: 2 });
    const table = resolve(defaults.template, Resources.StateTable.Properties) as Record<
      string,
      unknown
    >;
    expect(table).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(
      (
        resolve(defaults.template, Resources.OnDashchangeLambdaFunction.Properties) as {
          Environment: { Variables: Record<string, string> };
        }
      ).Environment.Variables.WATCHER_STATE_TABLE,
    ).toBe('<StateTable>');
    expect(Resources.OnDashchangeLambdaFunction.Properties.Handler).toBe(
      'functions/on-change.handler',
    );
  });

  it('feeds on-change from the changes queue in batches, reporting partial failures', () => {
    const mapping = resourcesOf(defaults.template).find(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping',
    );
    expect(mapping?.Properties).toMatchObject({
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 20,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': ['ChangesQueue', 'Arn'] },
    });
  });

  it('delays changes, redrives failures to a dead-letter queue, and alarms on its depth', () => {
    const { template } = defaults;
    const queue = resolve(template, template.Resources.ChangesQueue.Properties) as Record<
      string,
      unknown
    >;
    expect(queue).toMatchObject({
      DelaySeconds: '30',
      RedrivePolicy: { deadLetterTargetArn: '<ChangesDeadLetterQueue.Arn>', maxReceiveCount: 10 },
    });
    expect(Number(queue.VisibilityTimeout)).toBeGreaterThanOrEqual(
      6 * template.Resources.OnDashchangeLambdaFunction.Properties.Timeout,
    );
    const alarm = resolve(template, template.Resources.DeadLetterAlarm.Properties) as Record<
      string,
      unknown
    >;
    expect(alarm).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarm.AlarmActions).toEqual(['<ReportsTopic>']);
  });

  it("sends every alarm to a topic CloudWatch can publish to: one under the stack's own key", () => {
    const { template } = defaults;
    const alarms = resourcesOf(template).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThanOrEqual(4);
    for (const alarm of alarms)
      expect(
        (resolve(template, alarm.Properties) as { AlarmActions: unknown }).AlarmActions,
      ).toEqual(['<ReportsTopic>']);
    const topic = resolve(template, template.Resources.ReportsTopic.Properties) as Record<
      string,
      unknown
    >;
    // Not the AWS-managed alias/aws/sns key: its policy cannot grant CloudWatch.
    expect(topic.KmsMasterKeyId).toBe('<ReportsTopicKey>');
    const key = resolve(template, template.Resources.ReportsTopicKey.Properties) as {
      KeyPolicy: { Statement: Array<Record<string, unknown>> };
    };
    const cloudwatch = key.KeyPolicy.Statement.find(
      (statement) =>
        JSON.stringify(statement.Principal) === '{"Service":"cloudwatch.amazonaws.com"}',
    );
    expect(cloudwatch).toMatchObject({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
    });
    // The functions publish to it, so they may use its key, and only its key.
    expect(roleStatements(template).find((s) => s.Sid === 'EncryptReports')).toMatchObject({
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: '<ReportsTopicKey.Arn>',
    });
  });

  it('alarms on function errors and on sweeps that could not read part of the account', () => {
    const { template } = defaults;
    const metric = (name: string) =>
      resolve(template, template.Resources[name]?.Properties) as Record<string, unknown>;
    expect(metric('OnChangeErrorsAlarm')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: '<OnDashchangeLambdaFunction>' }],
    });
    expect(metric('SweepErrorsAlarm')).toMatchObject({
      Dimensions: [{ Name: 'FunctionName', Value: '<SweepLambdaFunction>' }],
    });
    // The metric the sweep emits (lib/runtime.ts) in the namespace the functions publish to.
    expect(metric('SweepIncompleteAlarm')).toMatchObject({
      Namespace:
        template.Resources.OnDashchangeLambdaFunction.Properties.Environment.Variables
          .POWERTOOLS_METRICS_NAMESPACE,
      MetricName: 'SweepIncomplete',
      Threshold: 0,
    });
  });

  it('an existing encrypted topic: the functions may use the key it is given, and no other', () => {
    const existing = {
      ExistingTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops',
      ExistingTopicKeyArn:
        'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    };
    expect(
      roleStatements(defaults.template, existing).find((s) => s.Sid === 'EncryptReports'),
    ).toMatchObject({
      Resource: existing.ExistingTopicKeyArn,
    });
    expect(
      roleStatements(defaults.template, { ExistingTopicArn: existing.ExistingTopicArn }).find(
        (s) => s.Sid === 'EncryptReports',
      ),
    ).toBeUndefined();
  });

  it('runs the sweep on the schedule parameter, every 6 hours by default', () => {
    const schedule = (packaged: Packaged) =>
      resourcesOf(packaged.template)
        .filter((r) => r.Type === 'AWS::Events::Rule')
        .map((r) => r.Properties.ScheduleExpression)
        .filter(Boolean);
    expect(schedule(defaults)).toEqual(['rate(6 hours)']);
    expect(schedule(custom)).toEqual(['rate(1 hour)']);
  });

  it('creates a topic unless one is given, with an e-mail subscription when asked', () => {
    expect(defaults.template.Resources.ReportsTopic.Condition).toBe('CreateTopic');
    expect(resolve(defaults.template, { Condition: 'HasAlertEmail' })).toBe(false);
    expect(resolve(custom.template, { Condition: 'HasAlertEmail' })).toBe(true);
    expect(
      resolve(
        defaults.template,
        { Condition: 'CreateTopic' },
        { ExistingTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops' },
      ),
    ).toBe(false);
  });

  it('has safe defaults on first install: notify only, no dry-run needed, nothing restarted untagged', () => {
    const parameters = defaults.template.Parameters;
    expect(parameters.DefaultAction).toMatchObject({
      Default: 'notify',
      AllowedValues: ['notify', 'redeploy', 'resubmit', 'ignore'],
    });
    expect(parameters.DryRun.Default).toBe('false');
    expect(parameters.MaxActions.Default).toBe('25');
    const environment = resolve(
      defaults.template,
      defaults.template.Resources.OnDashchangeLambdaFunction.Properties.Environment.Variables,
    ) as Record<string, string>;
    expect(environment).toMatchObject({
      WATCHER_DEFAULT_ACTION: 'notify',
      WATCHER_DRY_RUN: 'false',
      WATCHER_MAX_ACTIONS: '25',
      WATCHER_SLACK_WEBHOOK_PARAM: '',
      WATCHER_EVENT_BUS: '',
      WATCHER_NAME_PREFIX: '',
    });
  });
});

describe('what the stack tells: outputs', () => {
  it('names its table, its dashboard, its topic and its queues, each pointing at its resource', () => {
    const { template } = defaults;
    const outputs = resolve(template, template.Outputs) as Record<string, { Value: unknown }>;
    expect(outputs.StateTableName?.Value).toBe('<StateTable>');
    expect(outputs.StateTableArn?.Value).toBe('<StateTable.Arn>');
    expect(outputs.ReportsTopicArn?.Value).toBe('<ReportsTopic>');
    expect(outputs.ChangesQueueUrl?.Value).toBe('<ChangesQueue>');
    expect(outputs.DeadLetterQueueUrl?.Value).toBe('<ChangesDeadLetterQueue>');
    expect(outputs.DashboardUrl?.Value).toBe(
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=<WatcherDashboard>',
    );
    // China and GovCloud have consoles of their own.
    const dashboardIn = (partition: string, region: string) =>
      (
        resolve(template, template.Outputs.DashboardUrl, {
          'AWS::Partition': partition,
          'AWS::Region': region,
        }) as { Value: unknown }
      ).Value;
    expect(dashboardIn('aws-cn', 'cn-north-1')).toBe(
      'https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1#dashboards:name=<WatcherDashboard>',
    );
    expect(dashboardIn('aws-us-gov', 'us-gov-west-1')).toBe(
      'https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#dashboards:name=<WatcherDashboard>',
    );
    expect(template.Resources.StateTable.Type).toBe('AWS::DynamoDB::Table');
    expect(template.Resources.WatcherDashboard.Type).toBe('AWS::CloudWatch::Dashboard');
    // An existing topic is the one the stack reports to.
    const existing = 'arn:aws:sns:us-east-1:123456789012:ops';
    expect(
      (
        resolve(template, template.Outputs.ReportsTopicArn, { ExistingTopicArn: existing }) as {
          Value: unknown;
        }
      ).Value,
    ).toBe(existing);
  });
});

describe('the dashboard', () => {
  /** A metric as CloudWatch stores it: namespace, name and its dimensions (values when fixed). */
  interface Shown {
    namespace: string;
    name: string;
    dimensions: Record<string, string | null>;
  }

  /** Every metric the dashboard's widgets read: plain metric rows and SEARCH expressions. */
  const shown = (): Shown[] => {
    const { template } = defaults;
    const body = JSON.parse(
      resolve(template, template.Resources.WatcherDashboard.Properties.DashboardBody) as string,
    ) as { widgets: Array<{ properties: { metrics: unknown[][] } }> };
    return body.widgets.flatMap(({ properties }) =>
      properties.metrics.map((row): Shown => {
        const first = row[0] as string | { expression: string };
        if (typeof first === 'object') {
          const search = /^SEARCH\('\{([^}]+)\} MetricName="([^"]+)"'/.exec(first.expression);
          if (!search) throw new Error(`not a SEARCH of one metric: ${first.expression}`);
          const [namespace = '', ...names] = (search[1] as string).split(',');
          return {
            namespace,
            name: search[2] as string,
            dimensions: Object.fromEntries(names.map((name) => [name, null])),
          };
        }
        const strings = row.filter((item): item is string => typeof item === 'string');
        const [namespace = '', name = '', ...pairs] = strings;
        const dimensions: Record<string, string> = {};
        for (let i = 0; i < pairs.length; i += 2)
          dimensions[pairs[i] as string] = pairs[i + 1] as string;
        return { namespace, name, dimensions };
      }),
    );
  };

  type Record_ = (run: PipelineRun, extra: Record<string, unknown>, measures: RunMeasures) => void;

  /** The EMF documents `record()` writes for a run (stdout, as in Lambda). */
  const emitted = (
    record: Record_,
    run: PipelineRun,
    extra: Record<string, unknown>,
    measures: RunMeasures,
  ) => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      record(run, extra, measures);
    } finally {
      write.mockRestore();
    }
    return lines
      .flatMap((line) => line.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .flatMap((line) => {
        const document = JSON.parse(line) as Record<string, unknown> & {
          _aws: {
            CloudWatchMetrics: Array<{
              Namespace: string;
              Dimensions: string[][];
              Metrics: Array<{ Name: string }>;
            }>;
          };
        };
        return document._aws.CloudWatchMetrics.flatMap((directive) =>
          directive.Metrics.flatMap(({ Name }) =>
            directive.Dimensions.map((names) => ({
              namespace: directive.Namespace,
              name: Name,
              dimensions: Object.fromEntries(names.map((name) => [name, String(document[name])])),
            })),
          ),
        );
      });
  };

  /** Sample runs of both functions: a change acted on, and a sweep with gaps and records. */
  const everyEmitted = async () => {
    // The tests run with metrics off (vitest.config.ts); here they are on, as in Lambda.
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    vi.resetModules();
    const { record } = await import('../../lib/runtime.js');
    const change = aChange();
    const onChange = {
      report: {
        changes: [change],
        consumers: [{ stale: true }],
        actions: [{ kind: 'redeploy', target: 'svc', status: 'done', detail: '' }],
        gaps: [],
        complete: true,
        calls: { 'ecs:ListTasks': { calls: 3, attempts: 4, throttled: 1, failed: 0 } },
      },
      failedRecords: [],
      handedOver: false,
    } as unknown as PipelineRun;
    const sweep = {
      ...onChange,
      report: { ...onChange.report, changes: [], gaps: [{ region: 'us-east-1' }], complete: false },
    } as unknown as PipelineRun;
    const metrics = [
      ...emitted(
        record,
        onChange,
        { trigger: 'on-change' },
        { budgetUsed: { 'ecs:cluster resource read': 42 } },
      ),
      ...emitted(
        record,
        sweep,
        { trigger: 'sweep', continued: false },
        { budgetUsed: { 'batch:all': 8 }, rotations: { open: 3, overdue: 1 } },
      ),
    ];
    vi.unstubAllEnvs();
    return metrics;
  };

  it('shows changes, stale consumers, restarts, rotations, gaps, the dead-letter queue, the API budget and calls', () => {
    const names = shown().map(({ name }) => name);
    for (const name of [
      'ChangesReceived',
      'ConsumersStale',
      'Actions',
      'RotationsOpen',
      'RotationsOverdue',
      'Gaps',
      'ApproximateNumberOfMessagesVisible',
      'ApiBudgetUsed',
      'AwsCalls',
      'AwsCallsThrottled',
    ])
      expect(names).toContain(name);
  });

  it('shows only metrics the functions emit, by namespace, name and dimensions', async () => {
    const metrics = await everyEmitted();
    const own = shown().filter(({ namespace }) => !namespace.startsWith('AWS/'));
    expect(own.length).toBeGreaterThan(8);
    for (const wanted of own) {
      const matches = metrics.filter(
        (metric) =>
          metric.namespace === wanted.namespace &&
          metric.name === wanted.name &&
          // A SEARCH matches metrics with exactly these dimensions; a row, these values too.
          Object.keys(metric.dimensions).sort().join() ===
            Object.keys(wanted.dimensions).sort().join() &&
          Object.entries(wanted.dimensions).every(
            ([name, value]) => value === null || metric.dimensions[name] === value,
          ),
      );
      expect(
        matches,
        `${wanted.namespace} ${wanted.name} ${JSON.stringify(wanted.dimensions)}`,
      ).not.toHaveLength(0);
    }
  });

  it("reads the dead-letter depth of the stack's own dead-letter queue", () => {
    const queue = shown().filter(({ namespace }) => namespace.startsWith('AWS/'));
    expect(queue).toEqual([
      {
        namespace: 'AWS/SQS',
        name: 'ApproximateNumberOfMessagesVisible',
        dimensions: { QueueName: '<ChangesDeadLetterQueue.QueueName>' },
      },
    ]);
  });
});

describe('IAM: least privilege', () => {
  const actionsOf = (statement: Record<string, unknown>) =>
    asList(statement.Action as string | string[]);

  it('grants no value-reading call, and no wildcard action, in any configuration', () => {
    for (const packaged of [defaults, custom]) {
      const variants: Array<Record<string, string>> = [
        {},
        { DefaultAction: 'redeploy' },
        { DefaultAction: 'resubmit' },
        { SlackWebhookParam: 'x' },
      ];
      for (const overrides of variants) {
        for (const statement of roleStatements(packaged.template, overrides)) {
          for (const action of actionsOf(statement)) {
            expect(action).not.toMatch(/\*/);
            if (FORBIDDEN.test(action)) {
              // The Slack webhook parameter, and the reports topic's own key (SNS asks KMS on
              // the publisher's behalf); never a key or value of what is watched.
              if (action === 'kms:Decrypt') {
                expect(statement.Sid).toBe('EncryptReports');
                expect(statement.Resource).toBe('<ReportsTopicKey.Arn>');
              } else {
                expect(statement.Sid).toBe('ReadSlackWebhook');
                expect(action).toBe('ssm:GetParameter');
              }
            }
          }
        }
      }
    }
  });

  it('reads only the one Slack webhook parameter, and only when it is configured', () => {
    expect(
      roleStatements(defaults.template).find((s) => s.Sid === 'ReadSlackWebhook'),
    ).toBeUndefined();
    const read = roleStatements(custom.template).find((s) => s.Sid === 'ReadSlackWebhook');
    expect(read).toEqual({
      Sid: 'ReadSlackWebhook',
      Effect: 'Allow',
      Action: 'ssm:GetParameter',
      Resource: 'arn:aws:ssm:us-east-1:123456789012:parameter/watcher/slack-webhook',
    });
    const flat = roleStatements(defaults.template, { SlackWebhookParam: 'slack-url' }).find(
      (s) => s.Sid === 'ReadSlackWebhook',
    );
    expect(flat?.Resource).toBe('arn:aws:ssm:us-east-1:123456789012:parameter/slack-url');
  });

  it('restarts only tagged services and jobs unless the default action says otherwise', () => {
    const base = roleStatements(defaults.template);
    const updates = base.filter((s) => actionsOf(s).includes('ecs:UpdateService'));
    expect(updates).toHaveLength(1);
    expect(updates[0]?.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/rotation-watcher:action': 'redeploy' },
    });
    const terminates = base.filter((s) => actionsOf(s).includes('batch:TerminateJob'));
    expect(terminates.map((s) => s.Condition)).toEqual([
      { StringEquals: { 'aws:ResourceTag/rotation-watcher:action': 'resubmit' } },
    ]);
    const byDefault = roleStatements(custom.template).filter(
      (s) => actionsOf(s).includes('ecs:UpdateService') && !s.Condition,
    );
    expect(byDefault.map((s) => s.Sid)).toEqual(['RedeployByDefault']);
    expect(
      roleStatements(defaults.template, { DefaultAction: 'resubmit' }).some(
        (s) => s.Sid === 'ResubmitByDefault' && !s.Condition,
      ),
    ).toBe(true);
  });

  it('passes only the roles it is given, to Batch and ECS tasks', () => {
    expect(
      roleStatements(defaults.template).find((s) => s.Sid === 'PassRolesOfResubmittedJobs'),
    ).toBeUndefined();
    expect(
      roleStatements(custom.template).find((s) => s.Sid === 'PassRolesOfResubmittedJobs'),
    ).toEqual({
      Sid: 'PassRolesOfResubmittedJobs',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: [
        'arn:aws:iam::123456789012:role/batch-exec',
        'arn:aws:iam::123456789012:role/batch-job',
      ],
      Condition: {
        StringEquals: { 'iam:PassedToService': ['batch.amazonaws.com', 'ecs-tasks.amazonaws.com'] },
      },
    });
  });

  it('publishes only to its topic and puts events only on its bus', () => {
    const statements = roleStatements(custom.template);
    expect(statements.find((s) => s.Sid === 'PublishReports')?.Resource).toBe('<ReportsTopic>');
    expect(statements.find((s) => s.Sid === 'PutRunEvents')?.Resource).toBe(
      'arn:aws:events:us-east-1:123456789012:event-bus/ops-bus',
    );
    expect(roleStatements(defaults.template).find((s) => s.Sid === 'PutRunEvents')).toBeUndefined();
  });
});

describe('event rules and the code that reads their events', () => {
  /** Every rule that matches events (the sweep's schedule has no pattern), by its logical name. */
  const patternRules = (packaged: Packaged) =>
    Object.entries(packaged.template.Resources as Record<string, Resource>)
      .filter(([, r]) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern)
      .map(([name, r]) => ({
        name,
        pattern: resolve(packaged.template, r.Properties.EventPattern) as {
          source: string[];
          'detail-type': string[];
          detail?: Record<string, unknown>;
        },
        targets: resolve(packaged.template, r.Properties.Targets) as Array<{ Arn: unknown }>,
      }));

  it('has one rule for each kind of event the code reads, and none for a kind it does not', () => {
    for (const packaged of [defaults, custom]) {
      const rules = patternRules(packaged);
      expect(rules.map((rule) => rule.name).sort()).toEqual([...RULES].sort());
      const letThrough = rules.flatMap(({ pattern }) =>
        pattern.source.flatMap((source) =>
          pattern['detail-type'].map((detailType) => ({ source, detailType })),
        ),
      );
      for (const kind of letThrough) expect(HANDLED_EVENTS).toContainEqual(kind);
      for (const kind of HANDLED_EVENTS) expect(letThrough).toContainEqual(kind);
    }
  });

  it('sends every matched event to the changes queue, which accepts it from these rules only', () => {
    const rules = patternRules(defaults);
    for (const { targets } of rules)
      expect(targets).toEqual([{ Id: 'changes-queue', Arn: '<ChangesQueue.Arn>' }]);
    const policy = resolve(
      defaults.template,
      defaults.template.Resources.ChangesQueuePolicy.Properties,
    ) as {
      PolicyDocument: {
        Statement: Array<{
          Principal: unknown;
          Condition: { ArnEquals: { 'aws:SourceArn': string[] } };
        }>;
      };
    };
    const [statement, ...others] = policy.PolicyDocument.Statement;
    expect(others).toEqual([]);
    expect(statement?.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect([...(statement?.Condition.ArnEquals['aws:SourceArn'] ?? [])].sort()).toEqual(
      rules.map(({ name }) => `<${name}.Arn>`).sort(),
    );
  });

  it("lets through the ECS deployment events and Batch job states the code waits for, by the code's own lists", () => {
    const byName = Object.fromEntries(patternRules(defaults).map((rule) => [rule.name, rule]));
    expect(byName.DeploymentStateRule?.pattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Deployment State Change'],
      detail: { eventName: [...DEPLOYMENT_EVENT_NAMES] },
    });
    expect(byName.JobStateRule?.pattern).toEqual({
      source: ['aws.batch'],
      'detail-type': ['Batch Job State Change'],
      detail: { status: [...JOB_STATUSES] },
    });
  });
});

describe('event patterns, matched by EventBridge (moto)', () => {
  const samples: Record<string, string[]> = {
    ParameterChangeRule: [
      'ssm/update',
      'ssm/create',
      'ssm/delete',
      'ssm/label',
      'ssm/update-bare-name',
    ],
    ParameterPolicyRule: [
      'ssm/policy-expiration',
      'ssm/policy-expiration-notification',
      'ssm/policy-no-change',
    ],
    SecretLabelRule: ['secretsmanager/label-updated', 'secretsmanager/label-updated-custom'],
    SecretApiCallRule: [
      'secretsmanager/put-secret-value',
      'secretsmanager/update-secret',
      'secretsmanager/rotate-secret',
      'secretsmanager/update-secret-version-stage',
      'secretsmanager/update-secret-version-stage-no-event-source',
      'secretsmanager/delete-secret',
    ],
    SecretRotationRule: ['secretsmanager/rotation-succeeded'],
    DeploymentStateRule: ['ecs/deployment-completed', 'ecs/deployment-failed'],
    JobStateRule: ['batch/job-failed', 'batch/job-running', 'batch/job-succeeded'],
  };

  /** Puts every rule, resolved for `overrides`, on moto's default bus with its own SQS target. */
  async function routeAll(
    overrides: Record<string, string>,
    events: Array<{ name: string; event: Record<string, unknown> }>,
  ): Promise<Record<string, string[]>> {
    await env.reset();
    const region = 'us-east-1';
    const sqs = new SQSClient({ region });
    const bridge = new EventBridgeClient({ region });
    const queues: Record<string, string> = {};
    for (const rule of RULES) {
      const pattern = resolve(
        defaults.template,
        defaults.template.Resources[rule].Properties.EventPattern,
        overrides,
      );
      const { QueueUrl } = await sqs.send(
        new CreateQueueCommand({ QueueName: `${rule}-${Date.now()}` }),
      );
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
      );
      await bridge.send(
        new PutRuleCommand({ Name: rule, EventPattern: JSON.stringify(pattern), State: 'ENABLED' }),
      );
      await bridge.send(
        new PutTargetsCommand({ Rule: rule, Targets: [{ Id: 'q', Arn: Attributes?.QueueArn }] }),
      );
      queues[rule] = QueueUrl as string;
    }
    for (const { name, event } of events) {
      const reply = await bridge.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: event.source as string,
              DetailType: event['detail-type'] as string,
              Detail: JSON.stringify({ ...(event.detail as object), sample: name }),
              Resources: event.resources as string[],
            },
          ],
        }),
      );
      expect(reply.FailedEntryCount ?? 0).toBe(0);
    }
    const matched: Record<string, string[]> = {};
    for (const [rule, url] of Object.entries(queues)) {
      const reply = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }),
      );
      matched[rule] = (reply.Messages ?? [])
        .map((message) => JSON.parse(message.Body ?? '{}').detail.sample)
        .sort();
    }
    sqs.destroy();
    bridge.destroy();
    return matched;
  }

  it('routes each sample event to its rule and nothing else, and an unrelated event nowhere', async () => {
    const names = [
      ...Object.values(samples).flat(),
      'other/ec2-state-change',
      'secretsmanager/rotation-failed',
      'secretsmanager/put-secret-value-access-denied',
      'ssm/create-failed-ec2-image',
      'ecs/deployment-in-progress',
      'batch/job-runnable',
    ];
    const matched = await routeAll(
      {},
      names.map((name) => ({ name, event: loadEvent(name) })),
    );
    for (const [rule, expected] of Object.entries(samples)) {
      // A failed call is still an API call CloudTrail records; the watcher ignores it by errorCode.
      const extra =
        rule === 'SecretApiCallRule' ? ['secretsmanager/put-secret-value-access-denied'] : [];
      expect(matched[rule]).toEqual([...expected, ...extra].sort());
    }
    expect(Object.values(matched).flat()).not.toContain('other/ec2-state-change');
    expect(Object.values(matched).flat()).not.toContain('secretsmanager/rotation-failed');
    expect(Object.values(matched).flat()).not.toContain('ssm/create-failed-ec2-image');
    expect(Object.values(matched).flat()).not.toContain('ecs/deployment-in-progress');
    expect(Object.values(matched).flat()).not.toContain('batch/job-runnable');
  }, 60_000);

  it('lets through exactly the ECS deployment events and Batch job states the code turns into nudges', async () => {
    const states = [
      ...['IN_PROGRESS', 'COMPLETED', 'FAILED'].map((state) => ({
        fixture: 'ecs/deployment-completed',
        field: 'eventName',
        value: `SERVICE_DEPLOYMENT_${state}`,
      })),
      ...['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'].map(
        (value) => ({ fixture: 'batch/job-running', field: 'status', value }),
      ),
    ];
    const events = states.map(({ fixture, field, value }) => {
      const event = loadEvent(fixture);
      (event.detail as Record<string, unknown>)[field] = value;
      return { name: value, event };
    });

    const matched = await routeAll({}, events);

    // The code's own verdict on each event agrees with the rules, state by state.
    const nudging = (source: string) =>
      events
        .filter(({ event }) => event.source === source && parseEvent(event).nudge !== undefined)
        .map(({ name }) => name)
        .sort();
    expect(matched.DeploymentStateRule).toEqual(nudging('aws.ecs'));
    expect(matched.JobStateRule).toEqual(nudging('aws.batch'));
    expect(matched.DeploymentStateRule).toEqual([
      'SERVICE_DEPLOYMENT_COMPLETED',
      'SERVICE_DEPLOYMENT_FAILED',
    ]);
    expect(matched.JobStateRule).toEqual(['FAILED', 'RUNNING', 'SUCCEEDED']);
    // No other rule takes them: they would reach the queue twice.
    for (const rule of RULES.filter((r) => r !== 'DeploymentStateRule' && r !== 'JobStateRule'))
      expect(matched[rule]).toEqual([]);
  }, 60_000);

  it.each(['/prod/', 'prod/'])(
    'lets through, with the name prefix %s, exactly what the code watches: parameters and secrets in both spellings',
    async (prefix) => {
      const withName = (fixture: string, key: string, name: string) => {
        const event = loadEvent(fixture);
        (event.detail as Record<string, unknown>)[key] = name;
        return event;
      };
      const events = [
        { name: 'param', event: withName('ssm/update', 'name', '/prod/db/password') },
        {
          name: 'param-policy',
          event: withName('ssm/policy-expiration', 'parameter-name', '/prod/api/key'),
        },
        {
          name: 'secret',
          event: withName('secretsmanager/label-updated', 'name', 'prod/db-creds'),
        },
        {
          name: 'slashed-secret',
          event: withName('secretsmanager/label-updated', 'name', '/prod/x'),
        },
        { name: 'staging-param', event: withName('ssm/update', 'name', '/staging/db/password') },
        {
          name: 'staging-secret',
          event: withName('secretsmanager/label-updated', 'name', 'staging/db'),
        },
      ];
      const matched = await routeAll({ NamePrefix: prefix }, events);
      expect(matched.ParameterChangeRule).toEqual(['param']);
      expect(matched.ParameterPolicyRule).toEqual(['param-policy']);
      expect(matched.SecretLabelRule).toEqual(['secret', 'slashed-secret']);
      // The code's own rule agrees with the rules, name by name.
      const watched = events
        .filter(({ event }) => {
          const detail = event.detail as Record<string, string>;
          return withinPrefix(detail.name ?? detail['parameter-name'] ?? '', prefix);
        })
        .map(({ name }) => name)
        .sort();
      expect(watched).toEqual(['param', 'param-policy', 'secret', 'slashed-secret']);
    },
    60_000,
  );
});

describe('cfn-lint', () => {
  it('finds no error in the packaged templates', () => {
    for (const packaged of [defaults, custom]) {
      const lint = cfnLint(join(packaged.dir, 'cloudformation-template-update-stack.json'));
      if (lint === null) {
        // Not on PATH on this machine: the CI machines have it, and this check must not pass silently there.
        expect(process.env.CI).not.toBe('true');
        continue;
      }
      expect(lint.stdout + lint.stderr).not.toMatch(/^E\d{4}/m);
      // cfn-lint's exit code is a bit mask: 2 means errors (4 warnings and 8 notes are allowed).
      expect((lint.status ?? 0) & 2).toBe(0);
    }
  });
});
