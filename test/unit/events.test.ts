import { describe, expect, it } from 'vitest';
import type { Change, RefContext } from '../../lib/domain/index.js';
import {
  EventError,
  HANDLED_EVENTS,
  MalformedEventError,
  parseEvent,
  parsePayload,
} from '../../lib/events/index.js';
import { refersTo, relevance, resolveReference } from '../../lib/refs/index.js';
import { type JsonObject, loadEvent, sqsBatch } from '../helpers/events.js';

const ACCOUNT = '123456789012';
const DB_SECRET_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/db/credentials-AbCdEf`;
const API_SECRET_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/api/key-Xy12Zq`;
const MY_SECRET_ARN = `arn:aws:secretsmanager:us-west-2:${ACCOUNT}:secret:mySecret-a1b2c3`;

/** Marks a key for removal in `patched`. */
const REMOVE = Symbol('remove');

type Expected = Omit<Change, 'detailType' | 'timeSource' | 'eventTime' | 'version'> & {
  fixture: string;
};

/** What each fixture of a kind the watcher acts on turns into. */
const CHANGES: Expected[] = [
  {
    fixture: 'ssm/update',
    service: 'ssm',
    name: '/prod/db/password',
    arn: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/db/password`,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'Update',
    effect: 'value',
    versionStage: null,
    versionId: null,
    changedAt: '2024-05-14T09:21:37.000Z',
    eventId: '4c5b6a2e-8f1d-4e3a-9b7c-1d2e3f4a5b6c',
  },
  {
    fixture: 'ssm/create',
    service: 'ssm',
    name: '/prod/api/token',
    arn: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/api/token`,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'Create',
    effect: 'value',
    versionStage: null,
    versionId: null,
    changedAt: '2024-05-13T16:44:48.000Z',
    eventId: '9547ef2d-3b7e-4057-b6cb-5fdf09ee7c8f',
  },
  {
    fixture: 'ssm/delete',
    service: 'ssm',
    name: '/staging/cache/url',
    arn: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/staging/cache/url`,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'Delete',
    effect: 'deleted',
    versionStage: null,
    versionId: null,
    changedAt: '2024-05-15T07:02:11.000Z',
    eventId: '2f1e0d9c-8b7a-4c6d-9e5f-a4b3c2d1e0f9',
  },
  {
    fixture: 'ssm/label',
    service: 'ssm',
    name: '/prod/db/password',
    arn: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/db/password`,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'LabelParameterVersion',
    effect: 'label',
    versionStage: null,
    versionId: null,
    changedAt: '2024-05-14T09:25:02.000Z',
    eventId: 'b3a2c1d0-e9f8-4a7b-8c6d-5e4f3a2b1c0d',
  },
  {
    fixture: 'ssm/update-bare-name',
    service: 'ssm',
    name: 'api-key',
    arn: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/api-key`,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'Update',
    effect: 'value',
    versionStage: null,
    versionId: null,
    changedAt: '2024-05-14T11:08:59.000Z',
    eventId: '7d6c5b4a-3e2f-4d1c-a0b9-8e7f6d5c4b3a',
  },
  {
    fixture: 'ssm/policy-expiration',
    service: 'ssm',
    name: '/prod/api/key',
    arn: `arn:aws:ssm:us-east-2:${ACCOUNT}:parameter/prod/api/key`,
    region: 'us-east-2',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'Expiration',
    effect: 'deleted',
    versionStage: null,
    versionId: null,
    changedAt: '2024-06-01T00:00:07.000Z',
    eventId: 'd8a83c8b-7b1e-4b6d-93d2-7e4b5c6a1f20',
  },
  {
    fixture: 'ssm/policy-expiration-notification',
    service: 'ssm',
    name: '/prod/api/key',
    arn: `arn:aws:ssm:us-east-2:${ACCOUNT}:parameter/prod/api/key`,
    region: 'us-east-2',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'ExpirationNotification',
    effect: 'notice',
    versionStage: null,
    versionId: null,
    changedAt: '2024-05-27T00:00:05.000Z',
    eventId: 'e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8',
  },
  {
    fixture: 'ssm/policy-no-change',
    service: 'ssm',
    name: '/prod/api/key',
    arn: `arn:aws:ssm:us-east-2:${ACCOUNT}:parameter/prod/api/key`,
    region: 'us-east-2',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'NoChangeNotification',
    effect: 'notice',
    versionStage: null,
    versionId: null,
    changedAt: '2024-05-20T12:00:03.000Z',
    eventId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  },
  {
    fixture: 'secretsmanager/label-updated',
    service: 'secretsmanager',
    name: 'mySecret',
    arn: MY_SECRET_ARN,
    region: 'us-west-2',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'LabelUpdated',
    effect: 'value',
    versionStage: 'AWSCURRENT',
    versionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
    changedAt: '2024-02-06T16:43:48.000Z',
    eventId: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  },
  {
    fixture: 'secretsmanager/label-updated-custom',
    service: 'secretsmanager',
    name: 'mySecret',
    arn: MY_SECRET_ARN,
    region: 'us-west-2',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'LabelUpdated',
    effect: 'value',
    versionStage: 'BLUE',
    versionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE22222',
    changedAt: '2024-02-07T09:12:30.000Z',
    eventId: '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f',
  },
  {
    fixture: 'secretsmanager/put-secret-value',
    service: 'secretsmanager',
    name: 'prod/db/credentials',
    arn: DB_SECRET_ARN,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'PutSecretValue',
    effect: 'value',
    versionStage: 'AWSCURRENT',
    versionId: 'EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE',
    changedAt: '2024-05-14T10:02:11.000Z',
    eventId: 'a8f3e2d1-5c4b-4a39-8e7f-6d5c4b3a2918',
  },
  {
    fixture: 'secretsmanager/put-secret-value-pending',
    service: 'secretsmanager',
    name: 'prod/db/credentials',
    arn: DB_SECRET_ARN,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'PutSecretValue',
    effect: 'value',
    versionStage: 'AWSPENDING',
    versionId: 'EXAMPLE3-90ab-cdef-fedc-ba987EXAMPLE',
    changedAt: '2024-05-15T03:00:14.000Z',
    eventId: 'f0e1d2c3-b4a5-4968-8776-655443322110',
  },
  {
    fixture: 'secretsmanager/update-secret',
    service: 'secretsmanager',
    name: 'prod/api/key',
    arn: API_SECRET_ARN,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'UpdateSecret',
    effect: 'value',
    versionStage: 'AWSCURRENT',
    versionId: 'EXAMPLE2-90ab-cdef-fedc-ba987EXAMPLE',
    changedAt: '2024-05-14T13:45:02.000Z',
    eventId: '5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e',
  },
  {
    fixture: 'secretsmanager/update-secret-old-arn-spelling',
    service: 'secretsmanager',
    name: 'prod/api/key',
    arn: API_SECRET_ARN,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'UpdateSecret',
    effect: 'value',
    versionStage: 'AWSCURRENT',
    versionId: 'EXAMPLE4-90ab-cdef-fedc-ba987EXAMPLE',
    changedAt: '2023-11-02T08:15:27.000Z',
    eventId: '7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a',
  },
  {
    fixture: 'secretsmanager/rotate-secret',
    service: 'secretsmanager',
    name: 'prod/db/credentials',
    arn: DB_SECRET_ARN,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'RotateSecret',
    effect: 'notice',
    versionStage: 'AWSCURRENT',
    versionId: 'EXAMPLE3-90ab-cdef-fedc-ba987EXAMPLE',
    changedAt: '2024-05-15T03:00:02.000Z',
    eventId: '8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b',
  },
  {
    fixture: 'secretsmanager/update-secret-version-stage',
    service: 'secretsmanager',
    name: 'prod/db/credentials',
    arn: DB_SECRET_ARN,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'UpdateSecretVersionStage',
    effect: 'value',
    versionStage: 'AWSCURRENT',
    versionId: 'EXAMPLE3-90ab-cdef-fedc-ba987EXAMPLE',
    changedAt: '2024-05-15T03:00:41.000Z',
    eventId: '9f0a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c',
  },
  {
    // Some deliveries carry no detail.eventSource: the envelope's source already names the service.
    fixture: 'secretsmanager/update-secret-version-stage-no-event-source',
    service: 'secretsmanager',
    name: 'prod/db/credentials',
    arn: DB_SECRET_ARN,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'UpdateSecretVersionStage',
    effect: 'value',
    versionStage: 'AWSCURRENT',
    versionId: 'EXAMPLE3-90ab-cdef-fedc-ba987EXAMPLE',
    changedAt: '2024-05-15T03:00:41.000Z',
    eventId: '0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
  },
  {
    fixture: 'secretsmanager/rotation-succeeded',
    service: 'secretsmanager',
    name: 'prod/db/credentials',
    arn: DB_SECRET_ARN,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'RotationSucceeded',
    effect: 'value',
    versionStage: 'AWSCURRENT',
    versionId: 'EXAMPLE3-90ab-cdef-fedc-ba987EXAMPLE',
    changedAt: '2024-05-15T03:00:42.000Z',
    eventId: '4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7c',
  },
  {
    fixture: 'secretsmanager/delete-secret',
    service: 'secretsmanager',
    name: 'prod/legacy/token',
    arn: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/legacy/token-Q9w8E7`,
    region: 'us-east-1',
    account: ACCOUNT,
    partition: 'aws',
    operation: 'DeleteSecret',
    effect: 'deleted',
    versionStage: 'AWSCURRENT',
    versionId: null,
    changedAt: '2024-05-16T15:30:00.000Z',
    eventId: '1b2c3d4e-5f6a-4b7c-8d8e-9f0a1b2c3d4f',
  },
];

