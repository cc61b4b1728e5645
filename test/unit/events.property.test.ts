import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EventError,
  type EventResult,
  HANDLED_EVENTS,
  parseEvent,
  parsePayload,
  type RecordResult,
} from '../../lib/events/index.js';
import { type JsonObject, loadEvent, sqsBatch } from '../helpers/events.js';

// Events come from the network and from queues anyone in the account can write to: whatever
// arrives, parseEvent either reads it or says what is wrong with an EventError, and
// parsePayload never throws, so one bad record cannot sink a batch.

const RUNS = 500;

/** Every EventBridge event fixture, by its loadEvent name (the SQS batch is not one). */
const FIXTURES = readdirSync(new URL('../fixtures/events/', import.meta.url), {
  withFileTypes: true,
})
  .filter((entry) => entry.isDirectory() && entry.name !== 'sqs')
  .flatMap((dir) =>
    readdirSync(new URL(`../fixtures/events/${dir.name}/`, import.meta.url))
      .filter((file) => file.endsWith('.json'))
      .map((file) => `${dir.name}/${file.slice(0, -'.json'.length)}`),
  );

const ANYTHING = {
  maxDepth: 4,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withTypedArray: true,
} as const;

const hostile = fc.anything({ ...ANYTHING, withSparseArray: true });

/** Without holes: a payload is parsed JSON, which has none, and `map` would keep a hole as a hole. */
const hostilePayload = fc.anything(ANYTHING);

/** Up to 100 000 characters of a short, possibly non-BMP or lone-surrogate, pattern. */
const hugeString = fc
  .tuple(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }),
    fc.integer({ min: 1, max: 100_000 }),
  )
  .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));

const unicodeString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

type Path = (string | number)[];

type Mutation =
  | { kind: 'drop' }
  | { kind: 'replace'; value: unknown }
  | { kind: 'nest'; depth: number; asList: boolean };

/** Drops, replaces or nests a field; `values` are the replacements, `maxDepth` caps the nesting. */
function mutationOf(values: fc.Arbitrary<unknown>, maxDepth: number): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.constant({ kind: 'drop' as const }),
    fc.record({ kind: fc.constant('replace' as const), value: values }),
    fc.record({ kind: fc.constant('replace' as const), value: hugeString }),
    fc.record({ kind: fc.constant('replace' as const), value: unicodeString }),
    fc.record({
      kind: fc.constant('nest' as const),
      depth: fc.integer({ min: 1, max: maxDepth }),
      asList: fc.boolean(),
    }),
  );
}

/** A fixture with one to three of its fields (down to three levels deep) mutated. */
function mutatedEventOf(mutation: fc.Arbitrary<Mutation>): fc.Arbitrary<unknown> {
  return fc.constantFrom(...FIXTURES).chain((name) => {
    const event = loadEvent(name);
    const paths = pathsOf(event).filter((path) => path.length <= 3);
    return fc
      .array(fc.tuple(fc.constantFrom(...paths), mutation), { minLength: 1, maxLength: 3 })
      .map((mutations) => mutate(event, mutations));
  });
}

const mutatedEvent = mutatedEventOf(
  mutationOf(fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostile), 10_000),
);

// For SQS bodies the events must still serialize as JSON, and the test's own JSON.stringify
// recurses, so nesting stays shallower there.
const mutatedJsonEvent = mutatedEventOf(mutationOf(fc.jsonValue({ maxDepth: 3 }), 1_000));

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf';

/** Mostly the valid value, sometimes anything: so that handlers, not just the envelope, are reached. */
const mostly = (valid: unknown) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(valid) }, { weight: 1, arbitrary: hostile });

/** Values a handler looks for, and plausible wrong ones. */
const detailValue = fc.oneof(
  hostile,
  fc.constantFrom<unknown>(
    'Update',
    'Expiration',
    '/prod/db/password',
    'AWSCURRENT',
    'secretsmanager.amazonaws.com',
    'PutSecretValue',
    'UpdateSecret',
    'UpdateSecretVersionStage',
    'RotationSucceeded',
    'DeleteSecret',
    SECRET_ARN,
    `${SECRET_ARN}:password::`,
    { secretId: 'prod/db' },
    { secretId: SECRET_ARN, versionStages: ['AWSPENDING'] },
    { versionStage: 'AWSCURRENT', moveToVersionId: 'v2' },
    { arn: SECRET_ARN, versionId: 'v2' },
    { aRN: SECRET_ARN },
    { SecretId: SECRET_ARN },
  ),
);

/** An event of a handled kind whose other fields are anything at all. */
const handledKindWithAnything: fc.Arbitrary<unknown> = fc
  .record({
    kind: fc.constantFrom(...HANDLED_EVENTS),
    envelope: fc.record({
      id: mostly('4c5b6a2e-8f1d-4e3a-9b7c-1d2e3f4a5b6c'),
      account: mostly('123456789012'),
      time: mostly('2024-05-14T09:21:37Z'),
      region: mostly('us-east-1'),
      resources: mostly([SECRET_ARN]),
    }),
    detail: fc.oneof(
      hostile,
      fc.dictionary(
        fc.constantFrom(
          'operation',
          'name',
          'parameter-name',
          'policy-type',
          'labelUpdated',
          'versionId',
          'eventSource',
          'eventName',
          'errorCode',
          'requestParameters',
          'responseElements',
          'additionalEventData',
        ),
        detailValue,
      ),
    ),
  })
  .map(({ kind, envelope, detail }) => ({
    ...envelope,
    source: kind.source,
    'detail-type': kind.detailType,
    detail,
  }));

