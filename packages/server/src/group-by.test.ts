import { describe, expect, it } from 'vitest';
import { groupBy } from './group-by.js';

describe('groupBy', () => {
  it('keeps groups and their items in first-seen order', () => {
    const groups = groupBy(['b1', 'a1', 'b2', 'c1', 'a2'], (s) => s[0]);
    expect([...groups]).toEqual([
      ['b', ['b1', 'b2']],
      ['a', ['a1', 'a2']],
      ['c', ['c1']],
    ]);
  });

  it('groups by any key value, an iterable in, nothing for nothing', () => {
    expect([...groupBy(new Set([1, 2, 3, 4]), (n) => n % 2 === 0)]).toEqual([
      [false, [1, 3]],
      [true, [2, 4]],
    ]);
    expect(groupBy([], (x) => x).size).toBe(0);
  });
});
