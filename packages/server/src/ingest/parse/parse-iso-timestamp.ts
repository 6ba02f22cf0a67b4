/**
 * ISO 8601 / RFC 3339 date-times in extended format: `2024-03-01`, `2024-03-01T12:30Z`, `2024-03-01T12:30:05.123Z`,
 * `2024-03-01 12:30:05+01:00`, `…+0100`, `…+01`. `T` and `Z` may be lower case; fractions may use `,`.
 */
const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** 400 years of the Gregorian calendar: 146,097 days. */
const GREGORIAN_CYCLE_MS = 146_097 * 86_400_000;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Parses an ISO 8601 timestamp to epoch milliseconds, or `null` when `text` is not one (or names an impossible date
 * such as February 30th). Stricter than `Date.parse`, which also takes free-form dates like `March 7, 2024`.
 * A time without a zone is read as UTC (the server's zone must not change what an event means); a date alone is
 * midnight UTC. Fractions of a millisecond are truncated; a leap second (`:60`) is read as the next second.
 */
export function parseIsoTimestamp(text: string): number | null {
  if (text.length === 24) {
    const fast = parseCanonical(text);
    if (fast !== undefined) return fast;
  }
  const match = ISO_PATTERN.exec(text);
  if (!match) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone = 'Z'] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]) return null;
  if (month === 2 && day === 29 && !isLeapYear(year)) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  const millis = Number(fraction.slice(0, 3).padEnd(3, '0'));
  const offset = zoneOffsetMinutes(zone);
  if (offset === null) return null;
  // Date.UTC maps years 0–99 to 1900–1999: compute 400 years (one Gregorian cycle) later and step back.
  const utc = Date.UTC(year + 400, month - 1, day, hour, minute, second, millis) - GREGORIAN_CYCLE_MS;
  return utc - offset * 60_000;
}

/** `0`…`9` → 0…9, anything else → NaN (char codes read as digits without a substring each). */
function digitAt(text: string, i: number): number {
  const c = text.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : Number.NaN;
}

/**
 * `toISOString`'s own form, `2024-03-01T12:30:05.123Z`, which SDKs send: read digit by digit (no regular expression,
 * no substrings). `undefined` when `text` is not exactly that form (the general parser decides), `null` when it is
 * that form with an impossible date or time.
 */
function parseCanonical(text: string): number | null | undefined {
  if (!hasCanonicalSeparators(text)) return undefined;
  const year = digitAt(text, 0) * 1000 + digitAt(text, 1) * 100 + digitAt(text, 2) * 10 + digitAt(text, 3);
  const month = digitAt(text, 5) * 10 + digitAt(text, 6);
  const day = digitAt(text, 8) * 10 + digitAt(text, 9);
  const hour = digitAt(text, 11) * 10 + digitAt(text, 12);
  const minute = digitAt(text, 14) * 10 + digitAt(text, 15);
  const second = digitAt(text, 17) * 10 + digitAt(text, 18);
  const millis = digitAt(text, 20) * 100 + digitAt(text, 21) * 10 + digitAt(text, 22);
  // A non-digit anywhere makes the sum NaN.
  if (Number.isNaN(year + month + day + hour + minute + second + millis)) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]) return null;
  if (month === 2 && day === 29 && !isLeapYear(year)) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  return Date.UTC(year + 400, month - 1, day, hour, minute, second, millis) - GREGORIAN_CYCLE_MS;
}

/** `-`, `-`, `T`, `:`, `:`, `.` and `Z` where `toISOString`'s form has them (its digits not checked). */
function hasCanonicalSeparators(text: string): boolean {
  return (
    text.charCodeAt(4) === 45 && // -
    text.charCodeAt(7) === 45 &&
    text.charCodeAt(10) === 84 && // T
    text.charCodeAt(13) === 58 && // :
    text.charCodeAt(16) === 58 &&
    text.charCodeAt(19) === 46 && // .
    text.charCodeAt(23) === 90 // Z
  );
}

/** The positions of `toISOString`'s form that hold a digit: `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
const CANONICAL_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];

/**
 * Whether `text` is exactly `toISOString`'s form with a second below 60 (`2024-03-01T12:30:05.123Z`): a timestamp
 * that reads back to itself, so it need not be formatted again. Read character by character.
 */
export function isCanonicalIso(text: string): boolean {
  // The seconds' tens: 0 to 5 (a leap second reads as the next one).
  if (text.length !== 24 || !hasCanonicalSeparators(text) || text.charCodeAt(17) > 53) return false;
  for (const i of CANONICAL_DIGITS) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Minutes east of UTC for `Z`, `±hh`, `±hhmm` or `±hh:mm`; `null` when out of range. */
function zoneOffsetMinutes(zone: string): number | null {
  if (zone === 'Z' || zone === 'z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 23 || minutes > 59) return null;
  return sign * (hours * 60 + minutes);
}
