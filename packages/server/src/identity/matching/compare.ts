import type { MatchLevel } from '@tessera/protocol';
import { distance as levenshtein } from 'fastest-levenshtein';
import damerauLevenshtein from 'talisman/metrics/damerau-levenshtein.js';
import jaro from 'talisman/metrics/jaro.js';
import jaroWinkler from 'talisman/metrics/jaro-winkler.js';
import type { FieldColumn } from './fields.js';

/** Level 0 of every field: one side has no value (contributes no evidence). */
export const MISSING = 0;

/**
 * Compiles a field's levels into one function from a record pair to a level: 0 missing, 1…L the first configured
 * level that holds, L + 1 "else". Equal values are always level 1 when the first level is `exact`.
 */
export function compileComparator(
  col: FieldColumn,
  levels: readonly MatchLevel[],
  columns: ReadonlyMap<string, FieldColumn>,
  opts: { memo: boolean } = { memo: true },
): (i: number, j: number) => number {
  // Several levels of one field often use the same measure (Jaro-Winkler ≥ 0.9, then ≥ 0.8): it is computed once
  // per pair.
  const cache: Measures = { jw: Number.NaN, jaro: Number.NaN, lev: Number.NaN };
  const tests = levels.map((l) => levelTest(col, l, columns, cache));
  const elseLevel = levels.length + 1;
  const exactFirst = levels[0]?.type === 'exact';
  const ids = col.ids;
  const values = col.values;
  // A record pair is compared through its two distinct values: most pairs repeat a few value pairs, so the level
  // of a value pair is remembered (for fields whose levels do not look at other fields).
  const memo = !opts.memo || levels.some((l) => l.type === 'swapped') ? undefined : new Map<number, number>();
  const width = values.length + 1;
  return (i, j) => {
    const x = ids[i];
    const y = ids[j];
    if (x < 0 || y < 0) return MISSING;
    if (x === y && exactFirst) return 1;
    let key = 0;
    if (memo && width < 94_906_265) {
      key = x < y ? x * width + y : y * width + x;
      const hit = memo.get(key);
      if (hit !== undefined) return hit;
    }
    let level = elseLevel;
    cache.jw = Number.NaN;
    cache.jaro = Number.NaN;
    cache.lev = Number.NaN;
    for (let k = 0; k < tests.length; k++) {
      if (tests[k](i, j, x, y)) {
        level = k + 1;
        break;
      }
    }
    if (memo && width < 94_906_265 && memo.size < 4_000_000) memo.set(key, level);
    return level;
  };
}

type Test = (i: number, j: number, x: number, y: number) => boolean;

/** String measures of the pair being compared, computed on first use (NaN: not yet). */
interface Measures {
  jw: number;
  jaro: number;
  lev: number;
}

