// Starts and stops moto_server (the AWS emulator) on a free loopback port, for the integration
// tests, the demo and the benchmark. What moto cannot show is listed in README (Development).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VENV = join(ROOT, '.venv');

export interface Moto {
  endpoint: string;
  port: number;
  /** Empties every service and re-applies the settings the tests rely on. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Finds moto_server on PATH or in .venv, installing it into .venv (and saying so) if neither has it. */
export function findMotoServer(
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): string {
  const onPath = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  const local = join(VENV, 'bin', 'moto_server');
  if (existsSync(local)) return local;
  log(
    'moto_server is not on PATH: installing moto[server] into .venv (python3 -m venv .venv; pip install "moto[server]")',
  );
  const venv = spawnSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  const pip =
    venv.status === 0
      ? spawnSync(join(VENV, 'bin', 'pip'), ['install', '--quiet', 'moto[server]==5.2.1'], {
          stdio: 'inherit',
        })
      : venv;
  if (pip.status !== 0 || !existsSync(local)) {
    throw new Error(
      'moto_server is not installed and could not be installed into .venv; install it with: pip install "moto[server]"',
    );
  }
  return local;
}

/**
 * The Python that runs moto_server: the interpreter its script names (pip and venv installs), or
 * python3 (a pyenv shim), if that one can import moto.
 */
function motoPython(server: string): string {
  const first = readFileSync(server, 'utf8').split('\n', 1)[0] ?? '';
  const named = /^#!\s*(\S*python[\d.]*)\s*$/.exec(first)?.[1];
  const python = named && existsSync(named) ? named : 'python3';
  const check = spawnSync(python, ['-c', 'import moto.server'], { stdio: 'ignore' });
  if (check.status !== 0)
    throw new Error(
      `${python} cannot import moto, which ${server} runs on; install it there with: ${python} -m pip install "moto[server]"`,
    );
  return python;
}

/**
 * Starts a moto server on a free port of 127.0.0.1 and waits until it answers. `ecs`: ECS as AWS
 * shows it where moto 5.2 does not (scripts/moto-ecs.py): tasks get their createdAt and
 * startedAt, StopTask its stopCode and stoppedAt, a forced new deployment is IN_PROGRESS, and a
 * rollout completes or fails on cue (the tag `moto:rollout`); everything else is moto as it is.
 */
export async function startMoto(options: { ecs?: boolean } = {}): Promise<Moto> {
  const binary = findMotoServer();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const address = ['-H', '127.0.0.1', '-p', String(port)];
  const child = options.ecs
    ? spawn(motoPython(binary), [join(ROOT, 'scripts', 'moto-ecs.py'), ...address], {
        stdio: ['ignore', 'ignore', 'pipe'],
      })
    : spawn(binary, address, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  await waitUntilUp(endpoint, child, () => stderr);
  const moto: Moto = {
    endpoint,
    port,
    reset: () => resetMoto(endpoint),
    stop: async () => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, delay(5000).then(() => child.kill('SIGKILL'))]);
    },
  };
  await moto.reset();
  return moto;
}

/** POST /moto-api/reset, then hold ECS tasks RUNNING and let Batch jobs run without Docker. */
export async function resetMoto(endpoint: string): Promise<void> {
  await post(`${endpoint}/moto-api/reset`, {});
  await post(`${endpoint}/moto-api/state-manager/set-transition`, {
    model_name: 'ecs::task',
    transition: { progression: 'manual', times: 1_000_000 },
  });
  await post(`${endpoint}/moto-api/config`, { batch: { use_docker: false } });
}

async function post(url: string, body: unknown): Promise<void> {
  const reply = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  if (!reply.ok) throw new Error(`moto: POST ${url} answered ${reply.status}`);
  await reply.arrayBuffer();
}

async function waitUntilUp(
  endpoint: string,
  child: ChildProcess,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(
        `moto_server exited with code ${child.exitCode}: ${stderr().trim().split('\n').pop() ?? ''}`,
      );
    try {
      const reply = await fetch(`${endpoint}/moto-api/`);
      await reply.arrayBuffer();
      if (reply.ok) return;
    } catch {
      // not up yet
    }
    await delay(100);
  }
  child.kill('SIGKILL');
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
