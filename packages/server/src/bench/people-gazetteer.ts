import { allLocales } from '@faker-js/faker';
import { createSeededRandom, cumulative, type SeededRandom, shuffle, zipf } from '../seeded-random.js';

/**
 * The value lists the synthetic people are drawn from, built once per seed from @faker-js/faker's locale data
 * (pinned: the lists never change under a seed) and a seeded random source (faker's own generator is not used: it is
 * about twenty times slower). Every value is a lowercase string created once here, so a million records share them.
 */
export interface PeopleGazetteer {
  /**
   * Given names by rank: Australian locale's names first, other English-speaking ones', then the others' (shuffled
   * within each tier); drawn Zipf-Mandelbrot (the most common about 2 %, the top 100 about 45 % of people).
   */
  givenNames: readonly string[];
  givenNameCdf: Float64Array;
  /** Surnames by rank, the same way (about 9,800; the most common about 1 %, the top 1,000 about half of people). */
  surnames: readonly string[];
  surnameCdf: Float64Array;
  /** Street names with their type in full ("forbes street"). */
  streets: readonly string[];
  streetCdf: Float64Array;
  /** Suburbs, each with its state and a postcode inside that state's range. */
  suburbs: readonly { name: string; postcode: string; state: string }[];
  suburbCdf: Float64Array;
  /** Building, complex or unit lines ("wintersloe", "unit 12", "rsl village"). */
  address2: readonly string[];
  address2Cdf: Float64Array;
  /** "1" … "600", the small numbers most likely. */
  streetNumbers: readonly string[];
  streetNumberCdf: Float64Array;
  /** Every day from 1925-01-01 over 90 years, as YYYYMMDD. */
  dates: readonly string[];
  emailDomains: readonly string[];
  emailDomainCdf: Float64Array;
  states: readonly string[];
}

/** Tiers of locales, most common names first: Australian lists, other English ones, then every other locale. */
const TIERS = [['en_AU'], ['en', 'en_ZA', 'en_AU_ocker']];
const STREET_TYPES: [string, number][] = [
  ['street', 30],
  ['road', 14],
  ['avenue', 8],
  ['crescent', 7],
  ['place', 7],
  ['drive', 6],
  ['court', 5],
  ['close', 4],
  ['parade', 3],
  ['terrace', 3],
  ['circuit', 3],
  ['grove', 2],
  ['lane', 2],
  ['way', 2],
  ['highway', 1],
  ['boulevard', 1],
  ['square', 1],
];
const SUBURB_SUFFIXES = ['ton', 'ville', 'field', 'wood', 'dale', 'vale', 'brook', 'ridge', 'leigh', 'more', 'bury'];
const SUBURB_PREFIXES = ['north', 'south', 'east', 'west', 'mount', 'port', 'lake', 'glen', 'upper', 'saint'];
const SUBURB_WORDS = ['heights', 'hills', 'park', 'beach', 'creek', 'valley', 'point', 'bay', 'downs', 'plains'];
const COMPLEX_WORDS = ['village', 'house', 'lodge', 'park', 'gardens', 'manor', 'building', 'tower', 'apartments'];
const COMPLEX_PHRASES = ['retirement village', 'shopping village', 'shopping centre', 'caravan park', 'nursing home'];
const UNIT_WORDS = ['unit', 'flat', 'apartment', 'suite', 'level', 'villa', 'lot'];
/** Share of the population and postcode ranges by state. */
const STATES: [string, number, [number, number][]][] = [
  [
    'nsw',
    32,
    [
      [2000, 2599],
      [2619, 2899],
    ],
  ],
  ['vic', 26, [[3000, 3999]]],
  ['qld', 20, [[4000, 4999]]],
  ['wa', 10, [[6000, 6797]]],
  ['sa', 7, [[5000, 5799]]],
  ['tas', 2, [[7000, 7799]]],
  [
    'act',
    2,
    [
      [2600, 2618],
      [2900, 2920],
    ],
  ],
  ['nt', 1, [[800, 899]]],
];
const EMAIL_DOMAINS: [string, number][] = [
  ['gmail.com', 35],
  ['hotmail.com', 12],
  ['outlook.com', 8],
  ['bigpond.com', 8],
  ['yahoo.com.au', 7],
  ['icloud.com', 7],
  ['yahoo.com', 6],
  ['optusnet.com.au', 4],
  ['live.com.au', 3],
  ['iinet.net.au', 3],
  ['tpg.com.au', 2],
  ['internode.on.net', 1],
  ['protonmail.com', 1],
  ['westnet.com.au', 1],
  ['bigpond.net.au', 1],
];

const flat = (v: unknown): string[] =>
  v == null ? [] : Array.isArray(v) ? (v as string[]) : (Object.values(v as object).flat() as string[]);

