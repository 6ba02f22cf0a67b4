import type { MatchRecord } from '../identity/matching/types.js';
import { createSeededRandom, cumulative, type SeededRandom } from '../seeded-random.js';
import { corruptValue } from './people-corruptions.js';
import { createPeopleGazetteer, type PeopleGazetteer } from './people-gazetteer.js';

/** FEBRL's columns (`../shared/data/identity/README.md`) plus an e-mail address and a mobile number. */
export const PERSON_COLUMNS = [
  'given_name',
  'surname',
  'street_number',
  'address_1',
  'address_2',
  'suburb',
  'postcode',
  'state',
  'date_of_birth',
  'soc_sec_id',
  'email',
  'phone',
] as const;
export type PersonColumn = (typeof PERSON_COLUMNS)[number];

export interface SyntheticPeopleOptions {
  /** Default 1. The same seed and options always give the same records in the same order. */
  seed?: number;
  /** Share of entities that get duplicates (default 0.2). */
  duplicateRate?: number;
  /** An entity with duplicates gets 1 to this many (default 3; 1 most often). */
  maxDuplicates?: number;
  /** A duplicate gets 1 to this many corruptions (default 3; 1 most often). */
  maxCorruptions?: number;
  /** Share of duplicates whose given name and surname are swapped (one of their corruptions; default 0.03). */
  swappedNamesRate?: number;
  /** Share of entities living with the previous one: same address and surname, another person (default 0.08). */
  householdRate?: number;
}

/**
 * Synthetic people as column arrays (missing values are `''`), in shuffled order, with the answer key: `entity[i]` is
 * the true person of record i, `corruptions[i]` how many corruptions were applied to its person's original to make it
 * (0: the original itself; they can hit the same field, so fewer fields may differ).
 */
export interface SyntheticPeople {
  size: number;
  entities: number;
  columns: Readonly<Record<PersonColumn, string[]>>;
  entity: Int32Array;
  corruptions: Uint8Array;
}

/** Share of originals with a missing value, per column. */
const MISSING: Record<PersonColumn, number> = {
  given_name: 0.02,
  surname: 0.01,
  street_number: 0.03,
  address_1: 0.02,
  address_2: 0.55,
  suburb: 0.01,
  postcode: 0.01,
  state: 0.01,
  date_of_birth: 0.02,
  soc_sec_id: 0.02,
  email: 0.2,
  phone: 0.3,
};
/** How often a corruption hits each column (FEBRL-like: names, addresses and dates most). */
const FIELD_WEIGHTS: Record<PersonColumn, number> = {
  given_name: 15,
  surname: 15,
  street_number: 5,
  address_1: 10,
  address_2: 5,
  suburb: 10,
  postcode: 6,
  state: 3,
  date_of_birth: 10,
  soc_sec_id: 7,
  email: 8,
  phone: 6,
};
const FIELD_CDF = cumulative(PERSON_COLUMNS.map((c) => FIELD_WEIGHTS[c]));
const COLUMN = Object.fromEntries(PERSON_COLUMNS.map((c, i) => [c, i])) as Record<PersonColumn, number>;
/** 1 most often: 1, 2, 3, … with weights 50, 30, 20, 10, … */
const countCdf = (max: number) => cumulative([50, 30, 20, 10, 5, 5, 5, 5].slice(0, Math.max(1, max)));

/** Generates `n` people (originals and their duplicates, shuffled): about 4 s and 500 MB of RSS for 1,000,000. */
export function generateSyntheticPeople(n: number, options: SyntheticPeopleOptions = {}): SyntheticPeople {
  const seed = options.seed ?? 1;
  const random = createSeededRandom(seed);
  const gazetteer = createPeopleGazetteer(seed);
  const duplicateRate = options.duplicateRate ?? 0.2;
  const duplicatesCdf = countCdf(options.maxDuplicates ?? 3);
  const corruptionsCdf = countCdf(options.maxCorruptions ?? 3);
  const swappedRate = options.swappedNamesRate ?? 0.03;
  const householdRate = options.householdRate ?? 0.08;
  const columns = Object.fromEntries(PERSON_COLUMNS.map((c) => [c, new Array<string>(n)])) as Record<
    PersonColumn,
    string[]
  >;
  const arrays = PERSON_COLUMNS.map((c) => columns[c]);
  const entity = new Int32Array(n);
  const corruptions = new Uint8Array(n);
  const order = shuffledIndexes(n, random);
  const emails = new Set<string>();
  const original: string[] = new Array(PERSON_COLUMNS.length).fill('');
  const copy: string[] = new Array(PERSON_COLUMNS.length).fill('');
  const write = (values: string[], e: number, changes: number) => {
    const at = order[written++];
    for (let c = 0; c < arrays.length; c++) arrays[c][at] = values[c];
    entity[at] = e;
    corruptions[at] = changes;
  };
  let written = 0;
  let e = 0;
  while (written < n) {
    originalPerson(original, e, random, gazetteer, emails, e > 0 && random.chance(householdRate));
    write(original, e, 0);
    if (random.chance(duplicateRate)) {
      const count = random.weighted(duplicatesCdf) + 1;
      for (let d = 0; d < count && written < n; d++) {
        for (let c = 0; c < original.length; c++) copy[c] = original[c];
        let changes = corrupt(copy, random.weighted(corruptionsCdf) + 1, swappedRate, random, gazetteer);
        // Two corruptions can undo each other (a transposition twice): a duplicate always differs from its original.
        while (copy.every((v, c) => v === original[c])) changes += corrupt(copy, 1, 0, random, gazetteer);
        write(copy, e, changes);
      }
    }
    e++;
  }
  return { size: n, entities: e, columns, entity, corruptions };
}

