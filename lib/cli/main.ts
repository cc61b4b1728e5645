import { regionsFor, settingsOrFail } from './account.js';
import {
  ACCOUNT_OPTIONS,
  COMMON_OPTIONS,
  type Command,
  type Context,
  type Options,
  type Values,
} from './command.js';
import { driftCommand } from './drift.js';
import { CliError, EXIT } from './errors.js';
import { EXTRA_REGIONS_VARIABLE, nearest, parseFlags, profileFlag, regionFlag } from './flags.js';
import { type Io, processIo } from './io.js';
import { refsCommand } from './refs.js';
import { simulateCommand } from './simulate.js';
import { stackTable } from './stack.js';
import { statusCommand } from './status.js';
import { waitCommand } from './wait.js';
import { haltCommand, resumeCommand } from './waves.js';
import { whoUsesCommand } from './who-uses.js';

const COMMANDS: Command[] = [
  refsCommand,
  whoUsesCommand,
  driftCommand,
  simulateCommand,
  statusCommand,
  waitCommand,
  haltCommand,
  resumeCommand,
];

const PROGRAM_HELP = `rotation-watcher: find the ECS services, tasks and Batch jobs still running on an old
Parameter Store parameter or Secrets Manager secret.

Usage: rotation-watcher <command> [options]

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(10)} ${command.summary}`).join('\n')}

Common options:
  --json          machine-readable output
  --region R      the region to work in (AWS credentials and endpoint come from the SDK's standard
                  chain, so AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply); a region must be
                  one this version of the AWS SDK knows; for a newer one, list it in
                  ${EXTRA_REGIONS_VARIABLE}
  --profile NAME  a profile of ~/.aws/config and ~/.aws/credentials: its credentials, and its
                  region when --region is not given (as the AWS CLI's --profile)
  --stack NAME    the watcher's CloudFormation stack: its state table is read from the stack's
                  outputs, instead of WATCHER_STATE_TABLE (every command but refs)
  -h, --help      help for the program or a command

Run \`rotation-watcher <command> --help\` for a command's options.
`;

/** Runs the CLI and returns its exit code; everything it prints goes through `io`. */
export async function run(
  argv: string[],
  io: Io = processIo,
  context: Context = {},
): Promise<number> {
  try {
    return await dispatch(argv, io, context);
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`rotation-watcher: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err(
      `rotation-watcher: internal error: ${message.split('\n')[0]} (set ROTATION_WATCHER_DEBUG=1 for details)\n`,
    );
    if (process.env.ROTATION_WATCHER_DEBUG && error instanceof Error) io.err(`${error.stack}\n`);
    return EXIT.internal;
  }
}

async function dispatch(argv: string[], io: Io, context: Context): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    io.out(PROGRAM_HELP);
    return first === undefined ? EXIT.badInput : EXIT.ok;
  }
  if (first === 'help') return help(rest[0], io);
  if (first === '--version') {
    io.out('rotation-watcher 0.1.0\n');
    return EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === first);
  if (!command) {
    const near = nearest(
      first,
      COMMANDS.map((c) => c.name),
    );
    throw new CliError(
      `unknown command ${JSON.stringify(first)}; ${near ? `did you mean ${near}? ` : ''}the commands are ${COMMANDS.map((c) => c.name).join(', ')}`,
    );
  }
  const { values, positionals } = parseFlags(command.name, optionsOf(command), rest, ALL_OPTIONS);
  if (values.help) {
    io.out(commandHelp(command));
    return EXIT.ok;
  }
  const env = context.env ?? process.env;
  if (typeof values.region === 'string') values.region = regionFlag(values.region, env).join(',');
  return command.run(positionals, values, io, await prepare(command, values, context));
}

function optionsOf(command: Command): Options {
  return { ...COMMON_OPTIONS, ...(command.local ? {} : ACCOUNT_OPTIONS), ...command.options };
}

/** Every option some command takes: one another command does not take is named as such. */
const ALL_OPTIONS: Options = Object.assign(
  {},
  ACCOUNT_OPTIONS,
  ...COMMANDS.map((command) => command.options),
);

/**
 * The context a command runs in after the flags every command shares: --profile for every
 * client it builds, --stack's table as WATCHER_STATE_TABLE (the flag wins over the variable).
 */
async function prepare(command: Command, values: Values, context: Context): Promise<Context> {
  let prepared = context;
  if (typeof values.profile === 'string') {
    await profileFlag(values.profile);
    prepared = {
      ...prepared,
      clientOptions: { ...prepared.clientOptions, profile: values.profile },
    };
  }
  if (typeof values.stack === 'string' && !command.local) {
    if (values.stack.trim() === '')
      throw new CliError(`--stack needs a stack name (rotation-watcher ${command.name} --help)`);
    const [region] = await regionsFor(values, settingsOrFail(prepared));
    const table = await stackTable(values.stack, region as string, prepared.clientOptions ?? {});
    prepared = {
      ...prepared,
      env: { ...(prepared.env ?? process.env), WATCHER_STATE_TABLE: table },
    };
  }
  return prepared;
}

function help(name: string | undefined, io: Io): number {
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (name !== undefined && !command)
    throw new CliError(`no help for unknown command ${JSON.stringify(name)}`);
  io.out(command ? commandHelp(command) : PROGRAM_HELP);
  return EXIT.ok;
}

/** A command's help, with the options every command shares told once, before its exit codes. */
function commandHelp(command: Command): string {
  const shared = command.local ? LOCAL_HELP : ACCOUNT_HELP;
  const at = command.help.lastIndexOf('\nExit codes:');
  const help =
    at < 0
      ? `${command.help}\n\n${shared}`
      : `${command.help.slice(0, at)}\n${shared}\n${command.help.slice(at)}`;
  return `Usage: ${command.usage}\n\n${help}\n`;
}

const PROFILE_HELP = `  --profile NAME  a profile of ~/.aws/config and ~/.aws/credentials (AWS_CONFIG_FILE,
                  AWS_SHARED_CREDENTIALS_FILE): its credentials, and its region when --region is
                  not given, as the AWS CLI's --profile`;

const REGION_CHECK = `A --region must be one this version of the AWS SDK knows; for a region newer than it, list
it in ${EXTRA_REGIONS_VARIABLE} (such as us-east-9,eu-west-9).`;

const ACCOUNT_HELP = `Options of every command that reads the account:
${PROFILE_HELP}
  --stack NAME    the watcher's CloudFormation stack, in --region's first region (else
                  WATCHER_REGIONS' first, else the profile's or current region): the state
                  table is read from its StateTableArn output instead of WATCHER_STATE_TABLE
${REGION_CHECK} --region may be repeated.`;

const LOCAL_HELP = `Also:
  --profile NAME  a profile of ~/.aws/config: bare names resolve in its region when --region is
                  not given (refs reads no AWS account, so its credentials are not used)
${REGION_CHECK}`;
