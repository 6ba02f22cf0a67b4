import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { embeddedEnv } from '../../../test/processes.js';

/** The built CLI (`npm run build`) and the bin that loads it, as an operator runs it. */
export const CLI_MAIN = fileURLToPath(new URL('../../../../dist/cli/main.js', import.meta.url));
export const CLI_BIN = fileURLToPath(new URL('../../../../bin/tessera.js', import.meta.url));

export const isBuilt = () => existsSync(CLI_MAIN);

/** `tessera init --data DIR --json`: the default source's write key and an admin token. */
export function initDataDir(dataDir: string): { writeKey: string; adminToken: string } {
  const r = spawnSync(process.execPath, [CLI_BIN, 'init', '--data', dataDir, '--json'], {
    encoding: 'utf8',
    env: embeddedEnv({ TESSERA_LOG_LEVEL: 'warn', TESSERA_MIN_FREE_DISK: '0' }),
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`tessera init failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as { writeKey: string; adminToken: string };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One `tessera serve` process. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<Exit>;
  /** The last lines it wrote (stdout and stderr), for diagnostics. */
  tail(): string;
}

const children = new Set<ChildProcess>();

/** Every child this module started that has not exited yet. */
export function liveChildren(): ChildProcess[] {
  return [...children];
}

/** Starts `tessera serve` and resolves once `/healthz` answers 200 (rejects if it exits or takes over `readyMs`). */
export async function startServer(dataDir: string, port: number, readyMs = 30_000): Promise<ServerProcess> {
  return startServeProcess(['--data', dataDir], port, {}, readyMs);
}

/**
 * Starts `tessera serve ARGS --port PORT` with `env` over a clean environment (cluster nodes: a database and NATS
 * URL, roles) and resolves once `/healthz` answers 200.
 */
export async function startServeProcess(
  args: string[],
  port: number,
  env: Record<string, string>,
  readyMs = 30_000,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI_BIN, 'serve', ...args, '--port', String(port), '--host', '127.0.0.1'], {
    env: embeddedEnv({ TESSERA_LOG_LEVEL: 'warn', TESSERA_MIN_FREE_DISK: '0', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  let exit: Exit | undefined;
  void exited.then((e) => {
    exit = e;
  });
  const url = `http://127.0.0.1:${port}`;
  const server: ServerProcess = { child, url, exited, tail: () => lines.join('\n') };
  const deadline = Date.now() + readyMs;
  while (Date.now() < deadline) {
    if (exit) throw new Error(`tessera serve exited during start-up (${exit.code ?? exit.signal}):\n${server.tail()}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return server;
    } catch {
      // not listening yet
    }
    await sleep(25);
  }
  child.kill('SIGKILL');
  throw new Error(`tessera serve not ready within ${readyMs} ms:\n${server.tail()}`);
}

/** `kill -9`, then waits until the process is gone. */
export async function killHard(server: ServerProcess): Promise<Exit> {
  server.child.kill('SIGKILL');
  return server.exited;
}

/** SIGTERM (graceful stop); SIGKILL after `graceMs`. Resolves to the exit and whether the grace period sufficed. */
export async function stopGracefully(server: ServerProcess, graceMs = 20_000): Promise<Exit & { graceful: boolean }> {
  server.child.kill('SIGTERM');
  const timedOut = Symbol('timeout');
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    server.exited,
    new Promise<typeof timedOut>((resolve) => {
      timer = setTimeout(() => resolve(timedOut), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (r !== timedOut) return { ...r, graceful: true };
  server.child.kill('SIGKILL');
  return { ...(await server.exited), graceful: false };
}

/** `tessera_pipeline_backlog_events` from `/metrics`, or `undefined` when the server does not answer. */
export async function backlogEvents(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    const m = /^tessera_pipeline_backlog_events (\S+)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