describe('parseEvent', () => {
  describe('on events the watcher acts on', () => {
    it.each(CHANGES)('reads $fixture as a $effect change of $name', ({ fixture, ...expected }) => {
      const event = loadEvent(fixture);

      const { changes, ignored } = parseEvent(event);

      expect(ignored).toBeNull();
      // Until discovery reads AWS's record, a change is judged by the event's own time.
      expect(changes).toEqual([
        {
          ...expected,
          detailType: event['detail-type'],
          timeSource: 'event',
          eventTime: expected.changedAt,
          version: null,
        },
      ]);
    });

    it('yields one change per distinct stage a PutSecretValue call names', () => {
      const event = patched(loadEvent('secretsmanager/put-secret-value'), {
        'detail.requestParameters.versionStages': ['AWSCURRENT', 'BLUE', 'BLUE'],
      });

      const { changes } = parseEvent(event);

      expect(changes.map((change) => change.versionStage)).toEqual(['AWSCURRENT', 'BLUE']);
    });

    it('builds the parameter ARN from region, account and name when the event lists no resource', () => {
      const hierarchical = patched(loadEvent('ssm/update'), { resources: [] });
      const bare = patched(loadEvent('ssm/update-bare-name'), { resources: [] });

      expect(only(parseEvent(hierarchical)).arn).toBe(
        `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/db/password`,
      );
      expect(only(parseEvent(bare)).arn).toBe(`arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/api-key`);
    });

    it('takes the ARN and the name of a CloudTrail secret id given as a partial ARN', () => {
      const partial = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/db/credentials`;
      const event = patched(loadEvent('secretsmanager/put-secret-value'), {
        'detail.requestParameters.secretId': partial,
        'detail.responseElements': REMOVE,
      });

      expect(only(parseEvent(event))).toMatchObject({ arn: partial, name: 'prod/db/credentials' });
    });

    it('takes the region of a replica secret from its ARN, not from the event', () => {
      const replica = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:mySecret-a1b2c3`;
      const event = patched(loadEvent('secretsmanager/label-updated'), { resources: [replica] });

      expect(only(parseEvent(event))).toMatchObject({
        arn: replica,
        region: 'eu-west-1',
        account: ACCOUNT,
        partition: 'aws',
      });
    });
  });

  describe('on partitions', () => {
    it.each([
      ['cn-north-1', 'aws-cn'],
      ['cn-northwest-1', 'aws-cn'],
      ['us-gov-west-1', 'aws-us-gov'],
      ['us-gov-east-1', 'aws-us-gov'],
      ['eu-central-1', 'aws'],
    ])('gives a parameter changed in %s the partition %s', (region, partition) => {
      const arn = `arn:${partition}:ssm:${region}:${ACCOUNT}:parameter/prod/db/password`;
      const event = patched(loadEvent('ssm/update'), { region, resources: [arn] });

      expect(only(parseEvent(event))).toMatchObject({ region, partition, arn });
    });

    it.each([
      ['cn-north-1', 'aws-cn'],
      ['us-gov-west-1', 'aws-us-gov'],
    ])('builds the ARN of a parameter in %s with the partition %s', (region, partition) => {
      const event = patched(loadEvent('ssm/update'), { region, resources: [] });

      expect(only(parseEvent(event)).arn).toBe(
        `arn:${partition}:ssm:${region}:${ACCOUNT}:parameter/prod/db/password`,
      );
    });

    it.each([
      ['cn-north-1', 'aws-cn'],
      ['us-gov-west-1', 'aws-us-gov'],
    ])('gives a secret in %s the partition %s', (region, partition) => {
      const arn = `arn:${partition}:secretsmanager:${region}:${ACCOUNT}:secret:mySecret-a1b2c3`;
      const event = patched(loadEvent('secretsmanager/label-updated'), {
        region,
        resources: [arn],
      });

      expect(only(parseEvent(event))).toMatchObject({ region, partition, arn });
    });
  });

  describe('on events that change nothing', () => {
    it.each<{ label: string; event: () => JsonObject; reason: RegExp }>([
      {
        label: 'an event from an unrelated source',
        event: () => loadEvent('other/ec2-state-change'),
        reason:
          /aws\.ec2 "EC2 Instance State-change Notification" is not an event the watcher acts on/,
      },
      {
        label: 'a Parameter Store Change whose operation failed',
        event: () => loadEvent('ssm/create-failed-ec2-image'),
        reason:
          /the Create of \/golden\/ami failed \(Unable to Describe Resource\); the value did not change/,
      },
      {
        label: 'a failed rotation',
        event: () => loadEvent('secretsmanager/rotation-failed'),
        reason: /RotationFailed does not change a secret's value/,
      },
      {
        label: 'a call that failed with an errorCode',
        event: () => loadEvent('secretsmanager/put-secret-value-access-denied'),
        reason: /PutSecretValue call failed \(AccessDenied\)/,
      },
      {
        label: 'an UpdateSecret that changed only metadata',
        event: () => loadEvent('secretsmanager/update-secret-metadata-only'),
        reason: /UpdateSecret changed only metadata/,
      },
      {
        label: 'a Secrets Manager call that does not touch the value',
        event: () =>
          patched(loadEvent('secretsmanager/update-secret'), { 'detail.eventName': 'TagResource' }),
        reason: /TagResource does not change a secret's value/,
      },
      {
        label: 'a CloudTrail event from another service under the Secrets Manager source',
        event: () =>
          patched(loadEvent('secretsmanager/put-secret-value'), {
            'detail.eventSource': 'kms.amazonaws.com',
          }),
        reason: /kms\.amazonaws\.com, not Secrets Manager/,
      },
      {
        label: 'an unknown Parameter Store operation',
        event: () =>
          patched(loadEvent('ssm/update'), { 'detail.operation': 'UnlabelParameterVersion' }),
        reason: /operation "UnlabelParameterVersion" is not one the watcher acts on/,
      },
    ])('ignores $label and says why', ({ event, reason }) => {
      const { changes, ignored } = parseEvent(event());

      expect(changes).toEqual([]);
      expect(ignored).toMatch(reason);
    });

    // Operations are looked up in plain objects; a name that is also an Object.prototype member
    // must still count as unknown.
    it.each([
      [
        'Parameter Store operation',
        () => patched(loadEvent('ssm/update'), { 'detail.operation': 'constructor' }),
      ],
      [
        'Secrets Manager call',
        () =>
          patched(loadEvent('secretsmanager/put-secret-value'), {
            'detail.eventName': 'constructor',
          }),
      ],
    ])('ignores a %s named "constructor" like any other unknown one', (_kind, event) => {
      const { changes, ignored } = parseEvent(event());

      expect(changes).toEqual([]);
      expect(ignored).toMatch(/constructor/);
    });
  });

  describe('on malformed events of a handled kind', () => {
    it.each<{ label: string; event: () => JsonObject; path: string }>([
      {
        label: 'a parameter change without detail.name',
        event: () => patched(loadEvent('ssm/update'), { 'detail.name': REMOVE }),
        path: 'detail.name',
      },
      {
        label: 'a parameter change whose name is a number',
        event: () => patched(loadEvent('ssm/update'), { 'detail.name': 42 }),
        path: 'detail.name',
      },
      {
        label: 'a policy action without parameter-name',
        event: () =>
          patched(loadEvent('ssm/policy-expiration'), { 'detail.parameter-name': REMOVE }),
        path: 'detail.parameter-name',
      },
      {
        label: 'a label update without labelUpdated',
        event: () =>
          patched(loadEvent('secretsmanager/label-updated'), { 'detail.labelUpdated': REMOVE }),
        path: 'detail.labelUpdated',
      },
      {
        label: 'an event with a short account id',
        event: () => patched(loadEvent('ssm/update'), { account: '12345' }),
        path: 'account',
      },
      {
        label: 'an event whose time is not a date',
        event: () => patched(loadEvent('secretsmanager/label-updated'), { time: 'yesterday' }),
        path: 'time',
      },
      {
        label: 'an event whose region is not a region',
        event: () => patched(loadEvent('ssm/update'), { region: 'US East (N. Virginia)' }),
        path: 'region',
      },
      {
        label: 'a CloudTrail call that names no secret',
        event: () =>
          patched(loadEvent('secretsmanager/put-secret-value'), {
            'detail.requestParameters.secretId': REMOVE,
            'detail.responseElements.arn': REMOVE,
          }),
        path: 'detail.requestParameters.secretId',
      },
      {
        label: 'a CloudTrail call whose requestParameters is a string',
        event: () =>
          patched(loadEvent('secretsmanager/update-secret'), {
            'detail.requestParameters': 'prod/api/key',
          }),
        path: 'detail.requestParameters',
      },
    ])('rejects $label, naming $path', ({ event, path }) => {
      const error = thrownBy(() => parseEvent(event()));

      expect(error).toBeInstanceOf(MalformedEventError);
      expect(error).toMatchObject({ name: 'MalformedEventError', path });
      expect((error as Error).message).toContain(path.replace(/^detail\./, ''));
    });

    it.each([
      ['null', null],
      ['a list', [loadEvent('ssm/update')]],
      ['a string', 'Parameter Store Change'],
    ])('rejects %s as not an event at all', (_label, value) => {
      expect(() => parseEvent(value)).toThrow(MalformedEventError);
    });

    it('keeps the zod issues as the cause of a schema failure', () => {
      const error = thrownBy(() =>
        parseEvent(patched(loadEvent('ssm/update'), { 'detail.name': 42 })),
      );

      expect(error).toBeInstanceOf(EventError);
      expect((error as Error).cause).toHaveProperty('issues');
    });
  });

  it('lists the seven kinds of event it reads, for the EventBridge rules', () => {
    expect(HANDLED_EVENTS).toEqual(
      expect.arrayContaining([
        { source: 'aws.ssm', detailType: 'Parameter Store Change' },
        { source: 'aws.ssm', detailType: 'Parameter Store Policy Action' },
        { source: 'aws.secretsmanager', detailType: 'Secret Label Updated' },
        { source: 'aws.secretsmanager', detailType: 'AWS API Call via CloudTrail' },
        { source: 'aws.secretsmanager', detailType: 'AWS Service Event via CloudTrail' },
        // The state of the watcher's own restarts, for staged restarts (nudges, not changes).
        { source: 'aws.ecs', detailType: 'ECS Deployment State Change' },
        { source: 'aws.batch', detailType: 'Batch Job State Change' },
      ]),
    );
    expect(HANDLED_EVENTS).toHaveLength(7);
  });
});

