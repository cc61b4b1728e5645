import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientOptions } from '../../lib/aws/index.js';
import type { Context } from '../../lib/cli/command.js';
import type { Io } from '../../lib/cli/io.js';
import { run } from '../../lib/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in this process; `settings` adds WATCHER_* variables for this run only, `context`
 * anything else a command takes (a clock for `wait`).
 */
export async function cli(
  args: string[],
  stdin?: string,
  clientOptions?: ClientOptions,
  settings?: Record<string, string>,
  context: Pick<Context, 'clock'> = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    interactive: false,
    stdin: async () => stdin ?? '',
  };
  const code = await run(args, io, {
    ...context,
    ...(clientOptions ? { clientOptions } : {}),
    ...(settings ? { env: { ...process.env, ...settings } } : {}),
  });
  return { code, stdout, stderr };
}

export const BIN = fileURLToPath(new URL('../../bin/rotation-watcher', import.meta.url));

/** Runs the built `bin/rotation-watcher` as a user would (needs `npm run build` first). */
export function binary(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): CliResult {
  const result = spawnSync(BIN, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    input,
    timeout: 60_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export const fixturePath = (relative: string): string =>
  fileURLToPath(new URL(`../fixtures/${relative}`, import.meta.url));
