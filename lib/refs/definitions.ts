import type { Definition, DefinitionKind, RefContext, Reference } from '../domain/index.js';
import { contextOfArn } from './arn.js';
import { clip, RefsError, UnrecognizedDefinitionError } from './errors.js';
import { resolveReference } from './target.js';

type Json = Record<string, unknown>;

/** Region and account to assume where a definition's own ARN does not give them. */
export interface ReadOptions {
  region?: string | null;
  account?: string | null;
}

/**
 * Every task or job definition in `json` (the output of DescribeTaskDefinition or
 * DescribeJobDefinitions: one object, a list, or the `taskDefinition` / `jobDefinitions`
 * wrapper), each with its references. Explicit options win over the definition's own ARN.
 *
 * @throws UnrecognizedDefinitionError when something in it is neither kind of definition.
 */
export function readDefinitions(json: unknown, options: ReadOptions = {}): Definition[] {
  return unwrap(json).map((item, index) => {
    const kind = kindOf(item, index);
    return kind === 'ecs-task-definition'
      ? readTaskDefinition(item, options)
      : readJobDefinition(item, options);
  });
}

/** The references of one ECS task definition (the `taskDefinition` of DescribeTaskDefinition). */
export function taskDefinitionReferences(definition: unknown, context: RefContext): Reference[] {
  if (!isObject(definition)) return [];
  const refs: Reference[] = [];
  for (const container of objects(definition.containerDefinitions)) {
    refs.push(...containerReferences(container, stringOr(container.name, null), context));
  }
  for (const volume of objects(definition.volumes)) {
    const fsx = at(volume, 'fsxWindowsFileServerVolumeConfiguration', 'authorizationConfig');
    if (fsx && 'credentialsParameter' in fsx) {
      refs.push(
        reference(
          null,
          'volumes.fsxWindowsFileServerVolumeConfiguration.authorizationConfig.credentialsParameter',
          stringOr(volume.name, null),
          fsx.credentialsParameter,
          context,
        ),
      );
    }
  }
  return refs;
}

/** The references of one Batch job definition, in every place a container can sit. */
export function jobDefinitionReferences(definition: unknown, context: RefContext): Reference[] {
  if (!isObject(definition)) return [];
  const refs: Reference[] = [];
  if (isObject(definition.containerProperties)) {
    refs.push(...containerReferences(definition.containerProperties, null, context));
  }
  refs.push(...ecsPropertiesReferences(definition.ecsProperties, null, context));
  for (const range of objects(at(definition, 'nodeProperties')?.nodeRangeProperties)) {
    const nodes = `nodes ${stringOr(range.targetNodes, '?')}`;
    if (isObject(range.container))
      refs.push(...containerReferences(range.container, nodes, context));
    refs.push(...ecsPropertiesReferences(range.ecsProperties, nodes, context));
  }
  return refs;
}

function readTaskDefinition(item: Json, options: ReadOptions): Definition {
  const arn = stringOr(item.taskDefinitionArn, null);
  const context = contextFor(arn, options);
  const id = arn ?? joinRevision(item.family, item.revision) ?? 'task definition';
  return {
    kind: 'ecs-task-definition',
    id,
    arn,
    ...context,
    references: taskDefinitionReferences(item, context),
  };
}

function readJobDefinition(item: Json, options: ReadOptions): Definition {
  const arn = stringOr(item.jobDefinitionArn, null);
  const context = contextFor(arn, options);
  const id = arn ?? joinRevision(item.jobDefinitionName, item.revision) ?? 'job definition';
  return {
    kind: 'batch-job-definition',
    id,
    arn,
    ...context,
    references: jobDefinitionReferences(item, context),
  };
}

function ecsPropertiesReferences(
  ecsProperties: unknown,
  prefix: string | null,
  context: RefContext,
): Reference[] {
  const refs: Reference[] = [];
  for (const task of objects(at(ecsProperties)?.taskProperties)) {
    for (const container of objects(task.containers)) {
      const name = stringOr(container.name, null);
      const label = prefix && name ? `${prefix} ${name}` : (name ?? prefix);
      refs.push(...containerReferences(container, label, context));
    }
  }
  return refs;
}

