/**
 * How the audience language reads values (docs/audiences.md, "Values"). The SQL compiler must reproduce each of
 * these rules exactly: they are kept few and narrow for that reason.
 */

/** A decimal number literal as JSON writes one, optionally signed; no spaces, no hex, no `Infinity`. */
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM[:SS[.fff…]]` with `Z` or `±HH:MM`. */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):(\d{2})))?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Absent and `null` are missing; everything else (`""`, `0`, `false`, `[]`, `{}`) is present. */
export function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/**
 * The value at a dotted path (`address.city`) of an object, walking own properties of plain objects only (never
 * into arrays, never to inherited members such as `constructor`).
 */
export function valueAt(object: Readonly<Record<string, unknown>> | null | undefined, path: string): unknown {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** A finite number, or a string holding a decimal literal, as a number; anything else (booleans too) is not one. */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || !NUMERIC.test(value)) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * An ISO 8601 string as ms since the epoch: a date is midnight UTC; a date-time needs its offset. Impossible dates
 * (`2023-02-29`, `T24:00`) and everything else (numbers included) are not dates.
 */
export function toDate(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = ISO_DATE.exec(value);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((p) => Number(p ?? 0));
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  if (month < 1 || month > 12 || day < 1 || day > monthDays || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  const offset = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  return date.getTime() - offset;
}
