import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { statCpuSeconds } from '../ops/thread-cpu.js';

/** Starts a child process and resolves once `ready(line)` matches a line of its stdout. */
export function startChild(
  args: string[],
  env: Record<string, string | undefined>,
  ready: (line: string) => boolean,
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) if (ready(line)) return resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
}

/** CPU seconds (user + system) a process used so far, from /proc (NaN where it cannot be read). */
export function cpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`) ?? Number.NaN;
}

/** Peak resident set (VmHWM) of a process in MB. */
export function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Runs `node ARGS` (stderr shown) and answers the first line of its stdout that is a JSON object. */
export function runJsonChild<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code === 0 && line) resolve(JSON.parse(line));
      else reject(new Error(`${path.basename(args.find((a) => a.endsWith('.js')) ?? 'child')} exited with ${code}`));
    });
  });
}

/**
 * The background ingest of the latency benches (`background-child.js`, a process of its own): `rate` events/s of
 * `track` calls on `people` existing people. `stop` ends it and answers what it sent; `kill` only ends it (cleanup).
 */
export function startBackgroundLoad(
  port: number,
  writeKey: string,
  people: number,
  rate: number,
): { stop(): Promise<{ sent: number; seconds: number }>; kill(): void } {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const child = spawn(
    process.execPath,
    [path.join(here, 'background-child.js'), String(port), writeKey, String(people), String(rate)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<{ sent: number; seconds: number }>((resolve) => {
    child.once('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      resolve(line ? JSON.parse(line) : { sent: 0, seconds: 1 });
    });
  });
  return {
    stop() {
      child.kill('SIGTERM');
      return exited;
    },
    kill() {
      child.kill('SIGTERM');
    },
  };
}
