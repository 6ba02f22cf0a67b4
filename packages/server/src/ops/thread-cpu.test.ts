import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { cpuSecondsOf, currentThreadId, threadCpuSplit } from './thread-cpu.js';

/** A thread that reports its id, then burns about 300 ms of CPU and says when it is done. */
const BUSY = `
const { parentPort } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
parentPort.postMessage(Number(readlinkSync('/proc/thread-self').split('/').pop()));
parentPort.once('message', () => {
  const until = Date.now() + 300;
  let x = 0;
  while (Date.now() < until) x += Math.sqrt(x + 1);
  parentPort.postMessage({ done: true, x });
});
`;

describe.runIf(process.platform === 'linux')('CPU by thread (/proc)', () => {
  it("names the calling thread and reads a busy thread's CPU apart from the others'", async () => {
    const main = currentThreadId();
    expect(main).toBe(process.pid);
    const worker = new Worker(BUSY, { eval: true });
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
});
