import { describe, expect, it } from 'vitest';
import { type DerivedInterval, deriveIntervals, type MemberObservation } from './rederive-traits.js';

/** `deriveIntervals`: the value history of one trait from its observations, as the pipeline builds it. */

const NEVER = Number.NEGATIVE_INFINITY;
/** An observation of `value` at event time `at`, counting from `joined` (the member's join time) or its own time. */
const obs = (
  value: unknown,
  at: number,
  joined = NEVER,
  eventId = `e${String(at).padStart(4, '0')}`,
): MemberObservation => ({
  value,
  at,
  effectiveAt: Math.max(at, joined),
  sourceId: 's',
  eventId,
});
const intervals = (list: DerivedInterval[]) => list.map((i) => [i.validFrom, i.value]);

describe('deriveIntervals', () => {
  it.each([
    { name: 'nothing observed', observations: [], expected: [] },
    {
      name: 'values in order, a repeated value making no new interval',
      observations: [obs('a', 10), obs('a', 15), obs('b', 20)],
      expected: [
        [10, 'a'],
        [20, 'b'],
      ],
    },
    {
      name: 'a late value lasts until the next observation',
      observations: [obs('a', 10), obs('b', 30), obs('late', 20)],
      expected: [
        [10, 'a'],
        [20, 'late'],
        [30, 'b'],
      ],
    },
    {
      name: 'a merged member counts from the merge: its newer value wins from then',
      observations: [obs('own', 10), obs('merged', 20, 50)],
      expected: [
        [10, 'own'],
        [50, 'merged'],
      ],
    },
    {
      name: 'a merged value older than the profile’s own is not taken',
      observations: [obs('own', 30), obs('merged', 20, 50)],
      expected: [[30, 'own']],
    },
    {
      name: 'only the latest of a merged member’s values enters at the merge',
      observations: [obs('own', 5), obs('m1', 10, 50), obs('m2', 20, 50), obs('own2', 60)],
      expected: [
        [5, 'own'],
        [50, 'm2'],
        [60, 'own2'],
      ],
    },
    {
      name: 'a profile with no own value gets the merged one from the merge',
      observations: [obs('merged', 20, 50)],
      expected: [[50, 'merged']],
    },
    {
      name: 'same event time: the later made event wins',
      observations: [obs('first', 10, NEVER, 'e1'), obs('second', 10, NEVER, 'e2')],
      expected: [[10, 'second']],
    },
    {
      name: 'values compared deeply',
      observations: [obs({ a: [1] }, 10), obs({ a: [1] }, 20), obs(null, 30)],
      expected: [
        [10, { a: [1] }],
        [30, null],
      ],
    },
  ])('$name', ({ observations, expected }) => {
    expect(intervals(deriveIntervals(observations))).toEqual(expected);
  });

  it('keeps the source and event of the observation each interval comes from', () => {
    expect(deriveIntervals([obs('a', 10, NEVER, 'x'), obs('b', 5, 20, 'y')])).toEqual([
      { validFrom: 10, value: 'a', sourceId: 's', eventId: 'x' },
    ]);
  });
});
