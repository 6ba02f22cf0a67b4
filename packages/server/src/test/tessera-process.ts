import { type ChildProcess, spawn } from 'node:child_process';
import { chromium } from 'playwright-core';
import { BIN, REPO_ROOT } from './cli-run.js';
import { embeddedEnv, freePort } from './processes.js';

/** A running built `tessera` process (serve or demo) on a free port of 127.0.0.1. */
export interface TesseraProcess {
  proc: ChildProcess;
  url: string;
  /** Its stdout and stderr so far, for failure messages. */
  output: string[];
  exited: boolean;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function launch(args: string[], env: Record<string, string> = {}): Promise<TesseraProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, [BIN, ...args, '--port', String(port)], {
    cwd: REPO_ROOT,
    env: embeddedEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const s: TesseraProcess = {
    proc,
    url: `http://127.0.0.1:${port}`,
    output: [],
    exited: false,
    async stop() {
      if (s.exited) return;
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const stopped = await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)]);
      if (!stopped) proc.kill('SIGKILL');
    },
  };
  const keep = (chunk: Buffer) => s.output.push(chunk.toString('utf8'));
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  proc.once('exit', () => {
    s.exited = true;
  });
  return s;
}

/**
 * `tessera serve --data DIR` (with `env` added to its environment), once `/healthz` answers 200 (throws with its
 * output when it does not in time).
 */
export async function startServe(
  dataDir: string,
  timeoutMs = 30_000,
  env: Record<string, string> = {},
): Promise<TesseraProcess> {
  const s = await launch(['serve', '--data', dataDir], env);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (s.exited) throw new Error(`tessera serve exited:\n${s.output.join('')}`);
    const ok = await fetch(`${s.url}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return s;
    if (Date.now() > deadline) {
      await s.stop();
      throw new Error(`tessera serve not healthy within ${timeoutMs / 1000} s:\n${s.output.join('')}`);
    }
    await sleep(100);
  }
}

/** `tessera demo --json --people N --data DIR`, once it printed its JSON line (url, tokens, users…). */
export async function startDemo(
  dataDir: string,
  people: number,
  timeoutMs = 120_000,
  // biome-ignore lint/suspicious/noExplicitAny: the printed JSON, read by the tests' assertions
): Promise<{ server: TesseraProcess; printed: any }> {
  const server = await launch(['demo', '--json', '--people', String(people), '--data', dataDir]);
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`tessera demo printed nothing in ${timeoutMs / 1000} s:\n${server.output.join('')}`)),
      timeoutMs,
    );
    // Its stdout only (logs go to stderr): the JSON line that names the URL.
    let stdout = '';
    server.proc.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const found = stdout.split('\n').find((l) => l.startsWith('{') && l.includes('"url"'));
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    server.proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tessera demo exited (${code}):\n${server.output.join('')}`));
    });
  });
  return { server, printed: JSON.parse(line) };
}

/** Debian's Chromium (apt), or `TESSERA_CHROMIUM`. */
export const CHROMIUM = process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium';

/** Chromium headless, with nothing reaching out on its own (no background networking, updates or sync). */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
