import type { SqlDialect } from '../storage/dialect.js';

/**
 * How each SQL dialect reads one JSON value by the rules of docs/audiences.md ("Values"), as named fragments
 * (STYLE #2): the compiler writes one query shape and asks these for the dialect-specific parts. They belong on
 * `SqlDialect`; they live here until the storage layer takes them (this slice may not change it).
 *
 * A value is bound once, as the columns of a one-row derived table aliased `v` (`bindValue`), and the predicates
 * read that alias. No fragment contains a `?` other than a placeholder, so the text runs through `rawQuery`.
 */
export interface AudienceSqlFragments {
  /**
   * Select list binding the value at `path` (object keys, never array indexes) of JSON `column`; `bind` names a
   * parameter and returns its placeholder.
   */
  bindValue(column: string, path: readonly string[], bind: (value: unknown) => string): string;
  /** A derived table of the elements of the array bound in `v` (none when it is not an array), same columns. */
  elements(v: string): string;
  /** Present: neither absent nor JSON `null`. */
  present(v: string): string;
  isString(v: string): string;
  /** The string's text (meaningful when `isString`). */
  text(v: string): string;
  isTrue(v: string): string;
  isFalse(v: string): string;
  /** A JSON number as a double, else NULL. */
  jsonNumber(v: string): string;
  /** Whether text `s` is a decimal literal (`toNumber`'s grammar). */
  isDecimal(s: string): string;
  /** Text `s`, a decimal literal, as a double: NULL where JavaScript reads it as ±Infinity, 0 where it underflows. */
  decimalToDouble(s: string): string;
  /** Whether text `s` has the shape of `toDate`'s grammar (field ranges are checked after). */
  isIsoShape(s: string): string;
  /** Whether `needle` is a substring of `haystack`. */
  containsText(haystack: string, needle: string): string;
  /** Sum of a double expression, 0 over no row. */
  sum(expr: string): string;
  /** A JSON object `{"v": expr}` of a SQL scalar (number, text or NULL), to compare like a JSON value. */
  jsonValue(expr: string): string;
  /** Suffix of an `order by` term that compares text by code point (not by the database's collation). */
  binaryCollation: string;
  /** A predicate true for each row with probability `fraction` (a Bernoulli sample), drawn anew per row. */
  sample(fraction: number, bind: (value: unknown) => string): string;
  /** A bound double, a bound 64-bit integer, a bound text. */
  doubleParam: string;
  intParam: string;
  textParam: string;
  /** 64-bit integer type of casts. */
  intType: string;
  /**
   * Suffix of a derived table's select that keeps the planner from inlining it into the outer query: PostgreSQL
   * would otherwise substitute each layer's expressions into the next and plan an expression exponential in size.
   */
  fence: string;
}

/** Digits only, and at least one (a GLOB test: SQLite has no regular expressions). */
const digits = (s: string) => `(${s} <> '' and ${s} not glob '*[^0-9]*')`;

const sqlite: AudienceSqlFragments = {
  bindValue(column, path, bind) {
    const jsonPath = `$${path.map((k) => `."${k.replace(/["\\]/g, (c) => `\\${c}`)}"`).join('')}`;
    return `json_type(${column}, ${bind(jsonPath)}) as t, json_extract(${column}, ${bind(jsonPath)}) as x`;
  },
  elements: (v) =>
    `(select type as t, value as x from json_each(case when ${v}.t = 'array' then ${v}.x else '[]' end))`,
  present: (v) => `(${v}.t is not null and ${v}.t <> 'null')`,
  isString: (v) => `${v}.t = 'text'`,
  text: (v) => `${v}.x`,
  isTrue: (v) => `${v}.t = 'true'`,
  isFalse: (v) => `${v}.t = 'false'`,
  jsonNumber: (v) => `(case when ${v}.t in ('integer', 'real') then cast(${v}.x as real) end)`,
  // Sign, then a mantissa of digits with at most one dot and at least one digit, then [eE][+-]digits.
  isDecimal: (s) =>
    `coalesce((select u <> '' and u not glob '*[^0-9.eE+-]*' and m glob '*[0-9]*' and m not glob '*[^0-9.]*'
      and length(m) - length(replace(m, '.', '')) <= 1 and (k = 0 or ${digits('xd')})
      from (select u, k, m, case when substr(x, 1, 1) in ('+', '-') then substr(x, 2) else x end as xd
        from (select u, k, case when k = 0 then u else substr(u, 1, k - 1) end as m,
            case when k = 0 then '' else substr(u, k + 1) end as x
          from (select u, case when length(u) - length(replace(replace(u, 'e', ''), 'E', '')) > 1 then -1
              else max(instr(u, 'e'), instr(u, 'E')) end as k
            from (select case when substr(${s}, 1, 1) in ('+', '-') then substr(${s}, 2) else ${s} end as u) u0) u1
          where k >= 0) u2) u3), false)`,
  // SQLite reads an overflowing literal as ±Infinity and an underflowing one as 0, as JavaScript does.
  decimalToDouble: (s) => `(case when abs(cast(${s} as real)) <= 1.7976931348623157e308 then cast(${s} as real) end)`,
  isIsoShape: (s) =>
    `coalesce((select case
        when l = 10 then q glob '${ISO_DATE_GLOB}'
        when zl = 0 then false
        when l - zl = 16 then substr(q, 1, 16) glob '${ISO_DATE_GLOB}T[0-9][0-9]:[0-9][0-9]'
        when l - zl = 19 then substr(q, 1, 19) glob '${ISO_SECONDS_GLOB}'
        when l - zl between 21 and 29 then substr(q, 1, 19) glob '${ISO_SECONDS_GLOB}' and substr(q, 20, 1) = '.'
          and ${digits('substr(q, 21, l - zl - 20)')}
        else false end
      from (select q, l, case when substr(q, l, 1) = 'Z' then 1
          when substr(q, l - 5, 6) glob '[+-][0-9][0-9]:[0-9][0-9]' then 6 else 0 end as zl
        from (select ${s} as q, length(${s}) as l) i0) i1), false)`,
  containsText: (h, n) => `instr(${h}, ${n}) > 0`,
  sum: (e) => `total(${e})`,
  jsonValue: (e) => `json_object('v', ${e})`,
  binaryCollation: '',
  // `random()` is a signed 64-bit integer (`abs` of its minimum overflows): its low 20 bits are uniform.
  sample: (fraction, bind) => `(random() & 1048575) < cast(${bind(Math.round(fraction * 1_048_576))} as integer)`,
  doubleParam: 'cast(? as real)',
  intParam: 'cast(? as integer)',
  textParam: '?',
  intType: 'integer',
  fence: '',
};

