import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readDefinitions, UnrecognizedDefinitionError } from '../../lib/refs/index.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/definitions/${name}`, import.meta.url), 'utf8'));

describe('readDefinitions for an ECS task definition', () => {
  const [definition] = readDefinitions(fixture('ecs-task-definition.json'));
  const refs = definition?.references ?? [];
  const byName = (name: string) => refs.find((ref) => ref.name === name);

  it('unwraps the DescribeTaskDefinition reply and takes region and account from its ARN', () => {
    expect(definition).toMatchObject({
      kind: 'ecs-task-definition',
      id: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout-web:7',
      region: 'us-east-1',
      account: '123456789012',
    });
  });

  it('finds every reference in every location', () => {
    expect(refs.map((ref) => [ref.container, ref.field, ref.name])).toEqual([
      ['web', 'secrets', 'DB_PASSWORD'],
      ['web', 'secrets', 'API_KEY'],
      ['web', 'secrets', 'SESSION_SECRET'],
      ['web', 'secrets', 'SHARED_TOKEN'],
      ['web', 'secrets', 'DB_USER'],
      ['web', 'secrets', 'DB_PASSWORD_PREVIOUS'],
      ['web', 'secrets', 'DB_PASSWORD_PINNED'],
      ['web', 'secrets', 'LEGACY_TOKEN'],
      ['web', 'logConfiguration.secretOptions', 'apikey'],
      ['web', 'repositoryCredentials.credentialsParameter', null],
      ['sidecar', 'secrets', 'OTEL_TOKEN'],
      [
        null,
        'volumes.fsxWindowsFileServerVolumeConfiguration.authorizationConfig.credentialsParameter',
        'reports',
      ],
    ]);
    expect(refs.every((ref) => ref.problem === null)).toBe(true);
  });

  it('resolves bare names in the task definition region and account', () => {
    expect(byName('API_KEY')?.target?.arn).toBe(
      'arn:aws:ssm:us-east-1:123456789012:parameter/payments-api-key',
    );
    expect(byName('DB_PASSWORD')?.target?.arn).toBe(
      'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password',
    );
  });

  it('keeps the region of a cross-region ARN', () => {
    expect(byName('SHARED_TOKEN')?.target).toMatchObject({
      region: 'us-west-2',
      name: '/shared/token',
    });
  });

  it('reads Secrets Manager pins', () => {
    expect(byName('DB_USER')?.target).toMatchObject({
      jsonKey: 'username',
      versionStage: null,
      name: 'prod/db-creds',
    });
    expect(byName('DB_PASSWORD_PREVIOUS')?.target?.versionStage).toBe('AWSPREVIOUS');
    expect(byName('DB_PASSWORD_PINNED')?.target?.versionId).toBe(
      'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
    );
    expect(byName('LEGACY_TOKEN')?.target).toMatchObject({
      service: 'secretsmanager',
      name: 'legacy/app-token',
    });
  });

  it('lets --region and --account win over the ARN for bare names', () => {
    const [moved] = readDefinitions(fixture('ecs-task-definition.json'), {
      region: 'cn-north-1',
      account: '000011112222',
    });
    const apiKey = moved?.references.find((ref) => ref.name === 'API_KEY');
    expect(apiKey?.target?.arn).toBe(
      'arn:aws-cn:ssm:cn-north-1:000011112222:parameter/payments-api-key',
    );
  });
});

