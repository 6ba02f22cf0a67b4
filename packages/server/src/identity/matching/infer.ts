import type { BlockingKey, FieldKind, MatchConfig, MatchField, MatchLevel } from '@tessera/protocol';
import { TesseraError } from '../../errors.js';
import { blockingKeys } from './blocking.js';
import { DEFAULT_LEVELS, FieldColumn, normaliseDate, type ResolvedConfig } from './fields.js';
import type { MatchRecord } from './types.js';

/** Column-name patterns, tried in order: the first that matches gives the kind. */
const NAME_PATTERNS: [RegExp, FieldKind][] = [
  [/e-?mail|courriel/i, 'email'],
  [/phone|mobile|tel(?!l)|fax|cell|gsm/i, 'phone'],
  [/post_?code|zip|postal|plz/i, 'postcode'],
  [/birth|dob|born|date|_at$|_on$/i, 'date'],
  [/(^|_)(id|ssn|nin|no|num)$|_id|number|soc_?sec|passport|licen[cs]e|account|card|tax|iban/i, 'id'],
  [/address|street|addr|road|line_?\d/i, 'address'],
  [/city|suburb|town|locality|municipality|county|district|ville/i, 'text'],
  [/state|country|region|province|gender|sex|title|status|type|category/i, 'category'],
  [/name|first|last|given|forename|middle|nom|vorname/i, 'name'],
];

const GIVEN = /given|first|forename|prenom|vorname/i;
const ADDRESS_PART = /city|suburb|town|locality|municipality|county|district|ville|state|province|region|country/i;
const FAMILY = /surname|last|family|nom$|nachname/i;

/**
 * `--config auto`: field kinds from column names, checked against the values (a column named like a date whose
 * values are not dates is not compared as one), then from the values alone. Constant or empty columns are left out;
 * swapped given / family names get a level; blocking rules are inferred by `inferBlocking`.
 */
export function inferConfig(records: readonly MatchRecord[]): MatchConfig {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const r of records.slice(0, 1000)) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
  }
  const fields: MatchField[] = [];
  for (const name of columns) {
    const sample: string[] = [];
    for (let i = 0; i < records.length && sample.length < 5000; i++) {
      const v = records[i][name];
      if (typeof v === 'string' && v.trim() !== '') sample.push(v.trim().toLowerCase());
    }
    if (sample.length < Math.max(2, records.length * 0.05)) continue;
    const distinct = new Set(sample).size;
    if (distinct < 2) continue;
    fields.push({ name, kind: inferKind(name, sample, distinct) });
  }
  // The parts of an address vary together: one group, so that a household (same address, another person) is not
  // counted four times over.
  const address = fields.filter(
    (f) =>
      f.kind === 'address' ||
      f.kind === 'postcode' ||
      ((f.kind === 'text' || f.kind === 'category') && ADDRESS_PART.test(f.name.slice(f.name.lastIndexOf('.') + 1))),
  );
  if (address.length > 1) for (const f of address) f.group = 'address';
  // At most 31 fields (one bit each in EM's patterns): the most telling kinds first.
  if (fields.length > 31) {
    const order: FieldKind[] = [
      'email',
      'phone',
      'id',
      'name',
      'date',
      'postcode',
      'address',
      'text',
      'number',
      'category',
    ];
    fields.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
    fields.length = 31;
  }
  const given = fields.find((f) => f.kind === 'name' && GIVEN.test(f.name));
  const family = fields.find((f) => f.kind === 'name' && f !== given && FAMILY.test(f.name));
  if (given && family) {
    given.levels = withSwapped(family.name);
    family.levels = withSwapped(given.name);
  }
  return { fields };
}

function withSwapped(other: string): MatchLevel[] {
  const [exact, ...rest] = DEFAULT_LEVELS.name;
  return [exact, { type: 'swapped', with: other }, ...rest];
}

