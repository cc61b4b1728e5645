import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageOffline } from '../../scripts/package.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
export type Template = Record<string, any>;

export interface Packaged {
  dir: string;
  template: Template;
  result: SpawnSyncReturns<string>;
}

/** `npx serverless package` with no credentials and no network, into a fresh folder. */
export function packageStack(params: Record<string, string> = {}): Packaged {
  const dir = mkdtempSync(join(tmpdir(), 'rw-package-'));
  const result = packageOffline(dir, params);
  let template: Template = {};
  try {
    template = JSON.parse(
      readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'),
    );
  } catch {
    // the caller asserts on result
  }
  return { dir, template, result };
}

/**
 * Resolves the intrinsic functions of a template fragment the way CloudFormation would for the
 * given parameter values (defaults otherwise): Ref, Fn::If and the condition functions, Fn::Sub,
 * Fn::Join, Fn::Split, Fn::Select. Fn::GetAtt becomes a readable placeholder.
 */
export function resolve(
  template: Template,
  fragment: unknown,
  overrides: Record<string, string> = {},
): unknown {
  const params: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': 'us-east-1',
    'AWS::AccountId': '123456789012',
  };
  for (const [name, spec] of Object.entries(template.Parameters ?? {}))
    params[name] = String((spec as { Default?: unknown }).Default ?? '');
  Object.assign(params, overrides);
  const conditions = template.Conditions ?? {};
  const NO_VALUE = Symbol('NoValue');
  const condition = (name: string): boolean => Boolean(walk(conditions[name]));
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk).filter((item) => item !== NO_VALUE);
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key !== undefined) {
      if (key === 'Ref')
        return arg === 'AWS::NoValue' ? NO_VALUE : (params[arg as string] ?? `<${arg}>`);
      if (key === 'Condition') return condition(arg as string);
      if (key === 'Fn::If') {
        const [name, yes, no] = arg as [string, unknown, unknown];
        return walk(condition(name) ? yes : no);
      }
      if (key === 'Fn::Equals') {
        const [a, b] = (arg as unknown[]).map(walk);
        return a === b;
      }
      if (key === 'Fn::Not') return !walk((arg as unknown[])[0]);
      if (key === 'Fn::And') return (arg as unknown[]).every((item) => walk(item));
      if (key === 'Fn::Or') return (arg as unknown[]).some((item) => walk(item));
      if (key === 'Fn::GetAtt') return `<${(arg as string[]).join('.')}>`;
      if (key === 'Fn::Join') {
        const [separator, list] = arg as [string, unknown];
        return (walk(list) as unknown[]).join(separator);
      }
      if (key === 'Fn::Split') {
        const [separator, text] = arg as [string, unknown];
        return String(walk(text)).split(separator);
      }
      if (key === 'Fn::Select') {
        const [index, list] = arg as [number, unknown];
        return (walk(list) as unknown[])[Number(index)];
      }
      if (key === 'Fn::Sub') {
        const [text, vars] = Array.isArray(arg)
          ? (arg as [string, Record<string, unknown>])
          : [arg as string, {}];
        const local = Object.fromEntries(Object.entries(vars).map(([name, v]) => [name, walk(v)]));
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
          String(local[name] ?? params[name] ?? `<${name}>`),
        );
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const resolved = walk(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  };
  return walk(fragment);
}

/** The statements of the functions' role, resolved. */
export function roleStatements(
  template: Template,
  overrides: Record<string, string> = {},
): Array<Record<string, unknown>> {
  const role = template.Resources.WatcherRole;
  const policies = resolve(template, role.Properties.Policies, overrides) as Array<{
    PolicyDocument: { Statement: Array<Record<string, unknown>> };
  }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

export interface Resource {
  Type: string;
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are untyped JSON
  Properties: Record<string, any>;
  Condition?: string;
}

/** The template's resources, as a typed list. */
export function resourcesOf(template: Template): Resource[] {
  return Object.values(template.Resources as Record<string, Resource>);
}

export function asList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function cfnLint(templatePath: string): SpawnSyncReturns<string> | null {
  const probe = spawnSync('sh', ['-c', 'command -v cfn-lint'], { encoding: 'utf8' });
  if (probe.status !== 0) return null;
  return spawnSync('cfn-lint', ['--ignore-checks', 'W3005', '--', templatePath], {
    encoding: 'utf8',
    timeout: 120_000,
  });
}
