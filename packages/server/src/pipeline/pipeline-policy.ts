import { execFile } from 'node:child_process';
import type { Logger } from '../logger.js';
import { schedstatOf } from '../ops/thread-cpu.js';

/**
 * The embedded pipeline thread's Linux scheduling policy (`TESSERA_PIPELINE_POLICY`). `normal`: `SCHED_OTHER`, as
 * every thread. `idle`: `SCHED_IDLE`, so the thread runs on cores nothing else wants and a thread that wakes (the main
 * thread with a look-up or an acknowledgement, the log thread with an append) takes its core at once instead of
 * waiting for the end of its time slice; the pipeline catches up when the cores are free. A guard gives it back
 * `normal` for a while whenever it is starved ({@link idleGuard}).
 */
export type PipelinePolicy = 'normal' | 'idle';

export const PIPELINE_POLICIES: readonly PipelinePolicy[] = ['normal', 'idle'];

/** Sets thread `tid`'s policy (`chrt` from util-linux, on Linux only; elsewhere it rejects). */
export type SetPolicy = (tid: number, policy: PipelinePolicy) => Promise<void>;

/**
 * `chrt --idle` / `chrt --other` on thread `tid` of this process. Node has no binding for `sched_setscheduler`, and a
 * thread of this process needs no privilege to change its own policy between these two.
 */
export const setPolicy: SetPolicy = (tid, policy) =>
  new Promise((resolve, reject) => {
    if (process.platform !== 'linux') return reject(new Error('thread policies need Linux'));
    execFile('chrt', [policy === 'idle' ? '--idle' : '--other', '--pid', '0', String(tid)], (err) =>
      err ? reject(err) : resolve(),
    );
  });

/**
 * Keeps the pipeline thread at `SCHED_IDLE` without letting it starve. Every `checkMs` (the caller's timer calls
 * `check`) it reads the thread's scheduler statistics: if work waits for the thread (`pending()`) and over the interval
 * the thread was ready to run for at least half of it but ran for less than a twentieth, other work has taken every
 * core (another process, or more load than the cores carry): the thread goes back to `normal` for `normalMs`, then to
 * `idle` again. A thread busy with a long job is running, not starved, and stays `idle`; under the server's own
 * saturation it still runs in the gaps (ingest-first), and the backlog cap (503 and `Retry-After`) bounds what waits.
 */
export function idleGuard(opts: {
  tid: number;
  logger: Logger;
  /** Whether events or calls wait for the thread. */
  pending: () => boolean;
  set?: SetPolicy;
  /** The thread's `run` and `wait` seconds so far (`schedstatOf`); `undefined`: the guard cannot see, and stays. */
  read?: () => { run: number; wait: number } | undefined;
  normalMs?: number;
  clock?: () => number;
}) {
  const set = opts.set ?? setPolicy;
  const read = opts.read ?? (() => schedstatOf(opts.tid));
  const clock = opts.clock ?? Date.now;
  const normalMs = opts.normalMs ?? 10_000;
  let policy: PipelinePolicy = 'normal';
  let last: { at: number; run: number; wait: number } | undefined;
  let normalSince: number | undefined;
  let starved = 0;
  let changing: Promise<void> = Promise.resolve();
  const to = (next: PipelinePolicy) => {
    policy = next;
    changing = changing
      .then(() => set(opts.tid, next))
      .catch((e: Error) => opts.logger.warn({ err: e.message, policy: next }, 'pipeline thread policy not set'));
    return changing;
  };
  return {
    /** Moves the thread to `idle` (resolves once set, or once the failure is logged). */
    start: () => to('idle'),
    /** One check (the caller's timer, every second or so). */
    check(): void {
      const now = clock();
      const stat = read();
      const prev = last;
      last = stat && { at: now, ...stat };
      if (policy === 'normal') {
        if (normalSince !== undefined && now - normalSince >= normalMs) {
          normalSince = undefined;
          void to('idle');
        }
        return;
      }
      if (!stat || !prev || now <= prev.at || !opts.pending()) return;
      const seconds = (now - prev.at) / 1000;
      if (stat.wait - prev.wait >= seconds / 2 && stat.run - prev.run < seconds / 20) {
        starved++;
        normalSince = now;
        opts.logger.info({ starved, normalMs }, 'pipeline thread starved at SCHED_IDLE: normal policy for a while');
        void to('normal');
      }
    },
    policy: () => policy,
    /** How many times the thread was found starved. */
    starved: () => starved,
    /** The last policy change has been made (or its failure logged). */
    settled: () => changing,
  };
}