function inferKind(name: string, sample: readonly string[], distinct: number): FieldKind {
  const share = (test: (v: string) => boolean) => sample.filter(test).length / sample.length;
  const isDate = (v: string) => /^\d{8}$|^\d{4}-\d{2}-\d{2}|^\d{1,2}[/.]\d{1,2}[/.]\d{4}$/.test(v) && validDate(v);
  const digits = share((v) => /^[\d\s+().-]+$/.test(v));
  // A nested trait (`address.city`) is named by its last part.
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  for (const [pattern, kind] of NAME_PATTERNS) {
    if (!pattern.test(leaf)) continue;
    if (kind === 'date' && share(isDate) < 0.8) continue;
    if (kind === 'email' && share((v) => v.includes('@')) < 0.5) continue;
    if ((kind === 'phone' || kind === 'postcode') && digits < 0.5) continue;
    return kind;
  }
  if (share((v) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v)) >= 0.8) return 'email';
  if (share(isDate) >= 0.9) return 'date';
  const cardinality = distinct / sample.length;
  if (digits >= 0.9) {
    if (share((v) => /^-?\d+(\.\d+)?$/.test(v)) >= 0.9 && cardinality < 0.5)
      return distinct < 30 ? 'category' : 'number';
    return 'id';
  }
  if (distinct < 30 || cardinality < 0.01) return 'category';
  return share((v) => v.includes(' ')) > 0.5 ? 'address' : 'name';
}

function validDate(v: string): boolean {
  const d = normaliseDate(v);
  if (d.length !== 8) return false;
  const m = Number(d.slice(4, 6));
  const day = Number(d.slice(6, 8));
  return m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

/**
 * Blocking rules for a configuration that gives none. Each field proposes its key (phonetic code for names, the
 * value otherwise); a key producing more pairs than the budget is narrowed by the field that keeps the most pairs
 * within it. Every field is thus the basis of one rule, so a typo in any one field leaves other rules to find the
 * pair.
 */
export function inferBlocking(
  config: ResolvedConfig,
  records: readonly MatchRecord[],
  side?: Uint8Array,
): BlockingKey[][] {
  const n = records.length;
  const budget = Math.max(50_000, 10 * n);
  const columns = new Map<string, FieldColumn>();
  for (const f of config.fields) columns.set(f.name, new FieldColumn(f, records));
  const column = (name: string) => columns.get(name) as FieldColumn;
  const keyOf = (f: ResolvedConfig['fields'][number]): BlockingKey =>
    f.kind === 'name' ? { field: f.name, transform: 'metaphone' } : { field: f.name };
  const pairsOf = (rule: BlockingKey[]) => {
    const { ids, names } = blockingKeys([rule], column, n);
    const counts = [new Float64Array(names[0].length), new Float64Array(names[0].length)];
    for (let i = 0; i < n; i++) if (ids[0][i] >= 0) counts[side ? side[i] : 0][ids[0][i]]++;
    let pairs = 0;
    for (let k = 0; k < names[0].length; k++)
      pairs += side ? counts[0][k] * counts[1][k] : (counts[0][k] * (counts[0][k] - 1)) / 2;
    return pairs;
  };
  const rules: BlockingKey[][] = [];
  const seen = new Set<string>();
  const add = (rule: BlockingKey[]) => {
    const id = rule
      .map((k) => `${k.field}:${k.transform ?? 'exact'}`)
      .sort()
      .join('+');
    if (!seen.has(id)) {
      seen.add(id);
      rules.push(rule);
    }
  };
  const unique: BlockingKey[][] = [];
  for (const f of config.fields) {
    const base = keyOf(f);
    const pairs = pairsOf([base]);
    if (pairs === 0) {
      unique.push([base]);
      continue;
    }
    if (pairs <= budget) {
      add([base]);
      continue;
    }
    let best: { rule: BlockingKey[]; pairs: number } | undefined;
    for (const g of config.fields) {
      if (g === f) continue;
      const rule = [base, keyOf(g)];
      const p = pairsOf(rule);
      if (p > 0 && p <= budget && (!best || p > best.pairs)) best = { rule, pairs: p };
    }
    if (best) add(best.rule);
  }
  // Every key unique (a small set): there is no pair to compare, which the first key says as well as any.
  if (rules.length === 0 && unique.length > 0) return unique.slice(0, 1);
  if (rules.length === 0)
    throw new TesseraError(
      'invalid_request',
      `no blocking rule inferred from the fields keeps the pairs under ${budget.toLocaleString('en-US')}: give blocking rules in the configuration`,
    );
  return rules.slice(0, 32);
}