describe('parsePayload', () => {
  it('reads one event that EventBridge delivered directly', () => {
    const results = parsePayload(loadEvent('ssm/update'));

    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ recordId: null, ignored: null, error: null });
    expect(results[0]?.changes.map((change) => change.name)).toEqual(['/prod/db/password']);
  });

  it('reads a list of events in order, one result each', () => {
    const results = parsePayload([
      loadEvent('secretsmanager/rotation-succeeded'),
      loadEvent('other/ec2-state-change'),
      loadEvent('ssm/delete'),
    ]);

    expect(results.map((result) => result.changes.map((change) => change.name))).toEqual([
      ['prod/db/credentials'],
      [],
      ['/staging/cache/url'],
    ]);
    expect(results[1]?.ignored).toMatch(/aws\.ec2/);
  });

  it('reads every record of an SQS batch and reports the one whose body is not JSON', () => {
    const results = parsePayload(loadEvent('sqs/batch'));

    expect(results.map((result) => result.recordId)).toEqual([
      '059f36b4-87a3-44ab-83d2-661975830a7d',
      '2e1424d4-f796-459a-8184-9c92662be6da',
      'c8d4a3f1-6b2e-4e9a-9f7c-1a5d3e8b2c40',
    ]);
    expect(results[0]).toMatchObject({ error: null, changes: [{ name: '/prod/db/password' }] });
    expect(results[1]).toMatchObject({ error: null, changes: [{ name: 'mySecret' }] });
    expect(results[2]?.changes).toEqual([]);
    expect(results[2]?.error).toContain('c8d4a3f1-6b2e-4e9a-9f7c-1a5d3e8b2c40');
    expect(results[2]?.error).toMatch(/not JSON/);
  });

  it('reports a malformed event in a batch under its messageId and still reads the others', () => {
    const batch = sqsBatch(
      loadEvent('secretsmanager/update-secret'),
      patched(loadEvent('ssm/update'), { 'detail.name': REMOVE }),
      loadEvent('ssm/create'),
    );
    const badId = String(batch.Records[1]?.messageId);

    const results = parsePayload(batch);

    expect(results.map((result) => result.error === null)).toEqual([true, false, true]);
    expect(results[1]?.recordId).toBe(badId);
    expect(results[1]?.error).toContain(badId);
    expect(results[1]?.error).toContain('detail.name');
    expect(results.flatMap((result) => result.changes.map((change) => change.name))).toEqual([
      'prod/api/key',
      '/prod/api/token',
    ]);
  });

  it('passes on the reason of an ignored event in a batch without calling it an error', () => {
    const [result] = parsePayload(sqsBatch(loadEvent('secretsmanager/rotation-failed')));

    expect(result).toMatchObject({ changes: [], error: null });
    expect(result?.ignored).toMatch(/RotationFailed/);
  });

  it('reports a record without a messageId by its position in the batch', () => {
    const batch = sqsBatch(loadEvent('ssm/update'), loadEvent('ssm/create'));
    batch.Records[1] = { body: JSON.stringify(loadEvent('ssm/create')) };

    const results = parsePayload(batch);

    expect(results[0]?.error).toBeNull();
    expect(results[1]).toMatchObject({ recordId: null, changes: [] });
    expect(results[1]?.error).toMatch(/SQS record 2: messageId/);
  });

  it('reports an SQS batch with no records as one error', () => {
    const results = parsePayload({ Records: [] });

    expect(results).toHaveLength(1);
    expect(results[0]?.error).toMatch(/non-empty "Records" list/);
  });

  it.each([
    ['a string', 'hello'],
    ['a number', 42],
    ['null', null],
  ])('reports %s as an error instead of throwing', (_label, payload) => {
    const results = parsePayload(payload);

    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ recordId: null, changes: [], ignored: null });
    expect(results[0]?.error).toMatch(/expected an EventBridge event/);
  });
});