function levelTest(col: FieldColumn, l: MatchLevel, columns: ReadonlyMap<string, FieldColumn>, m: Measures): Test {
  const v = col.values;
  const bothPresent = (x: number, y: number) => x >= 0 && y >= 0;
  const jwOf = (x: number, y: number) => {
    if (Number.isNaN(m.jw)) m.jw = jaroWinkler(v[x], v[y]);
    return m.jw;
  };
  const jaroOf = (x: number, y: number) => {
    if (Number.isNaN(m.jaro)) m.jaro = jaro(v[x], v[y]);
    return m.jaro;
  };
  const levOf = (x: number, y: number) => {
    if (Number.isNaN(m.lev)) m.lev = levenshtein(v[x], v[y]);
    return m.lev;
  };
  switch (l.type) {
    case 'exact':
      return (_i, _j, x, y) => bothPresent(x, y) && x === y;
    case 'jaro_winkler':
      return (_i, _j, x, y) => bothPresent(x, y) && jwOf(x, y) >= l.min;
    case 'jaro':
      return (_i, _j, x, y) => bothPresent(x, y) && jaroOf(x, y) >= l.min;
    case 'levenshtein':
      return (_i, _j, x, y) =>
        bothPresent(x, y) && Math.abs(v[x].length - v[y].length) <= l.max && levOf(x, y) <= l.max;
    case 'damerau_levenshtein':
      return (_i, _j, x, y) =>
        bothPresent(x, y) &&
        Math.abs(v[x].length - v[y].length) <= l.max &&
        (l.max === 1 ? withinOneEdit(v[x], v[y]) : damerauLevenshtein.limited(l.max, v[x], v[y]) <= l.max);
    case 'levenshtein_ratio':
      return (_i, _j, x, y) => {
        if (!bothPresent(x, y)) return false;
        const longer = Math.max(v[x].length, v[y].length);
        if (Math.abs(v[x].length - v[y].length) > (1 - l.min) * longer) return false;
        return 1 - levOf(x, y) / longer >= l.min;
      };
    case 'metaphone':
      return (_i, _j, x, y) => {
        if (!bothPresent(x, y)) return false;
        const a = col.metaphone(x);
        const b = col.metaphone(y);
        return a[0] !== '' && (a[0] === b[0] || a[0] === b[1] || (a[1] !== '' && (a[1] === b[0] || a[1] === b[1])));
      };
    case 'token_set':
      return (_i, _j, x, y) => bothPresent(x, y) && jaccard(col.tokens(x), col.tokens(y)) >= l.min;
    case 'swapped': {
      const other = columns.get(l.with);
      if (!other) throw new Error(`level "swapped" names field "${l.with}", which is not a configured field`);
      const o = other.ids;
      // The two columns number their values independently: compare the values' text.
      const ov = other.values;
      return (i, j, x, y) => bothPresent(x, y) && o[i] >= 0 && o[j] >= 0 && v[x] === ov[o[j]] && v[y] === ov[o[i]];
    }
    case 'date_within':
      return (_i, _j, x, y) => {
        if (!bothPresent(x, y)) return false;
        const d = Math.abs(col.days(x) - col.days(y));
        return d <= l.days;
      };
    case 'date_swapped':
      return (_i, _j, x, y) => {
        if (!bothPresent(x, y)) return false;
        const a = v[x];
        const b = v[y];
        return (
          a.length === 8 &&
          b.length === 8 &&
          a.slice(0, 4) === b.slice(0, 4) &&
          a.slice(4, 6) === b.slice(6, 8) &&
          a.slice(6, 8) === b.slice(4, 6)
        );
      };
    case 'number_within':
      return (_i, _j, x, y) => {
        if (!bothPresent(x, y)) return false;
        const a = col.number(x);
        const b = col.number(y);
        if (Number.isNaN(a) || Number.isNaN(b)) return false;
        const diff = Math.abs(a - b);
        return (
          (l.abs === undefined || diff <= l.abs) &&
          (l.rel === undefined || diff <= l.rel * Math.max(Math.abs(a), Math.abs(b)))
        );
      };
    case 'prefix':
      return (_i, _j, x, y) =>
        bothPresent(x, y) &&
        v[x].length >= l.length &&
        v[y].length >= l.length &&
        v[x].slice(0, l.length) === v[y].slice(0, l.length);
  }
}

/**
 * Damerau-Levenshtein distance ≤ 1 (one substitution, insertion, deletion or adjacent transposition), in one pass:
 * the common case of the `damerau_levenshtein ≤ 1` level, where most pairs differ from their first characters.
 */
export function withinOneEdit(a: string, b: string): boolean {
  const la = a.length;
  const lb = b.length;
  let i = 0;
  while (i < la && i < lb && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (la === lb) {
    if (i === la) return true;
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return i + 1 < la && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  if (la === lb + 1) return a.slice(i + 1) === b.slice(i);
  if (lb === la + 1) return a.slice(i) === b.slice(i + 1);
  return false;
}

function jaccard(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      common++;
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return common / (a.length + b.length - common);
}