describe('parseEvent on hostile input', () => {
  it('reads or rejects with an EventError any value at all', () => {
    fc.assert(fc.property(hostile, expectReadOrRejected), { numRuns: RUNS });
  });

  it('reads or rejects with an EventError any handled kind of event with arbitrary fields', () => {
    fc.assert(fc.property(handledKindWithAnything, expectReadOrRejected), { numRuns: RUNS });
  });

  it('reads or rejects with an EventError every fixture with fields dropped, replaced or nested', () => {
    fc.assert(fc.property(mutatedEvent, expectReadOrRejected), { numRuns: 1_000 });
  });

  it.each([
    ['mutated fixtures', mutatedEvent],
    ['handled kinds with arbitrary fields', handledKindWithAnything],
  ])('meets changes, reasons and rejections alike among %s', (_label, events) => {
    // Guards the properties above against passing only because every input is rejected.
    const outcomes = fc.sample(events, { numRuns: 500, seed: 42 }).map(outcomeOf);

    expect(new Set(outcomes)).toEqual(new Set(['changes', 'ignored', 'rejected']));
  });
});

describe('parsePayload on hostile input', () => {
  const payload = fc.oneof(
    hostilePayload,
    mutatedEvent,
    fc.array(fc.oneof(mutatedEvent, hostile), { maxLength: 5 }),
    fc
      .array(fc.oneof(mutatedJsonEvent, unicodeString), { minLength: 1, maxLength: 5 })
      .map((events) => sqsBatch(...events)),
    fc.record({ Records: fc.array(hostile, { maxLength: 5 }) }),
    fc.record({
      Records: fc.array(
        fc.record({
          messageId: fc.oneof(unicodeString, hostile),
          body: fc.oneof(unicodeString, hostile),
        }),
        { maxLength: 5 },
      ),
    }),
  );

  it('never throws, and reports each record as changes, a reason or an error', () => {
    fc.assert(
      fc.property(payload, (input) => {
        const results = parsePayload(input);

        expect(results).toHaveLength(expectedResults(input));
        for (const result of results) expectWellFormed(result);
      }),
      { numRuns: RUNS },
    );
  });

  it('gives one result per record of an SQS batch, under its messageId', () => {
    const events = fc.array(fc.oneof(mutatedJsonEvent, unicodeString), {
      minLength: 1,
      maxLength: 6,
    });
    fc.assert(
      fc.property(events, (items) => {
        const batch = sqsBatch(...items);

        const results = parsePayload(batch);

        expect(results.map((result) => result.recordId)).toEqual(
          batch.Records.map((record) => record.messageId),
        );
      }),
      { numRuns: 300 },
    );
  });
});

function outcomeOf(input: unknown): 'changes' | 'ignored' | 'rejected' {
  try {
    return parseEvent(input).changes.length > 0 ? 'changes' : 'ignored';
  } catch {
    return 'rejected';
  }
}

function expectReadOrRejected(input: unknown): void {
  let result: EventResult;
  try {
    result = parseEvent(input);
  } catch (error) {
    expect(error).toBeInstanceOf(EventError);
    // Messages go to logs and notifications: hostile input must not make them huge.
    expect((error as Error).message.length).toBeGreaterThan(0);
    expect((error as Error).message.length).toBeLessThan(1_000);
    return;
  }
  expect(Array.isArray(result.changes)).toBe(true);
  // A nudge (an ECS deployment or Batch job state) carries neither a change nor a reason.
  expect(result.ignored === null).toBe(result.changes.length > 0 || result.nudge !== undefined);
  expect(result.ignored?.length ?? 0).toBeLessThan(1_000);
}

/** One result per event of a list, per record of a non-empty batch, else one. */
function expectedResults(payload: unknown): number {
  if (Array.isArray(payload)) return payload.length;
  const records =
    typeof payload === 'object' && payload !== null ? Reflect.get(payload, 'Records') : null;
  return Array.isArray(records) && records.length > 0 ? records.length : 1;
}

function expectWellFormed(result: RecordResult): void {
  expect(result.recordId === null || typeof result.recordId === 'string').toBe(true);
  expect(Array.isArray(result.changes)).toBe(true);
  if (result.error !== null) {
    expect(typeof result.error).toBe('string');
    expect(result.error.length).toBeLessThan(2_000);
    expect(result.changes).toEqual([]);
    expect(result.ignored).toBeNull();
  } else {
    expect(result.ignored === null).toBe(result.changes.length > 0 || result.nudge !== undefined);
  }
}

/** Every path from the root to a node of `value`. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [];
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

function mutate(event: JsonObject, mutations: [Path, Mutation][]): unknown {
  const copy = structuredClone(event);
  for (const [path, change] of mutations) {
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => childOf(node, key), copy);
    const key = path[path.length - 1];
    if (typeof parent !== 'object' || parent === null || key === undefined) continue;
    const node = parent as Record<string | number, unknown>;
    // Reflect.set, not assignment: an earlier mutation may have put a boxed string here, whose
    // index properties are read-only (assignment would throw in the generator, not the parser).
    if (change.kind === 'drop') Reflect.deleteProperty(node, key);
    else if (change.kind === 'replace') Reflect.set(node, key, change.value);
    else Reflect.set(node, key, nest(node[key], change.depth, change.asList));
  }
  return copy;
}

function childOf(node: unknown, key: string | number): unknown {
  return typeof node === 'object' && node !== null
    ? (node as Record<string | number, unknown>)[key]
    : undefined;
}

function nest(value: unknown, depth: number, asList: boolean): unknown {
  let nested = value;
  for (let level = 0; level < depth; level++) nested = asList ? [nested] : { value: nested };
  return nested;
}
