import type { FieldKind, MatchConfig, MatchField, MatchLevel } from '@tessera/protocol';
import { doubleMetaphone } from 'double-metaphone';
import type { MatchRecord } from './types.js';

/** Default agreement levels per kind, best first ("else" and "missing" are implicit). */
export const DEFAULT_LEVELS: Record<FieldKind, MatchLevel[]> = {
  name: [
    { type: 'exact' },
    { type: 'damerau_levenshtein', max: 1 },
    { type: 'jaro_winkler', min: 0.9 },
    { type: 'metaphone' },
    { type: 'jaro_winkler', min: 0.8 },
  ],
  text: [
    { type: 'exact' },
    { type: 'damerau_levenshtein', max: 1 },
    { type: 'levenshtein_ratio', min: 0.8 },
    { type: 'token_set', min: 0.5 },
  ],
  address: [
    { type: 'exact' },
    { type: 'damerau_levenshtein', max: 1 },
    { type: 'levenshtein_ratio', min: 0.8 },
    { type: 'token_set', min: 0.5 },
    { type: 'levenshtein_ratio', min: 0.6 },
  ],
  date: [
    { type: 'exact' },
    { type: 'damerau_levenshtein', max: 1 },
    { type: 'date_swapped' },
    { type: 'date_within', days: 366 },
  ],
  number: [{ type: 'exact' }, { type: 'number_within', rel: 0.01 }, { type: 'number_within', rel: 0.1 }],
  id: [{ type: 'exact' }, { type: 'damerau_levenshtein', max: 1 }, { type: 'levenshtein', max: 2 }],
  email: [{ type: 'exact' }, { type: 'damerau_levenshtein', max: 1 }, { type: 'jaro_winkler', min: 0.88 }],
  phone: [{ type: 'exact' }, { type: 'damerau_levenshtein', max: 1 }, { type: 'levenshtein', max: 2 }],
  postcode: [{ type: 'exact' }, { type: 'damerau_levenshtein', max: 1 }],
  category: [{ type: 'exact' }],
};

const TF_KINDS = new Set<FieldKind>(['name', 'text', 'address', 'postcode', 'category']);

/** A field with its defaults filled in. */
export interface ResolvedField {
  name: string;
  kind: FieldKind;
  levels: MatchLevel[];
  tf: boolean;
  group?: string;
}

export interface ResolvedConfig {
  fields: ResolvedField[];
  blocking: NonNullable<MatchConfig['blocking']>;
  thresholds: { autoMerge: number; review: number };
  maxBlockSize: number;
  clustering: { maxClusterSize: number; minLinkProbability: number };
  em: { maxIterations: number; uSampleSize: number; seed: number };
}

export function resolveField(f: MatchField): ResolvedField {
  return {
    name: f.name,
    kind: f.kind,
    levels: f.levels ?? DEFAULT_LEVELS[f.kind],
    tf: f.tf ?? TF_KINDS.has(f.kind),
    ...(f.group ? { group: f.group } : {}),
  };
}

/**
 * Adds up per-field log2 weights, counting each group of fields that vary together (`group`) as one piece of
 * evidence: its strongest agreement plus its strongest disagreement. `groupOf[f]` is the group index of field f, or -1.
 */
export function combineWeights(
  weights: ArrayLike<number>,
  groupOf: Int32Array,
  groups: number,
  out?: Float64Array,
): number {
  let total = 0;
  if (groups === 0) {
    for (let f = 0; f < weights.length; f++) total += weights[f];
    return total;
  }
  const best = out ?? new Float64Array(groups * 2);
  best.fill(0);
  for (let f = 0; f < weights.length; f++) {
    const g = groupOf[f];
    const w = weights[f];
    if (g < 0) total += w;
    else if (w > best[2 * g]) best[2 * g] = w;
    else if (w < best[2 * g + 1]) best[2 * g + 1] = w;
  }
  for (let k = 0; k < best.length; k++) total += best[k];
  return total;
}

/** Group index per field (-1: none) and the number of groups. */
export function groupIndex(fields: readonly { group?: string }[]): { groupOf: Int32Array; groups: number } {
  const names: string[] = [];
  const groupOf = Int32Array.from(fields, (f) => {
    if (!f.group) return -1;
    let g = names.indexOf(f.group);
    if (g < 0) g = names.push(f.group) - 1;
    return g;
  });
  return { groupOf, groups: names.length };
}

export function levelLabel(l: MatchLevel): string {
  switch (l.type) {
    case 'jaro_winkler':
    case 'jaro':
    case 'levenshtein_ratio':
    case 'token_set':
      return `${l.type}>=${l.min}`;
    case 'levenshtein':
    case 'damerau_levenshtein':
      return `${l.type}<=${l.max}`;
    case 'date_within':
      return `date_within<=${l.days}d`;
    case 'number_within':
      return `number_within${l.abs !== undefined ? ` abs<=${l.abs}` : ''}${l.rel !== undefined ? ` rel<=${l.rel}` : ''}`;
    case 'prefix':
      return `prefix${l.length}`;
    case 'swapped':
      return `swapped_with_${l.with}`;
    default:
      return l.type;
  }
}