/** The locales' names (lowercase, ASCII letters, apostrophes and hyphens), English-speaking locales first. */
function rankedNames(key: 'first_name' | 'last_name', random: SeededRandom): string[] {
  const seen = new Set<string>();
  const tier = (locales: string[]) => {
    const out: string[] = [];
    for (const l of locales)
      for (const raw of flat((allLocales as Record<string, { person?: Record<string, unknown> }>)[l]?.person?.[key])) {
        const name = raw.toLowerCase();
        if (/^[a-z][a-z'-]+$/.test(name) && !seen.has(name)) {
          seen.add(name);
          out.push(name);
        }
      }
    return shuffle(out, random);
  };
  const others = Object.keys(allLocales)
    .filter((l) => !TIERS.flat().includes(l) && l !== 'en_BORK')
    .sort();
  return [...TIERS, others].flatMap(tier);
}

function postcode(random: SeededRandom, ranges: [number, number][]): string {
  const [lo, hi] = random.pick(ranges);
  return String(random.int(lo, hi)).padStart(4, '0');
}

function suburbName(random: SeededRandom, surnames: readonly string[], given: readonly string[]): string {
  // Mostly from the English-speaking tiers' names (the heads of the ranked lists).
  const name = random.chance(0.7) ? surnames[random.int(0, 1500)] : given[random.int(0, 1500)];
  const x = random.next();
  if (x < 0.35) return name;
  if (x < 0.6) return `${name.replace(/[aeiouy]$/, '')}${random.pick(SUBURB_SUFFIXES)}`;
  if (x < 0.8) return `${random.pick(SUBURB_PREFIXES)} ${name}`;
  return `${name} ${random.pick(SUBURB_WORDS)}`;
}

function address2Value(random: SeededRandom, surnames: readonly string[], given: readonly string[]): string {
  const x = random.next();
  const name = random.chance(0.6) ? random.pick(surnames) : random.pick(given);
  if (x < 0.3) return `${random.pick(UNIT_WORDS)} ${random.int(1, 60)}`;
  if (x < 0.5) return name;
  if (x < 0.8) return `${name} ${random.pick(COMPLEX_WORDS)}`;
  if (x < 0.9) return `${name} ${random.pick(COMPLEX_PHRASES)}`;
  return random.pick(COMPLEX_PHRASES);
}

function dateTable(): string[] {
  const out: string[] = [];
  const start = Date.UTC(1925, 0, 1);
  const end = Date.UTC(2015, 0, 1);
  for (let t = start; t < end; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10).replaceAll('-', ''));
  return out;
}

export function createPeopleGazetteer(seed: number): PeopleGazetteer {
  const random = createSeededRandom(seed ^ 0x5eed);
  const givenNames = rankedNames('first_name', random);
  const surnames = rankedNames('last_name', random);
  const streets = new Set<string>();
  const typeCdf = cumulative(STREET_TYPES.map(([, w]) => w));
  while (streets.size < 40_000) {
    const name = random.chance(0.7) ? random.pick(surnames) : random.pick(givenNames);
    streets.add(`${name} ${STREET_TYPES[random.weighted(typeCdf)][0]}`);
  }
  const stateCdf = cumulative(STATES.map(([, w]) => w));
  const suburbs = new Map<string, { name: string; postcode: string; state: string }>();
  while (suburbs.size < 6_000) {
    const [state, , ranges] = STATES[random.weighted(stateCdf)];
    const name = suburbName(random, surnames, givenNames);
    if (!suburbs.has(`${name}|${state}`))
      suburbs.set(`${name}|${state}`, { name, state, postcode: postcode(random, ranges) });
  }
  const address2 = new Set<string>();
  while (address2.size < 8_000) address2.add(address2Value(random, surnames, givenNames));
  const streetNumbers = Array.from({ length: 600 }, (_, i) => String(i + 1));
  return {
    givenNames,
    givenNameCdf: zipf(givenNames.length, 1.2, 15),
    surnames,
    surnameCdf: zipf(surnames.length, 0.75, 3),
    streets: [...streets],
    streetCdf: zipf(streets.size, 0.4),
    suburbs: [...suburbs.values()],
    suburbCdf: zipf(suburbs.size, 0.6, 20),
    address2: [...address2],
    address2Cdf: zipf(address2.size, 0.6),
    streetNumbers,
    streetNumberCdf: zipf(streetNumbers.length, 0.9),
    dates: dateTable(),
    emailDomains: EMAIL_DOMAINS.map(([d]) => d),
    emailDomainCdf: cumulative(EMAIL_DOMAINS.map(([, w]) => w)),
    states: STATES.map(([s]) => s),
  };
}