const ISO_DATE_GLOB = '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]';
const ISO_SECONDS_GLOB = `${ISO_DATE_GLOB}T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]`;

/** `toNumber`'s grammar without `?` (which would read as a placeholder) and with ASCII digits only. */
const PG_DECIMAL = '^[+-]{0,1}([0-9]+[.]{0,1}[0-9]*|[.][0-9]+)([eE][+-]{0,1}[0-9]+){0,1}$';
/** `toDate`'s grammar, likewise. */
const PG_ISO =
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9}){0,1}){0,1}(Z|[+-][0-9]{2}:[0-9]{2})){0,1}$';
/** 2^1024 − 2^970: from there up, JavaScript rounds a literal to Infinity. */
const PG_OVERFLOW = '(power(2::numeric, 1024) - power(2::numeric, 970))';
/** Up to 2^−1075, JavaScript rounds a literal to 0 (PostgreSQL would refuse it as out of range). `power` with a
 * negative exponent is rounded to a few digits, so the test multiplies by 2^1075 instead. */
const pgUnderflows = (n: string) => `abs(${n}) * power(2::numeric, 1075) <= 1`;

const postgres: AudienceSqlFragments = {
  bindValue(column, path, bind) {
    // `->` with a text key reads object members only: it never indexes an array.
    return `${column}${path.map((k) => ` -> cast(${bind(k)} as text)`).join('')} as j`;
  },
  elements: (v) =>
    `(select z.j from jsonb_array_elements(case when jsonb_typeof(${v}.j) = 'array' then ${v}.j else '[]'::jsonb end) as z(j))`,
  present: (v) => `(${v}.j is not null and jsonb_typeof(${v}.j) <> 'null')`,
  isString: (v) => `jsonb_typeof(${v}.j) = 'string'`,
  text: (v) => `(${v}.j #>> '{}')`,
  isTrue: (v) => `${v}.j = 'true'::jsonb`,
  isFalse: (v) => `${v}.j = 'false'::jsonb`,
  jsonNumber: (v) => `(case when jsonb_typeof(${v}.j) = 'number' then (${v}.j)::float8 end)`,
  isDecimal: (s) => `coalesce(${s} ~ '${PG_DECIMAL}', false)`,
  // Exponents beyond ±400 are decided without numeric (which has its own limits): a non-zero mantissa overflows or
  // underflows. Between, numeric holds the exact value.
  decimalToDouble: (s) =>
    `(select case when e > 400 then case when z then 0::float8 end when e < -400 then 0::float8
        else (select case when abs(n) >= ${PG_OVERFLOW} then null when ${pgUnderflows('n')} then 0::float8
          else n::float8 end from (select ${s}::numeric as n) d1) end
      from (select coalesce(substring(${s} from '[eE]([+-]{0,1}[0-9]+)$')::numeric, 0) as e,
        substring(${s} from '^[+-]{0,1}([0-9.]*)') !~ '[1-9]' as z) d0)`,
  isIsoShape: (s) => `coalesce(${s} ~ '${PG_ISO}', false)`,
  containsText: (h, n) => `strpos(${h}, ${n}) > 0`,
  sum: (e) => `coalesce(sum(${e}), 0)`,
  jsonValue: (e) => `jsonb_build_object('v', ${e})`,
  binaryCollation: ' collate "C"',
  sample: (fraction, bind) => `random() < cast(${bind(fraction)} as double precision)`,
  doubleParam: 'cast(? as double precision)',
  intParam: 'cast(? as bigint)',
  textParam: 'cast(? as text)',
  intType: 'bigint',
  fence: ' offset 0',
};

const FRAGMENTS: Readonly<Record<SqlDialect['name'], AudienceSqlFragments>> = { sqlite, postgres };

/** The fragments of dialect `d`. */
export function audienceSqlFragments(d: SqlDialect): AudienceSqlFragments {
  return FRAGMENTS[d.name];
}
