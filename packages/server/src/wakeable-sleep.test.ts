import { describe, expect, it } from 'vitest';
import { wakeableSleep } from './wakeable-sleep.js';

/** Whether `p` settles within `ms`. */
const within = (p: Promise<void>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('wakeableSleep', () => {
  it('ends a sleep at its timeout, or at once when woken', async () => {
    const s = wakeableSleep();
    expect(await within(s.sleep(20), 500)).toBe(true);
    const long = s.sleep(60_000);
    s.wake();
    expect(await within(long, 100)).toBe(true);
  });

  it('keeps a wake that came while nobody slept for the next sleep only (no lost wake-up)', async () => {
    const s = wakeableSleep();
    s.wake();
    s.wake();
    expect(await within(s.sleep(60_000), 100)).toBe(true);
    // Used up: the sleep after it waits again.
    const next = s.sleep(60_000);
    expect(await within(next, 50)).toBe(false);
    s.wake();
    await next;
  });
});
