import { describe, expect, it } from 'vitest';
import { isPresent, toDate, toNumber, valueAt } from './values.js';

describe('toNumber', () => {
  const rows: [unknown, number | undefined][] = [
    [42, 42],
    [-1.5, -1.5],
    ['42', 42],
    ['-0.5', -0.5],
    ['+3', 3],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['2.5E-1', 0.25],
    ['042', 42],
    [' 42', undefined],
    ['42 ', undefined],
    ['1,5', undefined],
    ['0x10', undefined],
    ['Infinity', undefined],
    ['1e999', undefined],
    ['', undefined],
    ['-', undefined],
    [true, undefined],
    [null, undefined],
    [undefined, undefined],
    [[1], undefined],
    [{}, undefined],
  ];
  it.each(rows)('%j → %s', (value, expected) => {
    expect(toNumber(value)).toBe(expected);
  });
});

describe('toDate', () => {
  const rows: [unknown, string | undefined][] = [
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['2024-05-01T10:20Z', '2024-05-01T10:20:00.000Z'],
    ['2024-05-01T10:20:30Z', '2024-05-01T10:20:30.000Z'],
    ['2024-05-01T10:20:30.123Z', '2024-05-01T10:20:30.123Z'],
    ['2024-05-01T10:20:30.1Z', '2024-05-01T10:20:30.100Z'],
    ['2024-05-01T10:20:30.123456789Z', '2024-05-01T10:20:30.123Z'],
    ['2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T00:30:00-01:30', '2024-05-01T02:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29', '2000-02-29T00:00:00.000Z'],
    ['0050-01-01', '0050-01-01T00:00:00.000Z'],
    ['2023-02-29', undefined],
    ['1900-02-29', undefined],
    ['2024-04-31', undefined],
    ['2024-13-01', undefined],
    ['2024-00-10', undefined],
    ['2024-05-01T24:00Z', undefined],
    ['2024-05-01T10:60Z', undefined],
    ['2024-05-01T10:00:60Z', undefined],
    ['2024-05-01T10:00:00', undefined],
    ['2024-05-01T10:00:00+24:00', undefined],
    ['2024-05-01 10:00:00Z', undefined],
    ['2024-5-1', undefined],
    ['01/05/2024', undefined],
    ['2024-05-01t10:00z', undefined],
    [1714521600000, undefined],
    [null, undefined],
  ];
  it.each(rows)('%j → %s', (value, expected) => {
    const ms = toDate(value);
    expect(ms === undefined ? undefined : new Date(ms).toISOString().replace(/^\+0*/, '')).toBe(expected);
  });
});

describe('valueAt', () => {
  const traits = { plan: 'gold', address: { city: 'Lyon', geo: { lat: 45.7 } }, tags: [{ a: 1 }], empty: null };
  const rows: [string, unknown][] = [
    ['plan', 'gold'],
    ['address.city', 'Lyon'],
    ['address.geo.lat', 45.7],
    ['address', traits.address],
    ['address.zip', undefined],
    ['plan.length', undefined],
    ['tags.0.a', undefined],
    ['empty', null],
    ['empty.x', undefined],
    ['constructor', undefined],
    ['toString', undefined],
    ['address.hasOwnProperty', undefined],
    ['__proto__', undefined],
  ];
  it.each(rows)('%s', (path, expected) => {
    expect(valueAt(traits, path)).toEqual(expected);
  });

  it('reads nothing from null properties', () => {
    expect(valueAt(null, 'a')).toBeUndefined();
  });
});

describe('isPresent', () => {
  const rows: [unknown, boolean][] = [
    [undefined, false],
    [null, false],
    ['', true],
    [0, true],
    [false, true],
    [[], true],
    [{}, true],
  ];
  it.each(rows)('%j → %s', (value, expected) => {
    expect(isPresent(value)).toBe(expected);
  });
});
