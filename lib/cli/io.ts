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
};

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
