import { describe, expect, it } from 'vitest';
import { createTurns } from './turns.js';

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('turns of the event loop (ingest chunks)', () => {
  it('lets one waiting chunk go per loop iteration', async () => {
    const turns = createTurns();
    const done: number[] = [];
    for (const t of [turns.ticket(), turns.ticket(), turns.ticket()]) void turns.next(t).then(() => done.push(t));
    await immediate(); // queued after the first turn, in the same check phase
    expect(done).toHaveLength(1);
    await immediate();
    expect(done).toHaveLength(2);
    await immediate();
    expect(done).toHaveLength(3);
  });

  it('lets the oldest piece of work go first, whatever the order of the waits', async () => {
    const turns = createTurns();
    const older = turns.ticket();
    const newer = turns.ticket();
    const order: string[] = [];
    const newerWaits = turns.next(newer).then(() => order.push('newer'));
    const olderWaits = turns.next(older).then(() => order.push('older'));
    await Promise.all([newerWaits, olderWaits]);
    expect(order).toEqual(['older', 'newer']);
  });

  it('finishes the work started first before a later one goes on (after the chunks each ran at its start)', async () => {
    const turns = createTurns();
    const log: string[] = [];
    const work = async (name: string) => {
      const ticket = turns.ticket();
      for (let chunk = 0; chunk < 3; chunk++) {
        log.push(name);
        await turns.next(ticket);
      }
    };
    await Promise.all(['a', 'b', 'c', 'd'].map(work));
    expect(log.join(' ')).toBe('a b c d a a b b c c d d');
  });

  it('says whether work waits, so that new work can queue behind it: requests then run strictly in order', async () => {
    const turns = createTurns();
    const log: string[] = [];
    const work = async (name: string) => {
      const ticket = turns.ticket();
      if (turns.waiting()) await turns.next(ticket);
      for (let chunk = 0; chunk < 3; chunk++) {
        log.push(name);
        await turns.next(ticket);
      }
    };
    expect(turns.waiting()).toBe(false);
    const a = work('a');
    expect(turns.waiting()).toBe(true);
    await Promise.all([a, work('b'), work('c')]);
    expect(log.join(' ')).toBe('a a a b b b c c c');
    expect(turns.waiting()).toBe(false);
  });
});
