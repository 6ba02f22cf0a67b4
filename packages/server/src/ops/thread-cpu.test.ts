import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { cpuSecondsOf, currentThreadId, threadCpuSplit, threadWaitSplit, waitSecondsOf } from './thread-cpu.js';

/**
 * A thread that reports its id, then, when told, spins for `ms` of wall-clock time and says when it is done. It lives
 * until terminated (`on`, not `once`: a thread with nothing left to do exits, and its `/proc` entry with it, which
 * raced with the reading after its last message on a loaded machine).
 */
const BUSY = (ms: number) => `
const { parentPort } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
parentPort.postMessage(Number(readlinkSync('/proc/thread-self').split('/').pop()));
parentPort.on('message', () => {
  const until = Date.now() + ${ms};
  let x = 0;
  while (Date.now() < until) x += Math.sqrt(x + 1);
  parentPort.postMessage({ done: true, x });
});
`;

describe.runIf(process.platform === 'linux')('CPU by thread (/proc)', () => {
  it("names the calling thread and reads a busy thread's CPU apart from the others'", async () => {
    const main = currentThreadId();
    expect(main).toBe(process.pid);
    const worker = new Worker(BUSY(300), { eval: true });
    try {
      const tid = await new Promise<number>((resolve) => worker.once('message', resolve));
      expect(tid).not.toBe(main);
      const before = threadCpuSplit(
        new Map([
          ['main', main as number],
          ['busy', tid],
        ]),
      );
      worker.postMessage('go');
      await new Promise((resolve) => worker.once('message', resolve));
      const after = threadCpuSplit(
        new Map([
          ['main', main as number],
          ['busy', tid],
        ]),
      );
      // The busy thread used about 0.3 s (ticks of 10 ms; a loaded machine gives it less); the main thread waited.
      const busy = (after.get('busy') ?? 0) - (before.get('busy') ?? 0);
      const idle = (after.get('main') ?? 0) - (before.get('main') ?? 0);
      expect(busy).toBeGreaterThanOrEqual(0.1);
      expect(idle).toBeLessThan(busy);
      // The rest of the process is the process's total less the named threads.
      expect(after.get('other')).toBeGreaterThanOrEqual(0);
    } finally {
      await worker.terminate();
    }
    expect(cpuSecondsOf(2 ** 30)).toBeUndefined();
  });

  it("reads a thread's run-queue wait: a thread that never sleeps runs or waits for its whole life", async () => {
    // Run time (CPU) plus run-queue wait is the wall-clock time of a thread that is always runnable, however busy the
    // machine is; reading another schedstat field (the run time) would count the CPU twice.
    const worker = new Worker(BUSY(600), { eval: true });
    try {
      const tid = await new Promise<number>((resolve) => worker.once('message', resolve));
      // Let the thread finish starting and fall asleep first: a wait is added to the figure when the thread gets a
      // core, so a start-up still queued at the first reading would count in the window.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const [cpu0, wait0] = [cpuSecondsOf(tid) ?? Number.NaN, waitSecondsOf(tid) ?? Number.NaN];
      const started = performance.now();
      worker.postMessage('go');
      await new Promise((resolve) => worker.once('message', resolve));
      const wall = (performance.now() - started) / 1000;
      const [cpu1, wait1] = [cpuSecondsOf(tid) ?? Number.NaN, waitSecondsOf(tid) ?? Number.NaN];
      expect(wait1).toBeGreaterThanOrEqual(wait0);
      // CPU is counted in ticks of 10 ms; the message round trip adds a little wall-clock time.
      expect(cpu1 - cpu0 + (wait1 - wait0)).toBeGreaterThan(0.6 - 0.05);
      expect(cpu1 - cpu0 + (wait1 - wait0)).toBeLessThan(wall + 0.05);
      expect([...threadWaitSplit(new Map([['busy', tid]])).keys()]).toEqual(['busy']);
    } finally {
      await worker.terminate();
    }
    expect(waitSecondsOf(2 ** 30)).toBeUndefined();
    expect(threadWaitSplit(new Map([['gone', 2 ** 30]])).size).toBe(0);
  });
});
