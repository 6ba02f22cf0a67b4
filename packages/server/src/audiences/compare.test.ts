import type { Comparison, NumericComparison } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { compareNumber, compareValue } from './compare.js';

type Row = [string, Comparison, unknown, boolean];

const table = (name: string, rows: Row[]) =>
  describe(name, () => {
    it.each(rows)('%s', (_, comparison, actual, expected) => {
      expect(compareValue(comparison, actual)).toBe(expected);
    });
  });

table('equals / not_equals / in', [
  ['string equals the same string', { op: 'equals', value: 'gold' }, 'gold', true],
  ['string equality is case-sensitive', { op: 'equals', value: 'gold' }, 'Gold', false],
  ['a string never equals a number', { op: 'equals', value: '42' }, 42, false],
  ['a number equals a number', { op: 'equals', value: 42 }, 42, true],
  ['a number equals a decimal string', { op: 'equals', value: 42 }, '42.0', true],
  ['a number does not equal a non-numeric string', { op: 'equals', value: 42 }, '42 units', false],
  ['a number does not equal a boolean', { op: 'equals', value: 1 }, true, false],
  ['a boolean equals the same boolean', { op: 'equals', value: true }, true, true],
  ['a boolean does not equal its string', { op: 'equals', value: true }, 'true', false],
  ['false equals false', { op: 'equals', value: false }, false, true],
  ['empty string equals empty string', { op: 'equals', value: '' }, '', true],
  ['equals on a missing value', { op: 'equals', value: 'gold' }, undefined, false],
  ['equals on null', { op: 'equals', value: 'gold' }, null, false],
  ['equals on an array', { op: 'equals', value: 'gold' }, ['gold'], false],
  ['not_equals on another value', { op: 'not_equals', value: 'gold' }, 'silver', true],
  ['not_equals on the same value', { op: 'not_equals', value: 'gold' }, 'gold', false],
  ['not_equals on another type', { op: 'not_equals', value: 'gold' }, 5, true],
  ['not_equals numeric on its decimal string', { op: 'not_equals', value: 5 }, '5', false],
  ['not_equals on a missing value', { op: 'not_equals', value: 'gold' }, undefined, false],
  ['not_equals on null', { op: 'not_equals', value: 'gold' }, null, false],
  ['in: one of the values', { op: 'in', values: ['gold', 'silver'] }, 'silver', true],
  ['in: none of the values', { op: 'in', values: ['gold', 'silver'] }, 'bronze', false],
  ['in: mixed types, numeric string', { op: 'in', values: ['a', 7] }, '7', true],
  ['in: missing', { op: 'in', values: ['gold'] }, undefined, false],
]);

table('contains / starts_with', [
  ['substring', { op: 'contains', value: 'acme' }, 'jo@acme.io', true],
  ['substring is case-sensitive', { op: 'contains', value: 'ACME' }, 'jo@acme.io', false],
  ['not a substring', { op: 'contains', value: 'corp' }, 'jo@acme.io', false],
  ['whole string', { op: 'contains', value: 'abc' }, 'abc', true],
  ['array element', { op: 'contains', value: 'vip' }, ['new', 'vip'], true],
  ['array without it', { op: 'contains', value: 'vip' }, ['new', 'vipx'], false],
  ['array element, numeric', { op: 'contains', value: 3 }, [1, '3'], true],
  ['array element, boolean', { op: 'contains', value: true }, [false], false],
  ['a number is not searched', { op: 'contains', value: '2' }, 123, false],
  ['a number value on a string', { op: 'contains', value: 2 }, '123', false],
  ['contains on missing', { op: 'contains', value: 'a' }, undefined, false],
  ['prefix', { op: 'starts_with', value: '+33' }, '+33612345678', true],
  ['not a prefix', { op: 'starts_with', value: '+33' }, '0033612345678', false],
  ['prefix is case-sensitive', { op: 'starts_with', value: 'Dr' }, 'dr. Who', false],
  ['starts_with on an array', { op: 'starts_with', value: 'a' }, ['ab'], false],
  ['starts_with on missing', { op: 'starts_with', value: 'a' }, undefined, false],
]);

table('exists / not_exists', [
  ['exists: a value', { op: 'exists' }, 'x', true],
  ['exists: empty string is present', { op: 'exists' }, '', true],
  ['exists: false is present', { op: 'exists' }, false, true],
  ['exists: 0 is present', { op: 'exists' }, 0, true],
  ['exists: null is missing', { op: 'exists' }, null, false],
  ['exists: absent', { op: 'exists' }, undefined, false],
  ['not_exists: absent', { op: 'not_exists' }, undefined, true],
  ['not_exists: null', { op: 'not_exists' }, null, true],
  ['not_exists: a value', { op: 'not_exists' }, 0, false],
]);

