import { cumulative, type SeededRandom } from '../seeded-random.js';
import type { PeopleGazetteer } from './people-gazetteer.js';

/**
 * FEBRL-like corruptions of one field's value (P. Christen's generator: typos, OCR and phonetic errors, missing values,
 * abbreviations). A corruptor returns the value unchanged when it does not apply; the caller then tries another.
 */
export type Corruptor = (value: string, random: SeededRandom, gazetteer: PeopleGazetteer) => string;

const ROWS = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
/** QWERTY neighbours of each key (same row and the rows above and below). */
const KEYBOARD: Record<string, string> = {};
ROWS.forEach((row, r) => {
  for (let i = 0; i < row.length; i++) {
    let near = (row[i - 1] ?? '') + (row[i + 1] ?? '');
    if (r > 0) near += ROWS[r - 1].slice(i, i + 2);
    if (r < ROWS.length - 1) near += ROWS[r + 1].slice(Math.max(0, i - 1), i + 1);
    KEYBOARD[row[i]] = near;
  }
});
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const OCR: [string, string][] = [
  ['m', 'rn'],
  ['rn', 'm'],
  ['d', 'cl'],
  ['cl', 'd'],
  ['l', '1'],
  ['i', 'l'],
  ['l', 'i'],
  ['o', '0'],
  ['0', 'o'],
  ['s', '5'],
  ['5', 's'],
  ['b', '6'],
  ['g', '9'],
  ['e', 'c'],
  ['u', 'v'],
  ['h', 'b'],
  ['w', 'vv'],
  ['1', '7'],
  ['8', '3'],
  ['6', '8'],
];
const PHONETIC: [string, string][] = [
  ['ph', 'f'],
  ['f', 'ph'],
  ['ie', 'y'],
  ['y', 'ie'],
  ['ck', 'k'],
  ['c', 'k'],
  ['k', 'c'],
  ['ou', 'ow'],
  ['ae', 'e'],
  ['mac', 'mc'],
  ['mc', 'mac'],
  ['th', 't'],
  ['ei', 'ie'],
  ['ee', 'ea'],
  ['z', 's'],
  ['s', 'z'],
  ['ll', 'l'],
  ['tt', 't'],
  ['nn', 'n'],
  ['i', 'y'],
  ['sch', 'sh'],
  ['gh', 'g'],
  ['w', 'v'],
  ['x', 'ks'],
  ['dt', 't'],
  ['aa', 'a'],
  ['ey', 'ay'],
];
const ABBREVIATIONS: Record<string, string[]> = {
  street: ['st', 'str'],
  road: ['rd'],
  avenue: ['ave', 'av'],
  crescent: ['cres', 'cr'],
  place: ['pl'],
  drive: ['dr'],
  court: ['ct'],
  close: ['cl'],
  parade: ['pde'],
  terrace: ['tce'],
  circuit: ['cct'],
  grove: ['gr'],
  lane: ['ln'],
  highway: ['hwy'],
  boulevard: ['blvd'],
  square: ['sq'],
  north: ['nth', 'n'],
  south: ['sth', 's'],
  east: ['e'],
  west: ['w'],
  mount: ['mt'],
  saint: ['st'],
  port: ['pt'],
  upper: ['upr'],
  heights: ['hts'],
  village: ['vlge', 'vil'],
  apartments: ['apts'],
  apartment: ['apt'],
  building: ['bldg'],
  unit: ['u'],
  level: ['lvl'],
  house: ['hse'],
  centre: ['ctr'],
  gardens: ['gdns'],
};
const DOMAIN_TYPOS: Record<string, string[]> = {
  'gmail.com': ['gmial.com', 'gmail.co', 'gmail.con', 'gmal.com', 'googlemail.com'],
  'hotmail.com': ['hotmial.com', 'hotmail.co', 'homail.com', 'hotmail.com.au'],
  'yahoo.com': ['yaho.com', 'yahoo.co', 'yahoo.com.au'],
  'outlook.com': ['outlok.com', 'outlook.co'],
  'bigpond.com': ['bigpond.net.au', 'bigpnd.com'],
};

/** A position to corrupt: the first character less often (FEBRL's position model: errors rarely start a word). */
const position = (len: number, random: SeededRandom) => (len > 1 && random.chance(0.85) ? random.int(1, len - 1) : 0);
const alphabetOf = (value: string) => (/^\d+$/.test(value) ? DIGITS : LETTERS);

export const keyboardTypo: Corruptor = (v, r) => {
  if (!v) return v;
  const i = position(v.length, r);
  const near = KEYBOARD[v[i]];
  return near ? v.slice(0, i) + r.pick([...near]) + v.slice(i + 1) : v;
};
export const insertion: Corruptor = (v, r) => {
  if (!v) return v;
  const i = r.int(1, v.length);
  const c = r.chance(0.3) ? v[i - 1] : r.pick([...alphabetOf(v)]);
  return v.slice(0, i) + c + v.slice(i);
};
export const deletion: Corruptor = (v, r) => {
  if (v.length < 2) return v;
  const i = position(v.length, r);
  return v.slice(0, i) + v.slice(i + 1);
};
export const transposition: Corruptor = (v, r) => {
  if (v.length < 2) return v;
  const i = position(v.length - 1, r);
  return v.slice(0, i) + v[i + 1] + v[i] + v.slice(i + 2);
};
const substitution =
  (table: [string, string][]): Corruptor =>
  (v, r) => {
    const options = table.filter(([from]) => v.includes(from));
    if (options.length === 0) return v;
    const [from, to] = r.pick(options);
    let at = v.indexOf(from);
    const count = v.split(from).length - 1;
    for (let k = r.int(0, count - 1); k > 0; k--) at = v.indexOf(from, at + 1);
    return v.slice(0, at) + to + v.slice(at + from.length);
  };
