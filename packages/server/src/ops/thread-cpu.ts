import { readFileSync, readlinkSync } from 'node:fs';

/** Linux reports CPU times in clock ticks (`USER_HZ`): 1/100 s on x86 and Arm. */
const TICKS_PER_SECOND = 100;

/** The calling thread's Linux thread id (`/proc/thread-self`); `undefined` on other systems. */
export function currentThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) used so far by thread `tid` of this process, or by the whole process (`'process'`),
 * from `/proc`; `undefined` when it cannot be read (another system, a thread that has exited).
 */
export function cpuSecondsOf(tid: number | 'process'): number | undefined {
  return statCpuSeconds(tid === 'process' ? '/proc/self/stat' : `/proc/self/task/${tid}/stat`);
}

/** User + system CPU seconds of a `/proc/…/stat` file (a process's or a thread's); `undefined` when unreadable. */
export function statCpuSeconds(file: string): number | undefined {
  try {
    const stat = readFileSync(file, 'utf8');
    // The command name, in parentheses, may hold spaces: the fields are counted after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * The CPU split of the process by thread: each named thread's seconds, and `other` for the rest (V8's garbage
 * collection and compiler threads, libuv's pool, threads that exited). Empty where `/proc` is not available.
 */
export function threadCpuSplit(named: ReadonlyMap<string, number>): Map<string, number> {
  const total = cpuSecondsOf('process');
  if (total === undefined) return new Map();
  const split = readEach(named, cpuSecondsOf);
  let sum = 0;
  for (const s of split.values()) sum += s;
  split.set('other', Math.max(0, total - sum));
  return split;
}

/** `read(tid)` of each named thread, where it can be read. */
function readEach(named: ReadonlyMap<string, number>, read: (tid: number) => number | undefined): Map<string, number> {
  const values = new Map<string, number>();
  for (const [name, tid] of named) {
    const s = read(tid);
    if (s !== undefined) values.set(name, s);
  }
  return values;
}

/**
 * Thread `tid`'s scheduler statistics since it started, in seconds (`/proc/self/task/TID/schedstat`, ns): `run`, time
 * on a CPU, and `wait`, time ready to run but waiting for one (the run-queue delay). `undefined` where they cannot be
 * read (another system, a kernel without schedstats, a thread that has exited).
 */
export function schedstatOf(tid: number): { run: number; wait: number } | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
    return Number.isFinite(run) && Number.isFinite(wait) ? { run: run / 1e9, wait: wait / 1e9 } : undefined;
  } catch {
    return undefined;
  }
}

/** Seconds thread `tid` has spent ready to run but waiting for a CPU (see {@link schedstatOf}). */
export function waitSecondsOf(tid: number): number | undefined {
  return schedstatOf(tid)?.wait;
}

/** The run-queue wait of each named thread that can be read, in seconds (see {@link waitSecondsOf}). */
export function threadWaitSplit(named: ReadonlyMap<string, number>): Map<string, number> {
  return readEach(named, waitSecondsOf);
}
