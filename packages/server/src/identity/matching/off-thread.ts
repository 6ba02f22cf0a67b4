import { Worker } from 'node:worker_threads';
import type { ErrorCode, MatchConfig } from '@tessera/protocol';
import { TesseraError } from '../../errors.js';
import { matchRecords } from './match-records.js';
import type { MatchPhase, MatchRecord, MatchResult } from './types.js';

/** Pairs that must not be merged, as data (a function cannot cross to a worker thread). */
export interface MatchConstraints {
  /** Record pairs a person declared different. */
  rejected: readonly (readonly [number, number])[];
  /** Per type limited to one value: each record's value (or undefined); two different values never merge. */
  exclusive: readonly { type: string; values: readonly (string | undefined)[] }[];
}

/** The `cannotLink` of {@link MatchConstraints}: `rejected_before` or `identity_limit:<type>`. */
export function cannotLinkOf(c: MatchConstraints): (a: number, b: number) => string | undefined {
  const key = (a: number, b: number) => (a < b ? `${a} ${b}` : `${b} ${a}`);
  const rejected = new Set(c.rejected.map(([a, b]) => key(a, b)));
  return (a, b) => {
    if (rejected.has(key(a, b))) return 'rejected_before';
    for (const { type, values } of c.exclusive) {
      const x = values[a];
      const y = values[b];
      if (x !== undefined && y !== undefined && x !== y) return `identity_limit:${type}`;
    }
    return undefined;
  };
}

export interface OffThreadOptions {
  constraints?: MatchConstraints;
  mustLink?: readonly (readonly [number, number])[];
  maxClusterSize?: number;
  onProgress?: (phase: MatchPhase, done: number, total: number) => void;
}

/** What the worker receives. */
export interface MatchJob {
  records: readonly MatchRecord[];
  config: MatchConfig | 'auto';
  constraints?: MatchConstraints;
  mustLink?: readonly (readonly [number, number])[];
  maxClusterSize?: number;
}

/** What the worker posts: progress, then the result or an error. */
export type MatchJobMessage =
  | { kind: 'progress'; phase: MatchPhase; done: number; total: number }
  | { kind: 'result'; result: MatchResult }
  | { kind: 'error'; message: string; code?: ErrorCode };

/** Runs one job where it is (the worker thread's body, and the in-process path). */
export function runMatchJob(job: MatchJob, onProgress?: OffThreadOptions['onProgress']): MatchResult {
  return matchRecords(job.records, job.config, {
    cannotLink: job.constraints ? cannotLinkOf(job.constraints) : undefined,
    mustLink: job.mustLink,
    maxClusterSize: job.maxClusterSize,
    onProgress,
  });
}

/**
 * `matchRecords` on a worker thread, so a server that runs a deduplication keeps answering (matching a million
 * profiles is minutes of CPU). From compiled JavaScript only, like the writer thread: under the test runner (sources
 * in TypeScript) it runs in-process. Errors come back as they were thrown (a `TesseraError`'s code is kept).
 */
export async function matchOffThread(
  records: readonly MatchRecord[],
  config: MatchConfig | 'auto',
  opts: OffThreadOptions = {},
): Promise<MatchResult> {
  const job: MatchJob = {
    records,
    config,
    constraints: opts.constraints,
    mustLink: opts.mustLink,
    maxClusterSize: opts.maxClusterSize,
  };
  if (!import.meta.url.endsWith('.js')) return runMatchJob(job, opts.onProgress);
  const worker = new Worker(new URL('./match-worker.js', import.meta.url), { workerData: job });
  try {
    return await new Promise<MatchResult>((resolve, reject) => {
      worker.on('message', (m: MatchJobMessage) => {
        if (m.kind === 'progress') opts.onProgress?.(m.phase, m.done, m.total);
        else if (m.kind === 'result') resolve(m.result);
        else reject(m.code ? new TesseraError(m.code, m.message) : new Error(m.message));
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the matching thread exited with code ${code}`)));
    });
  } finally {
    await worker.terminate();
  }
}