/**
 * One field's values, normalised, with each distinct value numbered (`ids[i]`, -1 when missing) so that exact
 * agreement is an integer comparison, term frequencies are counts, and expensive derived forms (phonetic codes, word
 * sets, day numbers) are computed once per distinct value.
 */
export class FieldColumn {
  readonly ids: Int32Array;
  readonly values: string[] = [];
  readonly counts: number[] = [];
  readonly present: number;
  #metaphone?: [string, string][];
  #tokens?: string[][];
  #days?: Float64Array;
  #numbers?: Float64Array;

  constructor(
    readonly field: ResolvedField,
    records: readonly MatchRecord[],
  ) {
    const n = records.length;
    this.ids = new Int32Array(n);
    const index = new Map<string, number>();
    let present = 0;
    const name = field.name;
    const kind = field.kind;
    for (let i = 0; i < n; i++) {
      const raw = records[i][name];
      const v = raw === null || raw === undefined ? '' : normaliseValue(kind, raw);
      if (v === '') {
        this.ids[i] = -1;
        continue;
      }
      present++;
      let id = index.get(v);
      if (id === undefined) {
        id = this.values.length;
        index.set(v, id);
        this.values.push(v);
        this.counts.push(0);
      }
      this.counts[id]++;
      this.ids[i] = id;
    }
    this.present = present;
  }

  value(i: number): string | null {
    const id = this.ids[i];
    return id < 0 ? null : this.values[id];
  }

  /** Share of present values equal to this one (term frequency), at least 1 / present. */
  tf(id: number): number {
    return this.counts[id] / Math.max(1, this.present);
  }

  metaphone(id: number): [string, string] {
    if (!this.#metaphone) this.#metaphone = new Array(this.values.length);
    let m = this.#metaphone[id];
    if (!m) {
      m = doubleMetaphone(this.values[id]);
      this.#metaphone[id] = m;
    }
    return m;
  }

  tokens(id: number): string[] {
    if (!this.#tokens) this.#tokens = new Array(this.values.length);
    let t = this.#tokens[id];
    if (!t) {
      t = [...new Set(this.values[id].split(/[\s,.;/-]+/).filter((w) => w !== ''))].sort();
      this.#tokens[id] = t;
    }
    return t;
  }

  /** Days since 1970 of a date value, NaN when it is not a date. */
  days(id: number): number {
    if (!this.#days) this.#days = new Float64Array(this.values.length).fill(Number.POSITIVE_INFINITY);
    let d = this.#days[id];
    if (d === Number.POSITIVE_INFINITY) {
      d = dayNumber(this.values[id]);
      this.#days[id] = d;
    }
    return d;
  }

  number(id: number): number {
    if (!this.#numbers) this.#numbers = new Float64Array(this.values.length).fill(Number.POSITIVE_INFINITY);
    let x = this.#numbers[id];
    if (x === Number.POSITIVE_INFINITY) {
      x = Number(this.values[id].replace(/[\s,]/g, ''));
      this.#numbers[id] = x;
    }
    return x;
  }
}

/** The form a value is compared in: case, spacing and punctuation noise removed by kind. */
export function normaliseValue(kind: FieldKind, raw: string): string {
  const s = raw.trim().toLowerCase();
  if (s === '') return '';
  switch (kind) {
    case 'phone': {
      // The last nine digits: "+61 412 345 678", "0061412345678" and "0412 345 678" are one number; prefixes
      // (country code, trunk 0) vary with who typed it, the subscriber part does not.
      const digits = s.replace(/[^0-9]/g, '');
      return digits.length > 9 ? digits.slice(-9) : digits;
    }
    case 'postcode':
      return s.replace(/[^0-9a-z]/g, '');
    case 'id':
      return s.replace(/[^0-9a-z]/g, '');
    case 'email':
      return s.replace(/\s+/g, '');
    case 'date':
      return normaliseDate(s);
    case 'number':
      return s.replace(/[\s,]/g, '');
    default:
      return s.replace(/\s+/g, ' ');
  }
}

/** Dates to `YYYYMMDD` when recognisable (YYYYMMDD, YYYY-MM-DD[T…], DD/MM/YYYY, DD.MM.YYYY); otherwise the digits. */
export function normaliseDate(s: string): string {
  let m = /^(\d{4})-?(\d{2})-?(\d{2})(?:$|[t\s])/.exec(s);
  if (m) return `${m[1]}${m[2]}${m[3]}`;
  m = /^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$/.exec(s);
  if (m) return `${m[3]}${m[2].padStart(2, '0')}${m[1].padStart(2, '0')}`;
  return s.replace(/[^0-9]/g, '');
}

function dayNumber(v: string): number {
  if (v.length !== 8) return Number.NaN;
  const y = Number(v.slice(0, 4));
  const mo = Number(v.slice(4, 6));
  const d = Number(v.slice(6, 8));
  if (!(mo >= 1 && mo <= 12 && d >= 1 && d <= 31)) return Number.NaN;
  return Date.UTC(y, mo - 1, d) / 86_400_000;
}