describe('readDefinitions for Batch job definitions', () => {
  const definitions = readDefinitions(fixture('batch-job-definitions.json'));
  const refsOf = (name: string) =>
    definitions.find((d) => d.id.includes(`/${name}:`))?.references ?? [];

  it('reads every definition in the DescribeJobDefinitions reply', () => {
    expect(definitions.map((d) => d.kind)).toEqual(Array(4).fill('batch-job-definition'));
  });

  it('finds containerProperties secrets, log options and registry credentials', () => {
    expect(refsOf('nightly-report').map((ref) => [ref.field, ref.name, ref.target?.arn])).toEqual([
      [
        'secrets',
        'WAREHOUSE_PASSWORD',
        'arn:aws:ssm:eu-west-1:210987654321:parameter/reporting/warehouse/password',
      ],
      [
        'secrets',
        'SMTP_PASSWORD',
        'arn:aws:secretsmanager:eu-west-1:210987654321:secret:smtp-Zx81Qa',
      ],
      [
        'logConfiguration.secretOptions',
        'splunk-token',
        'arn:aws:ssm:eu-west-1:210987654321:parameter/splunk-token',
      ],
      [
        'repositoryCredentials.credentialsParameter',
        null,
        'arn:aws:secretsmanager:eu-west-1:210987654321:secret:registry-Qw12Er',
      ],
    ]);
  });

  it('finds multi-node containers and their ecsProperties, labelled by node range', () => {
    expect(refsOf('mpi-solver').map((ref) => [ref.container, ref.name])).toEqual([
      ['nodes 0:', 'LICENSE_KEY'],
      ['nodes 1:3 worker', 'QUEUE_TOKEN'],
    ]);
  });

  it('finds ecsProperties task containers', () => {
    expect(
      refsOf('etl-ecs').map((ref) => [
        ref.container,
        ref.field,
        ref.target?.jsonKey ?? ref.target?.name,
      ]),
    ).toEqual([
      ['extract', 'secrets', 'url'],
      ['log-router', 'logConfiguration.secretOptions', '/etl/log-password'],
    ]);
  });

  it('finds nothing in an EKS job definition, which uses Kubernetes secrets', () => {
    expect(refsOf('eks-sync')).toEqual([]);
  });
});

describe('readDefinitions input shapes', () => {
  const task = {
    family: 'x',
    revision: 1,
    containerDefinitions: [{ name: 'c', secrets: [{ name: 'A', valueFrom: '/a' }] }],
  };

  it.each([
    ['a bare task definition', task, 1],
    ['a list', [task, task], 2],
    ['the taskDefinition wrapper', { taskDefinition: task }, 1],
    [
      'the jobDefinitions wrapper',
      { jobDefinitions: [{ jobDefinitionName: 'j', containerProperties: {} }] },
      1,
    ],
    ['an empty jobDefinitions reply', { jobDefinitions: [] }, 0],
  ])('accepts %s', (_label, json, count) => {
    expect(readDefinitions(json)).toHaveLength(count);
  });

  it('names a definition without an ARN by family and revision', () => {
    expect(readDefinitions(task)[0]?.id).toBe('x:1');
  });

  it('lists each reference of a list in a partition of its own ARN', () => {
    const [cn, gov] = readDefinitions(fixture('task-definitions-list.json'), {});
    expect(cn?.references[0]?.target?.arn).toBeNull();
    expect(gov?.references[0]?.target?.arn).toBe(
      'arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/gov/api-key',
    );
  });

  it.each([
    ['a number', 42, /got a number/],
    ['an object of another kind', { Reservations: [] }, /neither a task definition.*Reservations/],
    ['an empty object', {}, /it is empty/],
    ['containerDefinitions that is not a list', { containerDefinitions: 'web' }, /not a list/],
  ])('rejects %s with a reason', (_label, json, reason) => {
    expect(() => readDefinitions(json)).toThrow(UnrecognizedDefinitionError);
    expect(() => readDefinitions(json)).toThrow(reason);
  });

  it('keeps an invalid reference with the reason instead of failing the definition', () => {
    const [definition] = readDefinitions({
      family: 'x',
      containerDefinitions: [
        {
          name: 'c',
          secrets: [
            { name: 'A', valueFrom: '/a:1' },
            { name: 'B', valueFrom: 7 },
            { name: 'C', valueFrom: '/c' },
          ],
        },
      ],
    });
    expect(
      definition?.references.map((ref) => [
        ref.name,
        ref.target?.name ?? null,
        ref.problem !== null,
      ]),
    ).toEqual([
      ['A', null, true],
      ['B', null, true],
      ['C', '/c', false],
    ]);
    expect(definition?.references[1]?.problem).toMatch(/valueFrom is a number/);
  });
});
