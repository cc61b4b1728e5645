// The route that answers the real SDK clients from a scripted account. It reads the model afresh
// on every request, so a test can move the clock or rewrite a timeline between two calls; scripted
// deployments and jobs are first brought up to the clock.
import { type AwsReply, type AwsRequest, awsError } from '../wire.js';
import { batchRoute } from './batch.js';
import { advanceDeployments } from './deployments.js';
import { ecsRoute } from './ecs.js';
import { advanceJobs } from './job-runs.js';
import { emptyAccount, type ScriptedAccount } from './model.js';
import { arns, type Input, lastPart, list, page, Rejection, reject, seconds } from './shared.js';

/** The calls that change the account; `serveScripted` logs each of them. */
export const MUTATING_APIS = new Set([
  'ecs:UpdateService',
  'batch:SubmitJob',
  'batch:TerminateJob',
]);

/** SSM finds `/a/b` when asked for `a/b` too; the watcher relies on that normalisation. */
const parameterKey = (name: string) => name.replace(/^\//, '');

function describeParameters(a: ScriptedAccount, input: Input): AwsReply {
  const filters = (input.ParameterFilters ?? []) as Array<{
    Key?: string;
    Option?: string;
    Values?: unknown;
  }>;
  let parameters = a.parameters;
  for (const filter of filters) {
    const values = list(filter.Values);
    if (values.length > 50)
      return reject('ValidationException', 'A parameter filter takes at most 50 values.');
    const option = filter.Option ?? 'Equals';
    if (filter.Key === 'Name' && (option === 'Equals' || option === 'BeginsWith')) {
      const keys = values.map(parameterKey);
      parameters = parameters.filter((p) =>
        keys.some((key) =>
          option === 'Equals' ? parameterKey(p.name) === key : parameterKey(p.name).startsWith(key),
        ),
      );
    } else if (filter.Key === 'Type' && option === 'Equals') {
      parameters = parameters.filter((p) => values.includes(p.type ?? 'String'));
    } else {
      // Not AWS's answer: AWS supports more filters, this rig does not, and says so.
      return reject('InvalidFilterKey', `The scripted account does not filter on ${filter.Key}.`);
    }
  }
  // SSM's default page is not documented; 10 keeps callers that omit MaxResults honest.
  const spec = { limit: 50, fallback: 10, error: 'ValidationException', capitalised: true };
  const { items, next } = page(a, parameters, input, spec);
  return {
    body: {
      Parameters: items.map((p) => ({
        Name: p.name,
        ARN: arns(a).parameter(p.name),
        Type: p.type ?? 'String',
        LastModifiedDate: seconds(p.lastModified),
        LastModifiedUser: `arn:aws:iam::${a.account}:user/scripted`,
        Version: p.version,
        Tier: 'Standard',
        Policies: [],
        DataType: 'text',
      })),
      NextToken: next,
    },
  };
}

/**
 * The secret a request names in `region` (a name, a full ARN with AWS's six-character suffix,
 * or a partial ARN): the primary in the account's region, a replica in a replica's region.
 */
function secretIn(account: ScriptedAccount, region: string, input: Input) {
  const id = String(input.SecretId ?? '');
  const a = { ...account, region: region === 'unknown' ? account.region : region };
  const arn = arns(a);
  const primary = a.region === account.region;
  const secret = account.secrets.find(
    (s) =>
      (primary || s.replicas?.some((replica) => replica.region === a.region)) &&
      (s.name === id || arn.secret(`${s.name}-${s.suffix}`) === id || arn.secret(s.name) === id),
  );
  if (!secret)
    reject('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  const replica = primary ? undefined : secret.replicas?.find((r) => r.region === a.region);
  return { secret, replica, primary, arn };
}

/**
 * DescribeSecret in `region`: the primary in the account's region, a replica in the replica's
 * (with its own ARN, and the primary's version and time unless the replica lags behind).
 */
function describeSecret(account: ScriptedAccount, region: string, input: Input): AwsReply {
  const { secret, replica, primary, arn } = secretIn(account, region, input);
  const current = replica?.currentVersion ?? secret.currentVersion;
  const lastChanged = replica?.lastChanged ?? secret.lastChanged;
  return {
    body: {
      ARN: arn.secret(`${secret.name}-${secret.suffix}`),
      Name: secret.name,
      LastChangedDate: seconds(lastChanged),
      ...(secret.deletedAt !== undefined ? { DeletedDate: seconds(secret.deletedAt) } : {}),
      VersionIdsToStages: primary ? stagesOf(secret) : { [current]: ['AWSCURRENT'] },
      // The model keeps no creation time; the last change is the latest it can have been.
      CreatedDate: seconds(lastChanged),
      ...(primary && secret.replicas?.length
        ? {
            ReplicationStatus: secret.replicas.map((r) => ({
              Region: r.region,
              KmsKeyId: 'alias/aws/secretsmanager',
              Status: r.status ?? 'InSync',
            })),
          }
        : {}),
      ...(primary ? {} : { PrimaryRegion: account.region }),
    },
  };
}

/**
 * ListSecretVersionIds in `region`: each version that carries a label, with its labels and its
 * creation (never a value); a replica lists its own AWSCURRENT while it lags behind. Versions
 * without a label are not listed, as AWS does without IncludeDeprecated.
 */
function listSecretVersionIds(account: ScriptedAccount, region: string, input: Input): AwsReply {
  const { secret, replica, arn } = secretIn(account, region, input);
  const stages = replica?.currentVersion
    ? { [replica.currentVersion]: ['AWSCURRENT'] }
    : stagesOf(secret);
  const spec = { limit: 100, fallback: 100, error: 'InvalidParameterException', capitalised: true };
  const { items, next } = page(account, Object.entries(stages), input, spec);
  return {
    body: {
      ARN: arn.secret(`${secret.name}-${secret.suffix}`),
      Name: secret.name,
      Versions: items.map(([version, labels]) => ({
        VersionId: version,
        VersionStages: labels,
        CreatedDate: seconds(
          secret.versionsCreated?.[version] ?? replica?.lastChanged ?? secret.lastChanged,
        ),
        KmsKeyIds: ['DefaultEncryptionKey'],
      })),
      NextToken: next,
    },
  };
}

/** VersionIdsToStages: AWSPENDING may share the AWSCURRENT version (a finished rotation's leftover). */
function stagesOf(secret: ScriptedAccount['secrets'][number]): Record<string, string[]> {
  const stages: Record<string, string[]> = {};
  const add = (version: string | undefined, stage: string) => {
    if (version) stages[version] = [...(stages[version] ?? []), stage];
  };
  add(secret.currentVersion, 'AWSCURRENT');
  add(secret.previousVersion, 'AWSPREVIOUS');
  add(secret.pendingVersion, 'AWSPENDING');
  return stages;
}

/**
 * AWS is regional: a request signed for another region sees an empty account there, so a
 * watcher that scans several regions does not find the same consumers twice.
 */
function regionView(account: ScriptedAccount, region: string): ScriptedAccount {
  if (region === account.region || region === 'unknown') return account;
  return { ...emptyAccount(account.now), region, account: account.account };
}

/** The error of the first of the account's faults that matches `request`, counting the hit. */
function faultFor(account: ScriptedAccount, request: AwsRequest): AwsReply | null {
  const api = `${request.service}:${request.operation}`;
  const cluster = lastPart(request.input.cluster ?? 'default');
  const fault = account.faults?.find(
    (f) =>
      f.api === api &&
      (f.cluster === undefined || (request.service === 'ecs' && f.cluster === cluster)) &&
      (f.times === undefined || (f.hits ?? 0) < f.times),
  );
  if (!fault) return null;
  fault.hits = (fault.hits ?? 0) + 1;
  const error = fault.error ?? 'ServerException';
  const status = fault.status ?? (fault.error === undefined ? 500 : 400);
  return awsError(error, `The scripted account refuses ${api} (a scripted fault).`, status);
}

/**
 * Brings the account's scripted deployments and jobs to its clock. The route does it before every
 * request; a test that reads the model itself after moving the clock calls it first.
 */
export function advanceAccount(account: ScriptedAccount): void {
  advanceDeployments(account);
  advanceJobs(account);
}

/** Answers ECS, Batch, SSM and Secrets Manager calls from `account`, read live on every request. */
export function scriptedRoute(account: ScriptedAccount): (request: AwsRequest) => AwsReply {
  return (request) => {
    advanceAccount(account);
    const refused = faultFor(account, request);
    if (refused) return refused;
    const a = regionView(account, request.region);
    const { operation, input } = request;
    try {
      let reply: AwsReply | null = null;
      if (request.service === 'ecs') reply = ecsRoute(a, operation, input);
      else if (request.service === 'batch') reply = batchRoute(a, operation, input);
      else if (request.service === 'ssm' && operation === 'DescribeParameters')
        reply = describeParameters(a, input);
      else if (request.service === 'secretsmanager' && operation === 'DescribeSecret')
        // Replicas live outside the account's region: answered from the whole account.
        reply = describeSecret(account, request.region, input);
      else if (request.service === 'secretsmanager' && operation === 'ListSecretVersionIds')
        reply = listSecretVersionIds(account, request.region, input);
      return (
        reply ??
        awsError(
          'UnknownOperationException',
          `The scripted account does not answer ${request.service}:${operation}.`,
        )
      );
    } catch (error) {
      if (error instanceof Rejection) return error.reply;
      throw error;
    }
  };
}
