import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Change, Definition, RefContext, Target } from '../../lib/domain/index.js';
import { parseEvent } from '../../lib/events/index.js';
import {
  InvalidReferenceError,
  parameterArn,
  partitionOf,
  RefsError,
  readDefinitions,
  refersTo,
  relevance,
  resolveReference,
  UnrecognizedDefinitionError,
} from '../../lib/refs/index.js';
import { loadEvent } from '../helpers/events.js';

// References come from task and job definitions anyone with ecs:RegisterTaskDefinition can write:
// whatever they say, resolveReference names a target or throws InvalidReferenceError, and
// readDefinitions reads a definition or throws UnrecognizedDefinitionError.

const RUNS = 500;
const ACCOUNT = '123456789012';
const SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/db/credentials-AbCdEf`;

const VALID_REFERENCES = [
  '/prod/db/password',
  'prod/db/password',
  'api-key',
  `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/db/password`,
  `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/api-key`,
  `arn:aws-cn:ssm:cn-north-1:${ACCOUNT}:parameter/prod/db/password`,
  SECRET,
  `${SECRET}:password::`,
  `${SECRET}::AWSPREVIOUS:`,
  `${SECRET}:::EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE`,
  `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/db/credentials`,
  `arn:aws-us-gov:secretsmanager:us-gov-west-1:${ACCOUNT}:secret:mySecret-a1b2c3`,
  '/aws/reference/secretsmanager/prod/db/credentials',
  `/aws/reference/secretsmanager/${SECRET}`,
];

const KNOWN_REGIONS = [
  'us-east-1',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'ap-southeast-2',
  'sa-east-1',
  'me-central-1',
  'cn-north-1',
  'cn-northwest-1',
  'us-gov-west-1',
  'us-gov-east-1',
];

/** Known regions, and made-up ones of the same shape (`xy-northeast-7`). */
const region = fc.oneof(
  fc.constantFrom(...KNOWN_REGIONS),
  fc
    .tuple(
      fc.stringMatching(/^[a-z]{2}$/),
      fc.constantFrom('east', 'west', 'north', 'south', 'central', 'northeast', 'southeast'),
      fc.integer({ min: 1, max: 9 }),
    )
    .map(([area, direction, index]) => `${area}-${direction}-${index}`),
);

const account = fc.stringMatching(/^\d{12}$/);

const context: fc.Arbitrary<RefContext> = fc.record({
  region: fc.option(fc.oneof(region, fc.string({ maxLength: 16 }))),
  account: fc.option(fc.oneof(account, fc.string({ maxLength: 16 }))),
});

const hostile = fc.anything({
  maxDepth: 4,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
});

/** What a mangled ARN segment might hold instead: other partitions, regions, accounts, services. */
const segment = fc.oneof(
  fc.constantFrom('aws', 'aws-cn', 'aws-us-gov', 'aws-iso-b', 'AWS', 'awz', ''),
  fc.constantFrom('us-east-1', 'cn-north-1', 'us-gov-west-1', 'moon-1', 'us-east', 'us-east-1a'),
  fc.constantFrom(ACCOUNT, '210987654321', '12345678901', '1234567890123', 'abcdefghijkl'),
  fc.constantFrom('ssm', 'secretsmanager', 's3', 'parameter', 'secret', 'parameter/', 'secret:'),
  fc.constantFrom('AWSCURRENT', 'AWSPREVIOUS', 'password', 'rds!db-1234', 'a b'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

type Edit =
  | { kind: 'colons'; at: number; count: number }
  | { kind: 'segment'; index: number; value: string }
  | { kind: 'append'; parts: string[] }
  | { kind: 'splice'; at: number; value: string };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    kind: fc.constant('colons' as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({ kind: fc.constant('segment' as const), index: fc.nat(8), value: segment }),
  fc.record({
    kind: fc.constant('append' as const),
    parts: fc.array(segment, { minLength: 1, maxLength: 5 }),
  }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), value: segment }),
);

const mutatedReference = fc
  .tuple(fc.constantFrom(...VALID_REFERENCES), fc.array(edit, { minLength: 1, maxLength: 3 }))
  .map(([reference, edits]) => edits.reduce(applyEdit, reference));

describe('resolveReference on hostile input', () => {
  const anyString = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({ maxLength: 60 }).map((rest) => `arn:${rest}`),
    fc.string({ maxLength: 60 }).map((rest) => `/aws/reference/secretsmanager/${rest}`),
    fc.integer({ min: 2_000, max: 5_000 }).map((length) => 'a'.repeat(length)),
  );

  it('names a target or throws InvalidReferenceError for any string', () => {
    fc.assert(fc.property(anyString, context, expectTargetOrInvalid), { numRuns: RUNS });
  });

  it('names a target or throws InvalidReferenceError for mangled valid references', () => {
    fc.assert(fc.property(mutatedReference, context, expectTargetOrInvalid), { numRuns: 1_000 });
  });

  it('still resolves some of the mangled references, so the property above tests both ways', () => {
    const resolved = fc
      .sample(mutatedReference, { numRuns: 300, seed: 7 })
      .filter((reference) => resolves(reference, { region: 'us-east-1', account: ACCOUNT }));

    expect(resolved.length).toBeGreaterThan(15);
    expect(resolved.length).toBeLessThan(285);
  });
});

describe('readDefinitions on hostile input', () => {
  const options = fc.record({ region: fc.option(region), account: fc.option(account) });

  it('reads or throws UnrecognizedDefinitionError for any value at all', () => {
    fc.assert(fc.property(hostile, options, expectDefinitionsOrUnrecognized), { numRuns: RUNS });
  });

  it('reads or throws UnrecognizedDefinitionError for definitions with fields changed', () => {
    fc.assert(fc.property(mutatedDefinitions(), options, expectDefinitionsOrUnrecognized), {
      numRuns: 1_000,
    });
  });

  it('reads every reference of the unchanged built-in definitions', () => {
    // Guards the property above: the definitions it mutates are read in full when left alone.
    const references = BUILT_IN_DEFINITIONS.flatMap((json) => readDefinitions(json)).flatMap(
      (definition) => definition.references,
    );

    expect(references).toHaveLength(10);
    expect(references.filter((reference) => reference.problem !== null)).toEqual([]);
  });

  it('rejects a list nested 10 000 deep with its own error, without overflowing the stack', () => {
    let json: unknown = [];
    for (let level = 0; level < 10_000; level++) json = [json];

    expect(() => readDefinitions(json)).toThrow(UnrecognizedDefinitionError);
    expect(() => readDefinitions(json)).toThrow(/nested more than 4 deep/);
  });
});

describe('a parameter named by name, by leading-slash name and by ARN', () => {
  const parameterName = fc
    .array(fc.stringMatching(/^[A-Za-z0-9_.-]{1,24}$/), { minLength: 1, maxLength: 8 })
    // SSM reserves names that start with aws or ssm.
    .filter(([first = '']) => !/^(aws|ssm)/i.test(first))
    .map((segments) => segments.join('/'));

  it('resolves to targets that all refer to, and are affected by, the change of that parameter', () => {
    fc.assert(
      fc.property(parameterName, fc.boolean(), region, account, (name, slashed, where, owner) => {
        const change = parameterChange(slashed ? `/${name}` : name, where, owner);
        const here: RefContext = { region: where, account: owner };
        const references = [name, `/${name}`, parameterArn(partitionOf(where), where, owner, name)];

        for (const reference of references) {
          const target = resolveReference(reference, here);
          expect(target.service).toBe('ssm');
          expect(refersTo(target, change)).toBe(true);
          expect(relevance(target, change).affected).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('resolves to targets that do not refer to the same name in another account', () => {
    fc.assert(
      fc.property(parameterName, region, account, account, (name, where, owner, other) => {
        fc.pre(owner !== other);
        const change = parameterChange(`/${name}`, where, owner);
        const elsewhere: RefContext = { region: where, account: other };
        const references = [name, `/${name}`, parameterArn(partitionOf(where), where, other, name)];

        for (const reference of references) {
          expect(refersTo(resolveReference(reference, elsewhere), change)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** DescribeTaskDefinition and DescribeJobDefinitions output, as the CLI reads it. */
const BUILT_IN_DEFINITIONS: unknown[] = [
  {
    taskDefinition: {
      taskDefinitionArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/web:42`,
      family: 'web',
      revision: 42,
      containerDefinitions: [
        {
          name: 'app',
          image: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web:1.4.2`,
          secrets: [
            { name: 'DB_PASSWORD', valueFrom: '/prod/db/password' },
            { name: 'API_KEY', valueFrom: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/api-key` },
            { name: 'DB_USER', valueFrom: `${SECRET}:username::` },
          ],
          logConfiguration: {
            logDriver: 'splunk',
            options: { 'splunk-url': 'https://splunk.example.com:8088' },
            secretOptions: [
              {
                name: 'splunk-token',
                valueFrom: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:splunk/token-Zz9Yy8`,
              },
            ],
          },
          repositoryCredentials: {
            credentialsParameter: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:dockerhub-Pq4Rs5`,
          },
        },
        {
          name: 'otel',
          image: 'public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0',
          secrets: [{ name: 'OTEL_TOKEN', valueFrom: '/aws/reference/secretsmanager/otel/token' }],
        },
      ],
      volumes: [
        {
          name: 'shared',
          fsxWindowsFileServerVolumeConfiguration: {
            fileSystemId: 'fs-0123456789abcdef0',
            rootDirectory: 'share',
            authorizationConfig: {
              credentialsParameter: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:fsx/admin-Ab12Cd`,
              domain: 'corp.example.com',
            },
          },
        },
      ],
    },
  },
  {
    jobDefinitions: [
      {
        jobDefinitionName: 'nightly-report',
        jobDefinitionArn: `arn:aws:batch:us-east-1:${ACCOUNT}:job-definition/nightly-report:7`,
        revision: 7,
        status: 'ACTIVE',
        type: 'container',
        containerProperties: {
          image: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/report:2.0.0`,
          secrets: [
            {
              name: 'DB_PASSWORD',
              valueFrom: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/db/password`,
            },
          ],
        },
      },
      {
        jobDefinitionName: 'etl',
        jobDefinitionArn: `arn:aws:batch:us-east-1:${ACCOUNT}:job-definition/etl:3`,
        revision: 3,
        type: 'container',
        ecsProperties: {
          taskProperties: [
            {
              containers: [
                {
                  name: 'extract',
                  image: 'public.ecr.aws/docker/library/python:3.12',
                  secrets: [{ name: 'SOURCE_TOKEN', valueFrom: `${SECRET}::AWSPREVIOUS:` }],
                },
              ],
            },
          ],
        },
      },
      {
        jobDefinitionName: 'mpi',
        revision: 1,
        type: 'multinode',
        nodeProperties: {
          numNodes: 2,
          mainNode: 0,
          nodeRangeProperties: [
            {
              targetNodes: '0:',
              container: {
                image: 'public.ecr.aws/docker/library/busybox:1.36',
                secrets: [{ name: 'MPI_KEY', valueFrom: 'prod/mpi/key' }],
              },
            },
          ],
        },
      },
      {
        jobDefinitionName: 'eks-job',
        revision: 2,
        type: 'container',
        eksProperties: {
          podProperties: { containers: [{ name: 'main', image: 'busybox', env: [] }] },
        },
      },
    ],
  },
];

/** The shared fixtures under test/fixtures/definitions, if any, and the built-in ones. */
const DEFINITIONS: unknown[] = [...fixtureDefinitions(), ...BUILT_IN_DEFINITIONS];

function fixtureDefinitions(): unknown[] {
  const dir = new URL('../fixtures/definitions/', import.meta.url);
  let files: string[];
  try {
    files = readdirSync(dir).filter((file) => file.endsWith('.json'));
  } catch {
    return [];
  }
  return files.map((file) => JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as unknown);
}

type Path = (string | number)[];

/** A definition with one to three fields dropped, replaced or nested (at most 100 deep). */
function mutatedDefinitions(): fc.Arbitrary<unknown> {
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    hostile,
    mutatedReference,
    fc.integer({ min: 1, max: 100_000 }).map((length) => '/'.repeat(length)),
  );
  return fc.constantFrom(...DEFINITIONS).chain((json) =>
    fc
      .array(
        fc.tuple(
          fc.constantFrom(...pathsOf(json)),
          fc.oneof(
            fc.constant({ kind: 'drop' as const }),
            fc.record({ kind: fc.constant('replace' as const), value }),
            fc.record({
              kind: fc.constant('nest' as const),
              depth: fc.integer({ min: 1, max: 100 }),
            }),
          ),
        ),
        { minLength: 1, maxLength: 3 },
      )
      .map((edits) => {
        const copy = structuredClone(json);
        for (const [path, change] of edits) {
          const parent = path.slice(0, -1).reduce<unknown>((node, key) => childOf(node, key), copy);
          const key = path[path.length - 1];
          // A boxed string (a value an earlier edit put there) has read-only indexes: skip it.
          if (typeof parent !== 'object' || parent === null || parent instanceof String) continue;
          if (key === undefined) continue;
          const node = parent as Record<string | number, unknown>;
          if (change.kind === 'drop') Reflect.deleteProperty(node, key);
          else if (change.kind === 'replace') node[key] = change.value;
          else
            node[key] = Array.from({ length: change.depth }).reduce((inner) => [inner], node[key]);
        }
        return copy;
      }),
  );
}

function expectTargetOrInvalid(valueFrom: string, where: RefContext): void {
  let target: Target;
  try {
    target = resolveReference(valueFrom, where);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidReferenceError);
    expect(error).toBeInstanceOf(RefsError);
    expect((error as Error).message.length).toBeLessThan(1_000);
    return;
  }
  expect(['ssm', 'secretsmanager']).toContain(target.service);
  expect(target.name.length).toBeGreaterThan(0);
  expect(target.versionStage !== null && target.versionId !== null).toBe(false);
  if (target.arn !== null) expect(target.arn.startsWith('arn:')).toBe(true);
  if (target.service === 'ssm') {
    expect([target.jsonKey, target.versionStage, target.versionId]).toEqual([null, null, null]);
  }
}

function expectDefinitionsOrUnrecognized(json: unknown, options: RefContext): void {
  let definitions: Definition[];
  try {
    definitions = readDefinitions(json, options);
  } catch (error) {
    expect(error).toBeInstanceOf(UnrecognizedDefinitionError);
    return;
  }
  for (const definition of definitions) {
    expect(['ecs-task-definition', 'batch-job-definition']).toContain(definition.kind);
    for (const reference of definition.references) {
      expect(typeof reference.valueFrom).toBe('string');
      // A reference is either understood or says why not, never both or neither.
      expect(reference.target === null).toBe(reference.problem !== null);
    }
  }
}

function resolves(valueFrom: string, where: RefContext): boolean {
  try {
    resolveReference(valueFrom, where);
    return true;
  } catch {
    return false;
  }
}

function applyEdit(reference: string, change: Edit): string {
  switch (change.kind) {
    case 'colons': {
      const at = change.at % (reference.length + 1);
      return `${reference.slice(0, at)}${':'.repeat(change.count)}${reference.slice(at)}`;
    }
    case 'segment': {
      const parts = reference.split(':');
      parts[change.index % parts.length] = change.value;
      return parts.join(':');
    }
    case 'append':
      return `${reference}:${change.parts.join(':')}`;
    case 'splice': {
      const at = change.at % (reference.length + 1);
      return `${reference.slice(0, at)}${change.value}${reference.slice(at + 1)}`;
    }
  }
}

/** The one change a Parameter Store Update of `name` in `region` and `account` yields. */
function parameterChange(name: string, region: string, account: string): Change {
  const event = loadEvent('ssm/update');
  const arn = parameterArn(partitionOf(region), region, account, name);
  const detail = { ...(event.detail as object), name };
  const [change] = parseEvent({ ...event, region, account, resources: [arn], detail }).changes;
  if (!change) throw new Error(`no change for ${name}`);
  return change;
}

function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [];
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

function childOf(node: unknown, key: string | number): unknown {
  return typeof node === 'object' && node !== null
    ? (node as Record<string | number, unknown>)[key]
    : undefined;
}
