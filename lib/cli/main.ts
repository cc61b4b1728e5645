import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, type Command, type Context } from './command.js';
import { driftCommand } from './drift.js';
import { CliError, EXIT } from './errors.js';
import { type Io, processIo } from './io.js';
import { refsCommand } from './refs.js';
import { simulateCommand } from './simulate.js';
import { statusCommand } from './status.js';
import { waitCommand } from './wait.js';
import { whoUsesCommand } from './who-uses.js';

const COMMANDS: Command[] = [
  refsCommand,
  whoUsesCommand,
  driftCommand,
  simulateCommand,
  statusCommand,
  waitCommand,
];

const PROGRAM_HELP = `rotation-watcher: find the ECS services, tasks and Batch jobs still running on an old
Parameter Store parameter or Secrets Manager secret.

Usage: rotation-watcher <command> [options]

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(10)} ${command.summary}`).join('\n')}

Common options:
  --json        machine-readable output
  --region R    the region to work in (AWS credentials and endpoint come from the SDK's standard
                chain, so AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply)
  -h, --help    help for the program or a command

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
    throw new CliError(
      `unknown command ${JSON.stringify(first)}; the commands are ${COMMANDS.map((c) => c.name).join(', ')}`,
    );
  }
  const { values, positionals } = parse(command, rest);
  if (values.help) {
    io.out(commandHelp(command));
    return EXIT.ok;
  }
  return command.run(positionals, values, io, context);
}

function parse(command: Command, args: string[]) {
  try {
    return parseArgs({
      args,
      options: { ...COMMON_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : 'bad arguments';
    throw new CliError(
      `${command.name}: ${reason}; see \`rotation-watcher ${command.name} --help\``,
    );
  }
}

function help(name: string | undefined, io: Io): number {
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (name !== undefined && !command)
    throw new CliError(`no help for unknown command ${JSON.stringify(name)}`);
  io.out(command ? commandHelp(command) : PROGRAM_HELP);
  return EXIT.ok;
}

function commandHelp(command: Command): string {
  return `Usage: ${command.usage}\n\n${command.help}\n`;
}