export const ocr = substitution(OCR);
export const phonetic = substitution(PHONETIC);
export const missing: Corruptor = () => '';
export const abbreviation: Corruptor = (v, r) => {
  const words = v.split(' ');
  const options = words.map((w, i) => (ABBREVIATIONS[w] ? i : -1)).filter((i) => i >= 0);
  if (options.length === 0) return v;
  const i = r.pick(options);
  words[i] = r.pick(ABBREVIATIONS[words[i]]);
  return words.join(' ');
};
/** A space inside a word, or two words run together ("nobl ee park", "mountdruitt"). */
export const spacing: Corruptor = (v, r) => {
  if (v.includes(' ') && r.chance(0.5)) return v.replace(' ', '');
  if (v.length < 4) return v;
  const i = r.int(2, v.length - 2);
  return v[i - 1] === ' ' || v[i] === ' ' ? v : `${v.slice(0, i)} ${v.slice(i)}`;
};
/** A digit typed wrong: a keyboard neighbour on the number row, or any digit. */
export const digitTypo: Corruptor = (v, r) => {
  const digits = [...v].map((c, i) => (c >= '0' && c <= '9' ? i : -1)).filter((i) => i >= 0);
  if (digits.length === 0) return v;
  const i = r.pick(digits);
  const c = r.chance(0.6) ? r.pick([...KEYBOARD[v[i]].replace(/\D/g, '')]) : r.pick([...DIGITS]);
  return v.slice(0, i) + c + v.slice(i + 1);
};
/** YYYYMMDD with day and month swapped, when the day can be a month. */
export const dayMonthSwap: Corruptor = (v) =>
  v.length === 8 && v.slice(6) <= '12' ? v.slice(0, 4) + v.slice(6) + v.slice(4, 6) : v;
export const emailDomainChange: Corruptor = (v, r, g) => {
  const at = v.indexOf('@');
  if (at < 0) return v;
  return `${v.slice(0, at + 1)}${g.emailDomains[r.weighted(g.emailDomainCdf)]}`;
};
export const emailDomainTypo: Corruptor = (v, r, g) => {
  const at = v.indexOf('@');
  if (at < 0) return v;
  const typos = DOMAIN_TYPOS[v.slice(at + 1)];
  const domain = typos ? r.pick(typos) : transposition(v.slice(at + 1), r, g);
  return `${v.slice(0, at + 1)}${domain}`;
};
export const emailLocalTypo: Corruptor = (v, r, g) => {
  const at = v.indexOf('@');
  if (at < 1) return v;
  const local = r.pick([keyboardTypo, deletion, transposition, insertion])(v.slice(0, at), r, g);
  return local + v.slice(at);
};
/** The same mobile number written another way: "0412 345 678", "+61412345678", "+61 412 345 678". */
export const phoneFormat: Corruptor = (v, r) => {
  if (!/^0\d{9}$/.test(v)) return v;
  const x = r.int(0, 2);
  if (x === 0) return `${v.slice(0, 4)} ${v.slice(4, 7)} ${v.slice(7)}`;
  if (x === 1) return `+61${v.slice(1)}`;
  return `+61 ${v.slice(1, 4)} ${v.slice(4, 7)} ${v.slice(7)}`;
};
/** Another state (a wrong pick in a form). */
export const otherState: Corruptor = (v, r, g) => r.pick(g.states.filter((s) => s !== v));

type Table = { corruptors: Corruptor[]; cdf: Float64Array };
const table = (entries: [Corruptor, number][]): Table => ({
  corruptors: entries.map(([c]) => c),
  cdf: cumulative(entries.map(([, w]) => w)),
});
const NAME = table([
  [keyboardTypo, 20],
  [insertion, 10],
  [deletion, 12],
  [transposition, 10],
  [ocr, 8],
  [phonetic, 25],
  [missing, 8],
  [spacing, 3],
]);
const TEXT = table([
  [keyboardTypo, 18],
  [insertion, 8],
  [deletion, 10],
  [transposition, 10],
  [ocr, 8],
  [phonetic, 6],
  [abbreviation, 25],
  [spacing, 5],
  [missing, 10],
]);
const NUMBER = table([
  [digitTypo, 40],
  [transposition, 20],
  [insertion, 10],
  [deletion, 10],
  [ocr, 5],
  [missing, 15],
]);
const CORRUPTIONS: Record<string, Table> = {
  given_name: NAME,
  surname: NAME,
  street_number: NUMBER,
  address_1: TEXT,
  address_2: TEXT,
  suburb: TEXT,
  postcode: NUMBER,
  state: table([
    [otherState, 60],
    [missing, 40],
  ]),
  date_of_birth: table([
    [digitTypo, 50],
    [dayMonthSwap, 30],
    [missing, 20],
  ]),
  soc_sec_id: NUMBER,
  email: table([
    [emailDomainChange, 35],
    [emailDomainTypo, 20],
    [emailLocalTypo, 30],
    [missing, 15],
  ]),
  phone: table([
    [digitTypo, 35],
    [transposition, 20],
    [phoneFormat, 30],
    [missing, 15],
  ]),
};

/** One corruption of a column's value, drawn from that column's table (FEBRL-like weights). */
export function corruptValue(column: string, value: string, random: SeededRandom, gazetteer: PeopleGazetteer): string {
  const t = CORRUPTIONS[column];
  return t.corruptors[random.weighted(t.cdf)](value, random, gazetteer);
}
