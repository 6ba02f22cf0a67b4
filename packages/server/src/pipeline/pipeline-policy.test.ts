import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { hasChrt, schedPolicyOf } from '../test/sched.js';
import { idleGuard, type PipelinePolicy, setPolicy } from './pipeline-policy.js';

const logger = createLogger('silent');

/** One check of the guard: the time (ms), the thread's run and wait seconds so far, whether work waits. */
type Check = { at: number; run?: number; wait?: number; pending: boolean };

/** Runs `checks` through a guard started at t = 0; the policy after each check, and the policies it set. */
async function guardOver(checks: Check[]): Promise<{ after: PipelinePolicy[]; set: PipelinePolicy[] }> {
  let now = 0;
  let i = -1;
  const set: PipelinePolicy[] = [];
  const guard = idleGuard({
    tid: 1,
    logger,
    clock: () => now,
    pending: () => checks[i].pending,
    read: () => {
      const c = checks[i];
      return c.run === undefined || c.wait === undefined ? undefined : { run: c.run, wait: c.wait };
    },
    set: async (_tid, policy) => void set.push(policy),
  });
  await guard.start();
  const after: PipelinePolicy[] = [];
  for (i = 0; i < checks.length; i++) {
    now = checks[i].at;
    guard.check();
    await guard.settled();
    after.push(guard.policy());
  }
  return { after, set };
}

describe('idleGuard', () => {
  it.each<[string, Check[], PipelinePolicy[], PipelinePolicy[]]>([
    [
      'starved (ready to run, hardly ran, work waiting): normal for 10 s, then idle again',
      [
        { at: 0, run: 1, wait: 1, pending: true },
        { at: 1000, run: 1.01, wait: 1.95, pending: true },
        { at: 6000, run: 3, wait: 2, pending: true },
        { at: 11_000, run: 5, wait: 2, pending: false },
      ],
      ['idle', 'normal', 'normal', 'idle'],
      ['idle', 'normal', 'idle'],
    ],
    [
      'a long job (running, not waiting) is not starving',
      [
        { at: 0, run: 1, wait: 1, pending: true },
        { at: 1000, run: 1.9, wait: 1.05, pending: true },
      ],
      ['idle', 'idle'],
      ['idle'],
    ],
    [
      'running in the gaps of a saturating load (a tenth of the time) is not starving',
      [
        { at: 0, run: 1, wait: 1, pending: true },
        { at: 1000, run: 1.1, wait: 1.85, pending: true },
      ],
      ['idle', 'idle'],
      ['idle'],
    ],
    [
      'nothing waits for it: nothing to starve',
      [
        { at: 0, run: 1, wait: 1, pending: false },
        { at: 1000, run: 1, wait: 1.99, pending: false },
      ],
      ['idle', 'idle'],
      ['idle'],
    ],
    [
      'no statistics (another system, no schedstats): it cannot tell, and stays',
      [
        { at: 0, pending: true },
        { at: 1000, pending: true },
        { at: 2000, pending: true },
      ],
      ['idle', 'idle', 'idle'],
      ['idle'],
    ],
    ['the first reading only sets the baseline', [{ at: 1000, run: 0, wait: 5, pending: true }], ['idle'], ['idle']],
  ])('%s', async (_name, checks, after, set) => {
    expect(await guardOver(checks)).toEqual({ after, set });
  });

  it('logs a policy it could not set, and goes on', async () => {
    const lines: string[] = [];
    const guard = idleGuard({
      tid: 1,
      logger: createLogger('info', { write: (l: string) => void lines.push(l) }),
      pending: () => true,
      set: async () => {
        throw new Error('no chrt here');
      },
    });
    await guard.start();
    expect(guard.policy()).toBe('idle');
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([{ msg: 'pipeline thread policy not set', policy: 'idle' }]);
  });
});

/** A thread that reports its Linux thread id and lives until terminated. */
const IDLE_THREAD = `
const { parentPort } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
parentPort.postMessage(Number(readlinkSync('/proc/thread-self').split('/').pop()));
parentPort.on('message', () => {});
`;

if (process.platform === 'linux' && !hasChrt) {
  if (process.env.CI === 'true') throw new Error('chrt (util-linux) is missing: the pipeline policy tests need it');
  console.log('pipeline-policy.test: skipping the thread policy test (no chrt: install util-linux)');
}

describe.runIf(process.platform === 'linux' && hasChrt)('setPolicy (chrt on a thread of this process)', () => {
  it("moves one thread to SCHED_IDLE and back, and leaves the process's other threads alone", async () => {
    const policyOf = (tid: number) => schedPolicyOf('self', tid);
    const worker = new Worker(IDLE_THREAD, { eval: true });
    try {
      const tid = await new Promise<number>((resolve) => worker.once('message', resolve));
      expect(policyOf(tid)).toBe(0); // SCHED_OTHER
      await setPolicy(tid, 'idle');
      expect(policyOf(tid)).toBe(5); // SCHED_IDLE
      expect(policyOf(process.pid)).toBe(0);
      await setPolicy(tid, 'normal');
      expect(policyOf(tid)).toBe(0);
    } finally {
      await worker.terminate();
    }
    await expect(setPolicy(2 ** 30, 'idle')).rejects.toThrow();
  });
});
