import { describe, expect, it } from 'vitest';
import { convertValue, type FieldType, isMissing } from './convert-value.js';

describe('convertValue', () => {
  const ok: [FieldType | undefined, unknown, unknown][] = [
    [undefined, '  kept  ', 'kept'],
    [undefined, 42, 42],
    [undefined, { a: 1 }, { a: 1 }],
    ['string', '  Ada ', 'Ada'],
    ['string', 12.5, '12.5'],
    ['string', true, 'true'],
    ['string', { a: 1 }, '{"a":1}'],
    ['number', '1234.50', 1234.5],
    ['number', '1234,50', 1234.5],
    ['number', ' -7 ', -7],
    ['number', '+3', 3],
    ['number', '.5', 0.5],
    ['number', '1e3', 1000],
    ['number', 19.99, 19.99],
    ['boolean', 'true', true],
    ['boolean', 'FALSE', false],
    ['boolean', 'Yes', true],
    ['boolean', 'no', false],
    ['boolean', 'Y', true],
    ['boolean', 'n', false],
    ['boolean', '1', true],
    ['boolean', '0', false],
    ['boolean', 1, true],
    ['boolean', 0, false],
    ['boolean', false, false],
    ['date', '2024-03-01T10:15:00Z', '2024-03-01T10:15:00.000Z'],
    ['date', '2024-03-01', '2024-03-01T00:00:00.000Z'],
    ['date', '2024-03-01T10:15:00+02:00', '2024-03-01T08:15:00.000Z'],
    ['date', 'Fri, 01 Mar 2024 10:15:00 GMT', '2024-03-01T10:15:00.000Z'],
    ['date', 1709288100, '2024-03-01T10:15:00.000Z'],
    ['date', 1709288100000, '2024-03-01T10:15:00.000Z'],
    ['date', '1709288100', '2024-03-01T10:15:00.000Z'],
    ['json', '{"sku":"A1","qty":2}', { sku: 'A1', qty: 2 }],
    ['json', '[1,2]', [1, 2]],
    ['json', { already: 'parsed' }, { already: 'parsed' }],
  ];
  it.each(ok)('%s %j → %j', (type, input, expected) => {
    expect(convertValue(input, type)).toEqual({ ok: true, value: expected });
  });

  const bad: [FieldType, unknown, RegExp][] = [
    ['number', '1,234.50', /not a number/],
    ['number', '12 EUR', /not a number/],
    ['number', 'abc', /not a number/],
    ['number', true, /not a number/],
    ['number', Number.POSITIVE_INFINITY, /finite/],
    ['boolean', 'maybe', /not a boolean/],
    ['boolean', 2, /not a boolean/],
    ['date', 'not a date', /not a date/],
    ['date', true, /not a date/],
    ['json', '{broken', /not valid JSON/],
  ];
  it.each(bad)('%s rejects %j', (type, input, message) => {
    const result = convertValue(input, type);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it('never puts the rejected value in the message', () => {
    const result = convertValue('secret@example.com', 'number');
    expect(result.ok || result.message.includes('secret')).toBe(false);
  });
});

describe('isMissing', () => {
  it.each([
    [undefined, true],
    [null, true],
    ['', true],
    ['   ', true],
    ['0', false],
    [0, false],
    [false, false],
  ])('%j → %s', (value, expected) => {
    expect(isMissing(value)).toBe(expected);
  });
});