/** `secrets`, `logConfiguration.secretOptions` and `repositoryCredentials` of one container. */
function containerReferences(
  container: Json,
  label: string | null,
  context: RefContext,
): Reference[] {
  const refs: Reference[] = [];
  for (const secret of objects(container.secrets)) {
    refs.push(reference(label, 'secrets', stringOr(secret.name, null), secret.valueFrom, context));
  }
  for (const option of objects(at(container, 'logConfiguration')?.secretOptions)) {
    refs.push(
      reference(
        label,
        'logConfiguration.secretOptions',
        stringOr(option.name, null),
        option.valueFrom,
        context,
      ),
    );
  }
  const credentials = at(container, 'repositoryCredentials');
  if (credentials && 'credentialsParameter' in credentials) {
    refs.push(
      reference(
        label,
        'repositoryCredentials.credentialsParameter',
        null,
        credentials.credentialsParameter,
        context,
      ),
    );
  }
  return refs;
}

function reference(
  container: string | null,
  field: string,
  name: string | null,
  valueFrom: unknown,
  context: RefContext,
): Reference {
  if (typeof valueFrom !== 'string') {
    return {
      container,
      field,
      name,
      valueFrom: '',
      target: null,
      problem: `${field}: valueFrom is ${describe(valueFrom)}, not a string`,
    };
  }
  try {
    return {
      container,
      field,
      name,
      valueFrom,
      target: resolveReference(valueFrom, context),
      problem: null,
    };
  } catch (error) {
    if (!(error instanceof RefsError)) throw error;
    return { container, field, name, valueFrom, target: null, problem: error.message };
  }
}

/** Lists and wrappers nest a few levels at most in anything AWS prints; deeper is not a definition. */
const MAX_NESTING = 4;

function unwrap(json: unknown, depth = 0): Json[] {
  if (depth > MAX_NESTING) {
    throw new UnrecognizedDefinitionError(
      `lists or wrappers nested more than ${MAX_NESTING} deep: not a task or job definition`,
    );
  }
  if (Array.isArray(json)) return json.flatMap((item) => unwrap(item, depth + 1));
  if (!isObject(json)) {
    throw new UnrecognizedDefinitionError(
      `expected a task or job definition (a JSON object or list), got ${describe(json)}`,
    );
  }
  if (isObject(json.taskDefinition)) return [json.taskDefinition];
  for (const key of ['jobDefinitions', 'taskDefinitions']) {
    const list = json[key];
    if (Array.isArray(list)) return list.flatMap((item) => unwrap(item, depth + 1));
  }
  return [json];
}

function kindOf(item: Json, index: number): DefinitionKind {
  if ('containerDefinitions' in item) {
    if (!Array.isArray(item.containerDefinitions)) {
      throw new UnrecognizedDefinitionError(
        `definition ${index + 1}: containerDefinitions is ${describe(item.containerDefinitions)}, not a list`,
      );
    }
    return 'ecs-task-definition';
  }
  if (
    [
      'jobDefinitionName',
      'containerProperties',
      'nodeProperties',
      'ecsProperties',
      'eksProperties',
    ].some((key) => key in item)
  ) {
    return 'batch-job-definition';
  }
  const keys = Object.keys(item)
    .slice(0, 5)
    .map((key) => clip(key, 40));
  throw new UnrecognizedDefinitionError(
    `definition ${index + 1} is neither a task definition (no containerDefinitions) nor a job definition (no jobDefinitionName or containerProperties)${keys.length ? `; its keys are ${keys.join(', ')}` : '; it is empty'}`,
  );
}

function contextFor(arn: string | null, options: ReadOptions): RefContext {
  const own = contextOfArn(arn);
  const region = options.region ?? own.region;
  return {
    region,
    account: options.account ?? own.account,
    partition: options.region ? null : own.partition,
  };
}

function joinRevision(name: unknown, revision: unknown): string | null {
  if (typeof name !== 'string') return null;
  return typeof revision === 'number' || typeof revision === 'string'
    ? `${name}:${revision}`
    : name;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objects(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** Follows object keys, or returns undefined where the path leaves objects. */
function at(value: unknown, ...path: string[]): Json | undefined {
  let current = value;
  for (const key of path) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return isObject(current) ? current : undefined;
}

function stringOr<T>(value: unknown, fallback: T): string | T {
  return typeof value === 'string' ? value : fallback;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
