import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { embeddedEnv } from './processes.js';

/** Running the BUILT `tessera` command in tests (`npm run build` first; the suites skip without it). */

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const BIN = path.join(REPO_ROOT, 'packages', 'server', 'bin', 'tessera.js');
export const MAIN = path.join(REPO_ROOT, 'packages', 'server', 'dist', 'cli', 'main.js');
export const BUILT = existsSync(MAIN);

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes, checked by the assertions
export type Json = any;

/** Runs `tessera ARGS` from the repository root and answers its exit code and output, whatever the code. */
export function tessera(args: string[], timeout = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: REPO_ROOT, env: embeddedEnv(), timeout },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The output of a command that must succeed. */
export function ok(run: Run): string {
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

/** The single JSON line a `--json` command prints. */
export function jsonLine(run: Run): Json {
  const lines = ok(run).split('\n').slice(0, -1);
  expect(lines, `exactly one line on stdout: ${run.stdout}`).toHaveLength(1);
  return JSON.parse(lines[0] as string);
}

/** A command that must fail: exit 1, nothing on stdout, and the answer's message on stderr. */
export function failure(run: Run): string {
  expect(run.code, run.stdout).toBe(1);
  expect(run.stdout).toBe('');
  return run.stderr;
}