/**
 * The records as the matcher takes them: one object per record, every one created by the same literal (same keys in
 * the same order, so V8 gives them one hidden class), sharing the column arrays' strings.
 */
export function toMatchRecords(people: SyntheticPeople): MatchRecord[] {
  const c = people.columns;
  const out = new Array<MatchRecord>(people.size);
  for (let i = 0; i < people.size; i++)
    out[i] = {
      given_name: c.given_name[i],
      surname: c.surname[i],
      street_number: c.street_number[i],
      address_1: c.address_1[i],
      address_2: c.address_2[i],
      suburb: c.suburb[i],
      postcode: c.postcode[i],
      state: c.state[i],
      date_of_birth: c.date_of_birth[i],
      soc_sec_id: c.soc_sec_id[i],
      email: c.email[i],
      phone: c.phone[i],
    };
  return out;
}

function shuffledIndexes(n: number, random: SeededRandom): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** Fills `v` with entity `e`'s original record. A household member keeps the previous entity's address and surname. */
function originalPerson(
  v: string[],
  e: number,
  r: SeededRandom,
  g: PeopleGazetteer,
  emails: Set<string>,
  household: boolean,
): void {
  v[COLUMN.given_name] = g.givenNames[r.weighted(g.givenNameCdf)];
  if (!household) {
    v[COLUMN.surname] = g.surnames[r.weighted(g.surnameCdf)];
    v[COLUMN.street_number] = g.streetNumbers[r.weighted(g.streetNumberCdf)];
    v[COLUMN.address_1] = g.streets[r.weighted(g.streetCdf)];
    v[COLUMN.address_2] = g.address2[r.weighted(g.address2Cdf)];
    const suburb = g.suburbs[r.weighted(g.suburbCdf)];
    v[COLUMN.suburb] = suburb.name;
    v[COLUMN.postcode] = suburb.postcode;
    v[COLUMN.state] = suburb.state;
  }
  v[COLUMN.date_of_birth] = g.dates[r.int(0, g.dates.length - 1)];
  // Unique per entity by construction: affine maps coprime with the number space.
  v[COLUMN.soc_sec_id] = String((e * 3_481_207 + 1_234_567) % 10_000_000).padStart(7, '0');
  v[COLUMN.phone] = `04${String((e * 7_654_321 + 24_680_135) % 100_000_000).padStart(8, '0')}`;
  v[COLUMN.email] = email(v[COLUMN.given_name], v[COLUMN.surname], v[COLUMN.date_of_birth], r, g, emails);
  for (let c = 0; c < PERSON_COLUMNS.length; c++) if (r.chance(MISSING[PERSON_COLUMNS[c]])) v[c] = '';
}

/** A plausible, unused address: "given.surname@", "gsurname@", "given_surname42@", … */
function email(
  given: string,
  surname: string,
  dob: string,
  r: SeededRandom,
  g: PeopleGazetteer,
  used: Set<string>,
): string {
  const gn = given.replace(/[^a-z]/g, '');
  const sn = surname.replace(/[^a-z]/g, '') || 'x';
  const x = r.next();
  let local: string;
  if (x < 0.3) local = `${gn}.${sn}`;
  else if (x < 0.45) local = `${gn}${sn}`;
  else if (x < 0.6) local = `${gn[0]}${sn}`;
  else if (x < 0.75) local = `${gn}.${sn}${r.int(1, 99)}`;
  else if (x < 0.85) local = `${gn}${dob.slice(2, 4)}`;
  else if (x < 0.9) local = `${sn}.${gn}`;
  else local = `${gn}_${sn}`;
  const domain = g.emailDomains[r.weighted(g.emailDomainCdf)];
  let address = `${local}@${domain}`;
  while (used.has(address)) address = `${local}${r.int(1, 9999)}@${domain}`;
  used.add(address);
  return address;
}

/** Applies `count` corruptions to `v` (each one changes it); returns how many it applied. */
function corrupt(v: string[], count: number, swappedRate: number, r: SeededRandom, g: PeopleGazetteer): number {
  let applied = 0;
  if (r.chance(swappedRate) && v[COLUMN.given_name] !== v[COLUMN.surname]) {
    const t = v[COLUMN.given_name];
    v[COLUMN.given_name] = v[COLUMN.surname];
    v[COLUMN.surname] = t;
    applied++;
  }
  for (let attempts = 0; applied < count && attempts < 20; attempts++) {
    const c = r.weighted(FIELD_CDF);
    const before = v[c];
    const after = corruptValue(PERSON_COLUMNS[c], before, r, g);
    if (after !== before) {
      v[c] = after;
      applied++;
    }
  }
  return applied;
}