table('numeric gt / gte / lt / lte / between', [
  ['gt above', { op: 'gt', value: 50 }, 50.01, true],
  ['gt at the bound', { op: 'gt', value: 50 }, 50, false],
  ['gte at the bound', { op: 'gte', value: 50 }, 50, true],
  ['gte below', { op: 'gte', value: 50 }, 49.99, false],
  ['lt below', { op: 'lt', value: 50 }, 49, true],
  ['lt at the bound', { op: 'lt', value: 50 }, 50, false],
  ['lte at the bound', { op: 'lte', value: 50 }, 50, true],
  ['lte above', { op: 'lte', value: 50 }, 51, false],
  ['negative numbers', { op: 'lt', value: 0 }, -3, true],
  ['a decimal string is a number', { op: 'gt', value: 9 }, '10', true],
  ['strings are not compared as text', { op: 'gt', value: 9 }, '10 items', false],
  ['a boolean is not a number', { op: 'gte', value: 0 }, true, false],
  ['missing', { op: 'lt', value: 50 }, undefined, false],
  ['an ISO date is not a number', { op: 'gt', value: 0 }, '2024-01-01', false],
  ['between: low bound included', { op: 'between', values: [18, 30] }, 18, true],
  ['between: high bound included', { op: 'between', values: [18, 30] }, 30, true],
  ['between: inside', { op: 'between', values: [18, 30] }, 24.5, true],
  ['between: below', { op: 'between', values: [18, 30] }, 17.999, false],
  ['between: above', { op: 'between', values: [18, 30] }, 30.001, false],
  ['between: one point', { op: 'between', values: [5, 5] }, '5', true],
  ['between: missing', { op: 'between', values: [18, 30] }, null, false],
]);

table('date gt / gte / lt / lte / between', [
  ['gt: a later date', { op: 'gt', value: '2024-01-01' }, '2024-01-02', true],
  ['gt: the same instant', { op: 'gt', value: '2024-01-01' }, '2024-01-01T00:00:00Z', false],
  ['gt: one ms later', { op: 'gt', value: '2024-01-01' }, '2024-01-01T00:00:00.001Z', true],
  ['gte: the same instant', { op: 'gte', value: '2024-01-01' }, '2024-01-01T00:00:00Z', true],
  ['gte: same instant, other offset', { op: 'gte', value: '2024-01-01T10:00:00Z' }, '2024-01-01T12:00:00+02:00', true],
  [
    'lt: one ms earlier, other offset',
    { op: 'lt', value: '2024-01-01T10:00:00Z' },
    '2024-01-01T11:59:59.999+02:00',
    true,
  ],
  ['lt: the same instant', { op: 'lt', value: '2024-01-01' }, '2024-01-01', false],
  ['lte: the same instant', { op: 'lte', value: '2024-01-01' }, '2024-01-01', true],
  ['lte: later', { op: 'lte', value: '2024-01-01' }, '2024-01-01T00:00:01Z', false],
  ['a date-time without offset is not a date', { op: 'lt', value: '2030-01-01' }, '2024-01-01T00:00:00', false],
  ['a number is not a date', { op: 'gt', value: '1970-01-01' }, 1_700_000_000_000, false],
  ['not a date at all', { op: 'gt', value: '1970-01-01' }, 'yesterday', false],
  ['an impossible date', { op: 'gt', value: '1970-01-01' }, '2023-02-29', false],
  ['missing', { op: 'gt', value: '1970-01-01' }, undefined, false],
  ['between: start included', { op: 'between', values: ['2024-01-01', '2024-12-31'] }, '2024-01-01', true],
  ['between: end included', { op: 'between', values: ['2024-01-01', '2024-12-31'] }, '2024-12-31', true],
  [
    'between: after the end date (a date is its midnight)',
    { op: 'between', values: ['2024-01-01', '2024-12-31'] },
    '2024-12-31T00:00:01Z',
    false,
  ],
  ['between: before', { op: 'between', values: ['2024-01-01', '2024-12-31'] }, '2023-12-31T23:59:59Z', false],
]);

describe('compareNumber (aggregates)', () => {
  const rows: [string, NumericComparison, number, boolean][] = [
    ['equals', { op: 'equals', value: 2 }, 2, true],
    ['equals, other', { op: 'equals', value: 2 }, 3, false],
    ['not_equals', { op: 'not_equals', value: 2 }, 3, true],
    ['not_equals, same', { op: 'not_equals', value: 2 }, 2, false],
    ['gt at the bound', { op: 'gt', value: 2 }, 2, false],
    ['gte at the bound', { op: 'gte', value: 2 }, 2, true],
    ['gte below', { op: 'gte', value: 2 }, 1, false],
    ['lt at the bound', { op: 'lt', value: 2 }, 2, false],
    ['lte at the bound', { op: 'lte', value: 2 }, 2, true],
    ['lte above', { op: 'lte', value: 2 }, 3, false],
    ['between, low', { op: 'between', values: [1, 3] }, 1, true],
    ['between, high', { op: 'between', values: [1, 3] }, 3, true],
    ['between, out', { op: 'between', values: [1, 3] }, 0, false],
  ];
  it.each(rows)('%s', (_, comparison, x, expected) => {
    expect(compareNumber(comparison, x)).toBe(expected);
  });
});