describe('matching events against references', () => {
  const east: RefContext = { region: 'us-east-1', account: ACCOUNT };
  const west: RefContext = { region: 'us-west-2', account: ACCOUNT };

  describe('a Parameter Store update of /prod/db/password in us-east-1', () => {
    const change = only(parseEvent(loadEvent('ssm/update')));

    it.each([
      '/prod/db/password',
      'prod/db/password',
      `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/db/password`,
    ])('affects a consumer in us-east-1 that reads %s', (valueFrom) => {
      const target = resolveReference(valueFrom, east);

      expect(refersTo(target, change)).toBe(true);
      expect(relevance(target, change).affected).toBe(true);
    });

    it.each<[string, string, RefContext]>([
      ['the same name in us-west-2', '/prod/db/password', west],
      [
        'the same name in another account',
        '/prod/db/password',
        { region: 'us-east-1', account: '210987654321' },
      ],
      [
        'the ARN of the same name in us-west-2',
        `arn:aws:ssm:us-west-2:${ACCOUNT}:parameter/prod/db/password`,
        east,
      ],
      [
        'the ARN of the same name in another account',
        'arn:aws:ssm:us-east-1:210987654321:parameter/prod/db/password',
        east,
      ],
      ['another parameter', '/prod/db/password-old', east],
    ])('does not refer to %s', (_label, valueFrom, context) => {
      expect(refersTo(resolveReference(valueFrom, context), change)).toBe(false);
    });
  });

  describe('a Secret Label Updated event that moved AWSCURRENT', () => {
    const change = only(parseEvent(loadEvent('secretsmanager/label-updated')));

    it.each<[string, string, boolean]>([
      ['no stage', MY_SECRET_ARN, true],
      [
        'no stage, by partial ARN',
        `arn:aws:secretsmanager:us-west-2:${ACCOUNT}:secret:mySecret`,
        true,
      ],
      ['a JSON key and no stage', `${MY_SECRET_ARN}:password::`, true],
      ['AWSPREVIOUS', `${MY_SECRET_ARN}::AWSPREVIOUS:`, true],
      ['a version id', `${MY_SECRET_ARN}:::a1b2c3d4-5678-90ab-cdef-EXAMPLE00000`, false],
      ['the custom stage BLUE', `${MY_SECRET_ARN}::BLUE:`, false],
    ])('for a reference pinned to %s: affected is %s', (_pin, valueFrom, affected) => {
      const target = resolveReference(valueFrom, west);

      expect(refersTo(target, change)).toBe(true);
      expect(relevance(target, change).affected).toBe(affected);
    });

    it('does not refer to a secret of the same name in another region', () => {
      const target = resolveReference(
        `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:mySecret-a1b2c3`,
        east,
      );

      expect(refersTo(target, change)).toBe(false);
    });
  });

  it('affects only references pinned to BLUE when the custom label BLUE moves', () => {
    const change = only(parseEvent(loadEvent('secretsmanager/label-updated-custom')));

    expect(relevance(resolveReference(`${MY_SECRET_ARN}::BLUE:`, west), change).affected).toBe(
      true,
    );
    expect(relevance(resolveReference(MY_SECRET_ARN, west), change).affected).toBe(false);
  });

  it.each([
    ['no stage', DB_SECRET_ARN],
    ['AWSCURRENT', `${DB_SECRET_ARN}::AWSCURRENT:`],
  ])(
    'leaves a reference pinned to %s alone when a rotation writes AWSPENDING',
    (_pin, valueFrom) => {
      const change = only(parseEvent(loadEvent('secretsmanager/put-secret-value-pending')));
      const target = resolveReference(valueFrom, east);

      expect(refersTo(target, change)).toBe(true);
      expect(relevance(target, change).affected).toBe(false);
    },
  );

  it('affects a reference to a secret that RDS manages (named rds!db-...) when it rotates', () => {
    const rds = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:rds!db-0f3a9c2e-5b7d-4e1a-8c6f-2d9b4a7e1c30-Qx7LmP`;
    const event = patched(loadEvent('secretsmanager/rotation-succeeded'), {
      'detail.additionalEventData.SecretId': rds,
      'detail.serviceEventDetails.secretId': rds,
    });
    const change = only(parseEvent(event));

    const target = resolveReference(rds, east);

    expect(refersTo(target, change)).toBe(true);
    expect(relevance(target, change).affected).toBe(true);
  });
});

/** A copy of `event` with each dotted path set to its value, or removed for REMOVE. */
function patched(event: JsonObject, patches: Record<string, unknown>): JsonObject {
  const copy = structuredClone(event);
  for (const [path, value] of Object.entries(patches)) {
    const keys = path.split('.');
    const last = keys.pop() ?? path;
    let node: JsonObject = copy;
    for (const key of keys) {
      const next = node[key];
      if (typeof next !== 'object' || next === null)
        throw new Error(`the fixture has no object at ${path}`);
      node = next as JsonObject;
    }
    if (value === REMOVE) Reflect.deleteProperty(node, last);
    else node[last] = value;
  }
  return copy;
}

/** The one change an event yields; throws if there is not exactly one. */
function only(result: { changes: Change[] }): Change {
  const [change, ...others] = result.changes;
  if (!change || others.length > 0) {
    throw new Error(`expected exactly one change, got ${result.changes.length}`);
  }
  return change;
}

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, but none was thrown');
}
