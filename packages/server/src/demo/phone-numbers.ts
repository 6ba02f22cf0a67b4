import type { DemoRandom } from './demo-random.js';

/** Countries the demo's people live in. */
export type DemoCountry = 'FR' | 'US';

/**
 * Area codes used with the 555-0100…555-0199 block, which is reserved for fiction in the North American plan and
 * still valid for libphonenumber.
 */
const US_AREA_CODES = [
  '201',
  '212',
  '213',
  '305',
  '312',
  '404',
  '415',
  '503',
  '512',
  '602',
  '617',
  '646',
  '702',
  '718',
  '720',
  '801',
  '857',
  '917',
  '929',
  '972',
] as const;

/**
 * Hands out unique phone numbers in E.164: French mobiles `+33 6 xx xx xx xx` in the blocks libphonenumber holds valid and US
 * `+1 NPA 555-01xx`. When the small US block is exhausted the person gets a French mobile instead, so any number of
 * people can be generated. The returned country is the number's.
 */
export function createPhoneAllocator(
  rnd: DemoRandom,
): (country: DemoCountry) => { e164: string; country: DemoCountry } {
  const used = new Set<string>();
  const french = (): string => {
    for (;;) {
      // libphonenumber knows 06 39 and most of 06 9x as unassigned: stay in 06 00 … 06 89.
      const block = rnd.int(0, 88);
      const n = `+336${String(block < 39 ? block : block + 1).padStart(2, '0')}${rnd.faker.string.numeric(6)}`;
      if (!used.has(n)) return n;
    }
  };
  return (country) => {
    if (country === 'US') {
      for (let attempt = 0; attempt < 20; attempt++) {
        const n = `+1${rnd.pick(US_AREA_CODES)}55501${rnd.faker.string.numeric(2)}`;
        if (!used.has(n)) {
          used.add(n);
          return { e164: n, country: 'US' };
        }
      }
    }
    const n = french();
    used.add(n);
    return { e164: n, country: 'FR' };
  };
}

/** Country of an E.164 number produced by {@link createPhoneAllocator}. */
export function countryOfPhone(e164: string): DemoCountry {
  return e164.startsWith('+33') ? 'FR' : 'US';
}

function frenchForms(e164: string): { national: string[]; international: string[] } {
  const d = e164.slice(3); // 9 digits: 6xxxxxxxx
  const pairs = [d.slice(1, 3), d.slice(3, 5), d.slice(5, 7), d.slice(7, 9)];
  return {
    national: [`0${d[0]} ${pairs.join(' ')}`, `0${d}`, `0${d[0]}-${pairs.join('-')}`],
    international: [`+33 ${d[0]} ${pairs.join(' ')}`, e164, `+33 (0)${d[0]} ${pairs.join(' ')}`],
  };
}

function usForms(e164: string): { national: string[]; international: string[] } {
  const [npa, nxx, line] = [e164.slice(2, 5), e164.slice(5, 8), e164.slice(8)];
  return {
    national: [`(${npa}) ${nxx}-${line}`, `${npa}-${nxx}-${line}`, `${npa} ${nxx} ${line}`, `1-${npa}-${nxx}-${line}`],
    international: [`+1 ${npa}-${nxx}-${line}`, `+1 (${npa}) ${nxx}-${line}`, e164],
  };
}

/**
 * The number as a person or a till would type it: national format (`06 12 34 56 78`, `(201) 555-0123`) about half
 * the time when the number belongs to `region`, otherwise an international format (`+33 6 12 34 56 78`). Every
 * variant uses only digits, spaces, `+`, parentheses and dashes, and parses back to `e164` with `region` as the
 * default region.
 */
export function phoneVariant(rnd: DemoRandom, e164: string, region: DemoCountry): string {
  const country = countryOfPhone(e164);
  const forms = country === 'FR' ? frenchForms(e164) : usForms(e164);
  const national = country === region && rnd.chance(0.5);
  return rnd.pick(national ? forms.national : forms.international);
}
