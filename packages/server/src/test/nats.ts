import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './processes.js';

/** NATS (JetStream) URL for tests; under CI=true its absence is an error, not a skip (README, `.ci/run`). */
export function testNatsUrl(env: Record<string, string | undefined> = process.env): string | undefined {
  const url = env.TESSERA_TEST_NATS_URL;
  if (!url && env.CI === 'true')
    throw new Error('CI=true but TESSERA_TEST_NATS_URL is not set: cluster suites cannot be skipped in CI');
  return url || undefined;
}

const NATS_SERVER = '/usr/sbin/nats-server';

/**
 * A NATS server of the test's own (JetStream, a temporary store, a free port on 127.0.0.1), for tests that stop
 * and restart it. Uses the machine's `nats-server` (Debian package).
 */
export interface PrivateNats {
  url: string;
  /** Kills the server (SIGKILL: nothing is flushed that JetStream did not already store). */
  stop(): Promise<void>;
  /** Starts it again on the same port and store. */
  restart(): Promise<void>;
  /** Stops it and removes its store. */
  remove(): Promise<void>;
}

export async function startPrivateNats(): Promise<PrivateNats> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-nats-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
    await untilAnswers(port);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    c.kill('SIGKILL');
    await new Promise((r) => c.once('exit', r));
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    stop,
    async restart() {
      await stop();
      await start();
    },
    async remove() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits up to 10 s for a server to accept connections on `port`. */
async function untilAnswers(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await answers(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`a private nats-server did not start on port ${port}`);
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function natsServerInstalled(): boolean {
  return existsSync(NATS_SERVER);
}

/** A three-server NATS cluster of the test's own (JetStream clustered, R3 streams possible), on 127.0.0.1. */
export interface PrivateNatsCluster {
  /** The client URLs of the three servers, comma-separated (as `TESSERA_NATS_URL` takes them). */
  url: string;
  /** Server names `n1`…`n3`, as JetStream reports a stream's leader. */
  names: string[];
  /** Kills one server with SIGKILL. */
  kill(name: string): Promise<void>;
  /** Starts a killed server again on its port and store. */
  restart(name: string): Promise<void>;
  /** Stops every server and removes their stores. */
  remove(): Promise<void>;
}

export async function startNatsCluster(): Promise<PrivateNatsCluster> {
  const names = ['n1', 'n2', 'n3'];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-nats-cluster-'));
  const ports: number[] = [];
  const routePorts: number[] = [];
  for (const _ of names) {
    ports.push(await freePort());
    routePorts.push(await freePort());
  }
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const children = new Map<string, ChildProcess>();
  const start = (i: number) => {
    const name = names[i];
    const args = ['-a', '127.0.0.1', '-p', String(ports[i]), '-n', name, '-js', '-sd', path.join(dir, name)];
    args.push('--cluster', `nats://127.0.0.1:${routePorts[i]}`, '--cluster_name', 'tessera-test', '--routes', routes);
    children.set(name, spawn(NATS_SERVER, args, { stdio: 'ignore' }));
  };
  const kill = async (name: string) => {
    const c = children.get(name);
    children.delete(name);
    if (!c || c.exitCode !== null) return;
    c.kill('SIGKILL');
    await new Promise((r) => c.once('exit', r));
  };
  names.forEach((_, i) => {
    start(i);
  });
  for (const port of ports) await untilAnswers(port);
  return {
    url: ports.map((p) => `nats://127.0.0.1:${p}`).join(','),
    names,
    kill,
    async restart(name) {
      await kill(name);
      start(names.indexOf(name));
      await untilAnswers(ports[names.indexOf(name)]);
    },
    async remove() {
      for (const name of names) await kill(name);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
