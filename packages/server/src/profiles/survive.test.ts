import type { TraitRule } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { canonicalJson, lengthOf, survive, type TraitObservation } from './survive.js';

/**
 * The survivorship rules as tables (DESIGN §5): observations in → the observation chosen. Event ids are compared as
 * strings (UUIDv7: later made, greater), so `e1` < `e2` < … stands for the processing order.
 */

const obs = (eventId: string, at: number, value: unknown, sourceId = 'web'): TraitObservation => ({
  value,
  sourceId,
  eventId,
  at,
});
const RANKS: Record<string, number> = { crm: 0, pos: 1 };
/** `crm` first, then `pos`; every other source after them (2 = the length of the list). */
const rankOf = (sourceId: string) => RANKS[sourceId] ?? 2;

type Case = [name: string, observations: TraitObservation[], chosen: string | undefined];

function table(rule: TraitRule, cases: Case[]) {
  it.each(cases)('%s', (_, observations, chosen) => {
    expect(survive(rule, observations, rankOf)?.eventId).toBe(chosen);
    // The order observations arrive in never matters (a late event counts as of its event time).
    expect(survive(rule, [...observations].reverse(), rankOf)?.eventId).toBe(chosen);
  });
}

describe('most_recent', () => {
  table({ rule: 'most_recent' }, [
    ['no observation: nothing', [], undefined],
    ['the latest event time wins', [obs('e1', 10, 'a'), obs('e2', 30, 'c'), obs('e3', 20, 'b')], 'e2'],
    ['a late event (processed last, earlier event time) does not win', [obs('e1', 30, 'a'), obs('e2', 10, 'b')], 'e1'],
    ['equal event times: the later processed wins', [obs('e1', 10, 'a'), obs('e2', 10, 'b')], 'e2'],
    ['null is a value like any other', [obs('e1', 10, 'a'), obs('e2', 20, null)], 'e2'],
  ]);
});

describe('source_priority (crm, then pos)', () => {
  table({ rule: 'source_priority', sources: ['crm', 'pos'] }, [
    ['no observation: nothing', [], undefined],
    [
      'the most trusted source wins over more recent ones',
      [obs('e1', 10, 'crm@x', 'crm'), obs('e2', 20, 'pos@x', 'pos'), obs('e3', 30, 'web@x', 'web')],
      'e1',
    ],
    [
      'a lower-ranked listed source beats an unlisted one',
      [obs('e1', 10, 'p', 'pos'), obs('e2', 30, 'w', 'web')],
      'e1',
    ],
    [
      'several values of the best source: its latest',
      [obs('e1', 10, 'a', 'crm'), obs('e2', 30, 'b', 'crm'), obs('e3', 20, 'c', 'crm')],
      'e2',
    ],
    [
      'ties inside the best source (equal event time): the later processed',
      [obs('e1', 10, 'a', 'crm'), obs('e2', 10, 'b', 'crm')],
      'e2',
    ],
    [
      'unlisted sources rank after every listed one and tie with each other: the most recent',
      [obs('e1', 10, 'a', 'web'), obs('e2', 20, 'b', 'app'), obs('e3', 15, 'c', 'api')],
      'e2',
    ],
    ['a late event of the best source still wins', [obs('e1', 50, 'new', 'web'), obs('e2', 5, 'old', 'crm')], 'e2'],
    [
      'a null from the best source does not hide another source’s value',
      [obs('e1', 10, 'pos@x', 'pos'), obs('e2', 20, null, 'crm')],
      'e1',
    ],
    ['only nulls: the latest null', [obs('e1', 10, null, 'crm'), obs('e2', 20, null, 'web')], 'e2'],
  ]);

  it('without a rank function every source ties: the latest value', () => {
    const chosen = survive({ rule: 'source_priority', sources: ['gone'] }, [obs('e1', 10, 'a'), obs('e2', 20, 'b')]);
    expect(chosen?.eventId).toBe('e2');
  });
});

describe('most_frequent', () => {
  table({ rule: 'most_frequent' }, [
    ['no observation: nothing', [], undefined],
    [
      'the value seen most often wins over the most recent; its latest observation is given',
      [obs('e1', 10, 'pro'), obs('e2', 20, 'pro'), obs('e3', 30, 'free'), obs('e4', 5, 'pro')],
      'e2',
    ],
    [
      'a tie in counts: the value observed last',
      [obs('e1', 10, 'a'), obs('e2', 20, 'b'), obs('e3', 30, 'a'), obs('e4', 40, 'b')],
      'e4',
    ],
    [
      'late events count like the others: here they make "a" the most frequent',
      [obs('e1', 10, 'a'), obs('e2', 20, 'b'), obs('e3', 30, 'b'), obs('e4', 1, 'a'), obs('e5', 2, 'a')],
      'e1',
    ],
    ['counts across sources', [obs('e1', 10, 'x', 'crm'), obs('e2', 20, 'x', 'web'), obs('e3', 30, 'y', 'crm')], 'e2'],
    [
      'objects are equal whatever their key order',
      [obs('e1', 10, { a: 1, b: 2 }), obs('e2', 20, { b: 2, a: 1 }), obs('e3', 30, { a: 2 })],
      'e2',
    ],
    ['values differ by type: 1 is not "1"', [obs('e1', 10, 1), obs('e2', 20, '1'), obs('e3', 30, 1)], 'e3'],
    ['nulls are not counted', [obs('e1', 10, null), obs('e2', 20, null), obs('e3', 30, 'a')], 'e3'],
    ['only nulls: the latest null', [obs('e1', 10, null), obs('e2', 20, null)], 'e2'],
  ]);
});

describe('longest', () => {
  table({ rule: 'longest' }, [
    ['no observation: nothing', [], undefined],
    ['the longest string wins over the most recent', [obs('e1', 10, 'Johanna'), obs('e2', 20, 'Jo')], 'e1'],
    ['equally long: the most recent', [obs('e1', 10, 'Anna'), obs('e2', 20, 'Jane'), obs('e3', 5, 'Joan')], 'e2'],
    ['surrounding spaces do not count', [obs('e1', 10, 'Joe'), obs('e2', 20, '  Jo   ')], 'e1'],
    [
      'empty values never win: "", blanks, null, [] and {}',
      [obs('e1', 10, 'J'), obs('e2', 20, ''), obs('e3', 30, '   '), obs('e4', 40, null), obs('e5', 50, [])],
      'e1',
    ],
    ['an empty object never wins', [obs('e1', 10, 'J'), obs('e2', 20, {})], 'e1'],
    ['only empty values: the latest', [obs('e1', 10, ''), obs('e2', 20, null), obs('e3', 15, ' ')], 'e2'],
    ['characters, not UTF-16 units: "😀😀" (2) < "abc" (3)', [obs('e1', 10, 'abc'), obs('e2', 20, '😀😀')], 'e1'],
    ['a late, longer value wins', [obs('e1', 50, 'Al'), obs('e2', 1, 'Alfred')], 'e2'],
  ]);

  it.each<[unknown, number]>([
    ['', 0],
    ['  ', 0],
    [' ab ', 2],
    ['é', 1],
    [null, 0],
    [[], 0],
    [{}, 0],
    [[1, 2], 5],
    [{ b: 1, a: 2 }, 13],
    [12345, 5],
    [false, 5],
  ])('lengthOf(%j) = %d', (value, length) => {
    expect(lengthOf(value)).toBe(length);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: 0 }], a: null })).toBe('{"a":null,"b":[2,{"c":0,"d":1}]}');
    expect(canonicalJson('x')).toBe('"x"');
  });
});
