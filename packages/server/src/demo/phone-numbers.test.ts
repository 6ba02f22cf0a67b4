import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { createDemoRandom } from './demo-random.js';
import { countryOfPhone, createPhoneAllocator, phoneVariant } from './phone-numbers.js';

const rnd = () => createDemoRandom(7, new Date('2025-06-01T00:00:00Z'));
const TYPED = /^[0-9 +()-]+$/;

describe('createPhoneAllocator', () => {
  it('hands out unique numbers that libphonenumber accepts as valid', () => {
    const allocate = createPhoneAllocator(rnd());
    const numbers = Array.from({ length: 400 }, (_, i) => allocate(i % 2 ? 'FR' : 'US'));
    expect(new Set(numbers.map((n) => n.e164)).size).toBe(400);
    for (const { e164, country } of numbers) {
      const parsed = parsePhoneNumberFromString(e164);
      expect(parsed?.isValid(), e164).toBe(true);
      expect(parsed?.country).toBe(country);
      expect(countryOfPhone(e164)).toBe(country);
    }
  });

  it('falls back to French mobiles once the fictional US block runs out', () => {
    const allocate = createPhoneAllocator(rnd());
    const numbers = Array.from({ length: 2500 }, () => allocate('US'));
    expect(new Set(numbers.map((n) => n.e164)).size).toBe(2500);
    expect(numbers.some((n) => n.country === 'FR')).toBe(true);
  });
});

describe('phoneVariant', () => {
  it.each(['US', 'FR'] as const)('writes forms that parse back to the E.164 number with region %s', (region) => {
    const r = rnd();
    const allocate = createPhoneAllocator(r);
    const national = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { e164 } = allocate(i % 2 ? 'FR' : 'US');
      const typed = phoneVariant(r, e164, region);
      expect(typed).toMatch(TYPED);
      expect(parsePhoneNumberFromString(typed, region)?.number, typed).toBe(e164);
      if (!typed.startsWith('+')) national.add(countryOfPhone(e164));
    }
    // National formats only ever for the region's own numbers (they would not parse otherwise).
    expect([...national]).toEqual([region]);
  });

  it('writes French national numbers the French way', () => {
    const r = rnd();
    const forms = new Set(Array.from({ length: 60 }, () => phoneVariant(r, '+33612345678', 'FR')));
    expect(forms).toContain('06 12 34 56 78');
    expect(forms).toContain('+33 6 12 34 56 78');
  });
});
