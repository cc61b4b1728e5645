import type { ParseArgsConfig } from 'node:util';
import type { ClientOptions } from '../aws/index.js';
import type { Io } from './io.js';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** One CLI command: its help, its options, and what it does. Returns the exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** The help text after the usage line. */
  help: string;
  options: Options;
  /** True for a command that reads files only, never the account: it takes no --stack. */
  local?: boolean;
  run(positionals: string[], values: Values, io: Io, context: Context): Promise<number>;
}

/** What a caller can hand the commands beyond the arguments: tests pass recorded AWS replies. */
export interface Context {
  clientOptions?: ClientOptions;
  env?: NodeJS.ProcessEnv;
  /** Time for commands that wait (`wait`); tests pass a clock that does not sleep. */
  clock?: { now(): number; sleep(ms: number): Promise<void> };
}

/** The options every command takes. */
export const COMMON_OPTIONS: Options = {
  json: { type: 'boolean', default: false },
  region: { type: 'string' },
  profile: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
};

/** The options every command that reads the account takes (see `Command.local`). */
export const ACCOUNT_OPTIONS: Options = {
  stack: { type: 'string' },
};
