import { describe, expect, it } from 'vitest';
import { isCanonicalIso, parseIsoTimestamp } from './parse-iso-timestamp.js';

const iso = (text: string): string | null => {
  const epoch = parseIsoTimestamp(text);
  return epoch === null ? null : new Date(epoch).toISOString();
};

describe('parseIsoTimestamp', () => {
  it.each([
    ['2024-03-01T12:30:05.123Z', '2024-03-01T12:30:05.123Z'],
    ['2024-03-01T12:30:05Z', '2024-03-01T12:30:05.000Z'],
    ['2024-03-01t12:30:05z', '2024-03-01T12:30:05.000Z'],
    ['2024-03-01 12:30:05Z', '2024-03-01T12:30:05.000Z'],
    ['2024-03-01T12:30Z', '2024-03-01T12:30:00.000Z'],
    ['2024-03-01T12:30:05.123456789Z', '2024-03-01T12:30:05.123Z'],
    ['2024-03-01T12:30:05,5Z', '2024-03-01T12:30:05.500Z'],
    ['2024-03-01T12:30:05+01:00', '2024-03-01T11:30:05.000Z'],
    ['2024-03-01T12:30:05+0100', '2024-03-01T11:30:05.000Z'],
    ['2024-03-01T12:30:05-05', '2024-03-01T17:30:05.000Z'],
    ['2024-03-01T00:30:00+05:30', '2024-02-29T19:00:00.000Z'],
    ['2024-03-01T12:30:05', '2024-03-01T12:30:05.000Z'],
    ['2024-03-01', '2024-03-01T00:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2016-12-31T23:59:60Z', '2017-01-01T00:00:00.000Z'],
    ['0099-01-01T00:00:00Z', '0099-01-01T00:00:00.000Z'],
    ['0099-01-01T00:00:00.000Z', '0099-01-01T00:00:00.000Z'],
    ['2016-12-31T23:59:60.250Z', '2017-01-01T00:00:00.250Z'],
    ['2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z'],
  ])('parses %s', (text, expected) => {
    expect(iso(text)).toBe(expected);
  });

  it.each([
    '',
    'yesterday',
    'March 7, 2024',
    'Fri, 01 Mar 2024 12:30:05 GMT',
    '1709296205',
    '2024-3-1',
    '2024-03-01T12',
    '2024-13-01T00:00:00Z',
    '2024-00-10T00:00:00Z',
    '2024-02-30T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-03-01T24:00:00Z',
    '2024-03-01T12:60:00Z',
    '2024-03-01T12:30:61Z',
    '2024-03-01T12:30:05+25:00',
    '2024-03-01T12:30:05+01:60',
    '2024-03-01T12:30:05 Z',
    ' 2024-03-01T12:30:05Z',
    '2024-02-30T00:00:00.000Z',
    '2023-02-29T00:00:00.000Z',
    '2024-03-01T24:00:00.000Z',
    '2024-03-01T12:30:61.000Z',
    '2024-03-01T12:30:05.12xZ',
    '2024-03-01X12:30:05.123Z',
    '+024-03-01T12:30:05.123Z',
  ])('rejects %j', (text) => {
    expect(parseIsoTimestamp(text)).toBeNull();
  });

  it("reads toISOString's form (its own fast path) as the general parser reads the same time with +00:00", () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const two = (n: number) => String(n).padStart(2, '0');
    for (let i = 0; i < 5000; i++) {
      // Out-of-range fields on purpose (month 13, day 31 in April, hour 24, second 60): both must refuse or agree.
      const date = `${String(random(10_000)).padStart(4, '0')}-${two(random(14))}-${two(random(33))}`;
      const time = `${two(random(26))}:${two(random(61))}:${two(random(62))}.${String(random(1000)).padStart(3, '0')}`;
      expect(parseIsoTimestamp(`${date}T${time}Z`), `${date}T${time}Z`).toBe(
        parseIsoTimestamp(`${date}T${time}+00:00`),
      );
    }
  });
});

describe('isCanonicalIso', () => {
  /** What it replaced: toISOString's form, a leap second excluded. */
  const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:[0-5]\d\.\d{3}Z$/;

  it.each([
    ['2024-03-01T12:30:05.123Z', true],
    ['0099-01-01T00:00:00.000Z', true],
    ['2016-12-31T23:59:60.250Z', false],
    ['2024-03-01t12:30:05.123Z', false],
    ['2024-03-01T12:30:05.123z', false],
    ['2024-03-01T12:30:05,123Z', false],
    ['2024-03-01T12:30:05.12xZ', false],
    ['2024-03-01T12:30:05Z', false],
    ['2024-03-01T12:30:05.1234Z', false],
    ['+24-03-01T12:30:05.123Z', false],
  ])('%s → %s', (text, expected) => {
    expect(isCanonicalIso(text)).toBe(expected);
  });

  it('agrees with the regular expression on random near-canonical strings', () => {
    let seed = 11;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = '0123456789-T:.Z5t z+/';
    for (let i = 0; i < 20_000; i++) {
      const chars = [...'2024-03-01T12:30:05.123Z'];
      // One to three characters replaced, sometimes one removed or added.
      for (let k = random(3) + 1; k > 0; k--) chars[random(24)] = alphabet[random(alphabet.length)];
      if (random(10) === 0) chars.splice(random(24), 1);
      if (random(10) === 0) chars.splice(random(24), 0, alphabet[random(alphabet.length)]);
      const text = chars.join('');
      expect(isCanonicalIso(text), text).toBe(CANONICAL.test(text));
    }
  });
});
