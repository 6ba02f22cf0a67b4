import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../storage/sqlite/create-sqlite-storage.js';
import type { Storage } from '../storage/storage.js';
import { createScheduler, type Job } from './scheduler.js';

let storage: Storage;
beforeEach(async () => {
  storage = createSqliteStorage({ file: ':memory:' });
  await storage.migrate();
});
afterEach(() => storage.close());

describe('scheduler', () => {
  it('runs a due job once per period, and an idle job (nothing pending) not at all, without claiming it', async () => {
    const runs: string[] = [];
    let work = false;
    const jobs: Job[] = [
      { name: 'every', everyMs: 1_000, run: async () => void runs.push('every') },
      {
        name: 'idle',
        everyMs: 1_000,
        pending: async () => work,
        run: async () => void runs.push('idle'),
      },
    ];
    const s = createScheduler({ storage, logger: pino({ level: 'silent' }), jobs, node: 'n1' });
    expect(await s.tick(10_000)).toEqual(['every']);
    expect(await s.tick(10_500)).toEqual([]);
    // Nothing pending: no run and no claim recorded.
    expect(await storage.jobs.lastRun('idle')).toBeUndefined();
    work = true;
    expect(await s.tick(11_000)).toEqual(['every', 'idle']);
    expect(await storage.jobs.lastRun('idle')).toEqual({ at: 11_000, by: 'n1' });
    expect(runs).toEqual(['every', 'every', 'idle']);
  });

  it('tries a failed run again a minute later, not a whole period later', async () => {
    let fail = true;
    let runs = 0;
    const jobs: Job[] = [
      {
        name: 'six-hourly',
        everyMs: 6 * 3_600_000,
        run: async () => {
          runs++;
          if (fail) throw new Error('connection lost');
        },
      },
    ];
    const s = createScheduler({ storage, logger: pino({ level: 'silent' }), jobs, node: 'n1' });
    expect(await s.tick(10_000_000)).toEqual([]); // ran and failed
    expect(await s.tick(10_059_999)).toEqual([]); // not yet
    fail = false;
    expect(await s.tick(10_060_000)).toEqual(['six-hourly']);
    expect(await s.tick(10_120_000)).toEqual([]); // succeeded: the next run is a period later
    expect(runs).toBe(2);
  });
});
