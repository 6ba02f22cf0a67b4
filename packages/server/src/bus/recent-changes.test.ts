import { describe, expect, it } from 'vitest';
import type { Change } from './ports.js';
import { recentChanges } from './recent-changes.js';

const changes = (from: number, to: number): Change[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    seq: from + i,
    id: `c${from + i}`,
    kind: 'event.stored',
    profileId: 'p',
    payload: {},
    createdAt: 0,
  }));
const seqs = (c: Change[] | undefined) => c?.map((x) => x.seq);

describe('recentChanges', () => {
  it('answers what follows a position it holds, up to the limit', () => {
    const r = recentChanges();
    r.add(changes(11, 20));
    r.add(changes(21, 25));
    expect(seqs(r.after(10, 100))).toEqual([...Array(15)].map((_, i) => 11 + i));
    expect(seqs(r.after(18, 3))).toEqual([19, 20, 21]);
    expect(seqs(r.after(24, 10))).toEqual([25]);
  });

  it('does not vouch for a position before what it holds, nor for what came after the last it holds', () => {
    const r = recentChanges();
    expect(r.after(0, 10)).toBeUndefined();
    r.add(changes(11, 20));
    expect(r.after(9, 10)).toBeUndefined(); // seq 10 is not held
    expect(r.after(20, 10)).toBeUndefined(); // the table may hold newer rows
    expect(r.after(30, 10)).toBeUndefined();
  });

  it('forgets everything before a gap: the missing changes were published elsewhere', () => {
    const r = recentChanges();
    r.add(changes(11, 20));
    r.add(changes(23, 25));
    expect(r.after(15, 10)).toBeUndefined();
    expect(r.after(20, 10)).toBeUndefined(); // 21 and 22 are not held
    expect(seqs(r.after(22, 10))).toEqual([23, 24, 25]);
  });

  it('keeps the newest changes up to its capacity', () => {
    const r = recentChanges(10);
    r.add(changes(1, 8));
    r.add(changes(9, 16));
    expect(r.after(5, 10)).toBeUndefined();
    expect(seqs(r.after(6, 3))).toEqual([7, 8, 9]);
  });
});
