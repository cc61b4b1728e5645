import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { ClientOptions } from '../aws/index.js';
import { CliError, EXIT } from './errors.js';
import { printable } from './table.js';

/** The outputs the watcher's stack declares for the CLI (serverless.yml), the ARN first. */
const TABLE_ARN_OUTPUT = 'StateTableArn';
const TABLE_NAME_OUTPUT = 'StateTableName';

/**
 * The state table of the watcher's CloudFormation stack `name` in `region`, as
 * WATCHER_STATE_TABLE spells it: its ARN (so that the table's own region wins over the CLI's),
 * from the StateTableArn output, else built from StateTableName and the stack's own ARN.
 *
 * The CloudFormation client is the CLI's alone, built here rather than in AwsClients: the
 * Lambda never reads its stack, and its bundle stays without this client.
 *
 * @example
 * await stackTable('rotation-watcher-prod', 'eu-west-1', {}); // 'arn:aws:dynamodb:eu-west-1:…:table/…'
 */
export async function stackTable(
  name: string,
  region: string,
  options: ClientOptions,
): Promise<string> {
  const client = new CloudFormationClient({
    region,
    maxAttempts: options.maxAttempts ?? 4,
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.requestHandler ? { requestHandler: options.requestHandler as never } : {}),
  });
  const shown = `--stack ${printable(name)}`;
  try {
    const reply = await client.send(new DescribeStacksCommand({ StackName: name }));
    const stack = reply.Stacks?.[0];
    if (!stack) throw notFound(shown, region);
    const output = (key: string) =>
      stack.Outputs?.find((candidate) => candidate.OutputKey === key)?.OutputValue;
    const arn = output(TABLE_ARN_OUTPUT);
    if (arn) return arn;
    const table = output(TABLE_NAME_OUTPUT);
    // The stack's ARN says where the table is: arn:aws:cloudformation:REGION:ACCOUNT:stack/…
    const [, partition, , stackRegion, account] = (stack.StackId ?? '').split(':');
    if (table && partition && stackRegion && account)
      return `arn:${partition}:dynamodb:${stackRegion}:${account}:table/${table}`;
    if (table) return table;
    throw new CliError(
      `${shown}: the stack has no ${TABLE_ARN_OUTPUT} output: it is older than this version of rotation-watcher; deploy it again, or set WATCHER_STATE_TABLE to its table`,
    );
  } catch (error) {
    if (error instanceof CliError) throw error;
    // CloudFormation says a missing stack with a ValidationError "Stack with id … does not exist".
    const message = error instanceof Error ? error.message : String(error);
    if (/does not exist/i.test(message)) throw notFound(shown, region);
    throw new CliError(
      `${shown}: the stack could not be read in ${region} (cloudformation:DescribeStacks): ${printable(message.split('\n')[0] ?? '')}`,
      EXIT.incomplete,
    );
  } finally {
    client.destroy();
  }
}

function notFound(shown: string, region: string): CliError {
  return new CliError(
    `${shown}: no such stack in ${region}; check its name and region (--region, or the profile's), or set WATCHER_STATE_TABLE instead`,
  );
}
