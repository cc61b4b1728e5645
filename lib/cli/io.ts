import { readFile, stat } from 'node:fs/promises';
import { clip } from '../refs/errors.js';
import { CliError } from './errors.js';

/** Where a command writes: the process streams in the CLI, buffers in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal a person watches (progress goes there only then). */
  interactive: boolean;
  stdin?: () => Promise<string>;
  /** stdout's width when it is a terminal; absent when it is piped (tables then fit 100 columns). */
  columns?: number;
  /** Whether stdout takes colour: a terminal, unless NO_COLOR says no; FORCE_COLOR forces it. */
  colour?: boolean;
  /**
   * Asks a person a yes/no question (on stderr, the answer from stdin); absent when stdin or
   * stderr is not a terminal, where nobody can answer.
   */
  confirm?: (question: string) => Promise<boolean>;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  interactive: Boolean(process.stderr.isTTY),
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  // Read when a table is printed: a terminal may have been resized since the start.
  get columns() {
    return process.stdout.isTTY ? process.stdout.columns : undefined;
  },
  colour: wantsColour(process.env, Boolean(process.stdout.isTTY)),
  ...(process.stdin.isTTY && process.stderr.isTTY ? { confirm: askTerminal } : {}),
};

/**
 * The conventions of no-color.org and FORCE_COLOR: NO_COLOR (any value but empty) turns colour
 * off, FORCE_COLOR (any value but 0 or false) turns it on even when piped; else a terminal that
 * is not `dumb` gets colour.
 */
export function wantsColour(env: NodeJS.ProcessEnv, terminal: boolean): boolean {
  if (env.NO_COLOR) return false;
  const forced = env.FORCE_COLOR;
  if (forced !== undefined) return forced !== '0' && forced !== 'false';
  return terminal && env.TERM !== 'dumb';
}

/** Whether an answer is yes: `y` or `yes`, in any case; anything else (an empty line too) is no. */
export function isYes(answer: string): boolean {
  return /^\s*y(es)?\s*$/i.test(answer);
}

async function askTerminal(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return isYes(await prompt.question(question));
  } finally {
    prompt.close();
  }
}

const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** Reads and parses a JSON file (`-` is standard input), or fails with one line naming the file. */
export async function readJson(file: string, io: Io): Promise<unknown> {
  const text = file === '-' ? await readStdin(io) : await readText(file);
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : 'unreadable';
    throw new CliError(`${file}: not valid JSON (${clip(reason ?? '', 100)})`);
  }
}

async function readStdin(io: Io): Promise<string> {
  if (!io.stdin) throw new CliError('-: standard input is not available here');
  return io.stdin();
}

async function readText(file: string): Promise<string> {
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new CliError(`${file}: is a directory, not a JSON file`);
    if (info.size > MAX_INPUT_BYTES)
      throw new CliError(`${file}: ${info.size} bytes is more than the 64 MiB this command reads`);
    return await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`${file}: no such file`);
    if (code === 'EACCES') throw new CliError(`${file}: permission denied`);
    throw new CliError(`${file}: cannot be read (${code ?? 'unknown error'})`);
  }
}
