import type { FieldRef } from '@tessera/protocol';

/** A conversion a field reference can ask for (`{ "type": … }` in a mapping). */
export type FieldType = NonNullable<Exclude<FieldRef, string>['type']>;

/** Result of a conversion: the converted value, or why the input could not be converted (never the value itself). */
export type Converted = { ok: true; value: unknown } | { ok: false; message: string };

const TRUE_WORDS = new Set(['true', 'yes', '1', 'y']);
const FALSE_WORDS = new Set(['false', 'no', '0', 'n']);
/** Digits with an optional `.` or `,` decimal separator and exponent; no thousands separators. */
const NUMBER_PATTERN = /^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$/;
/** Epoch seconds or milliseconds written as digits (9+ digits, i.e. after March 1973). */
const EPOCH_PATTERN = /^\d{9,}$/;
/** Below this an epoch number is read as seconds, at or above it as milliseconds (year 5138 vs March 1973). */
const EPOCH_MS_THRESHOLD = 1e11;

/**
 * Whether a value counts as missing: `undefined`, `null`, or a string that is empty after trimming.
 * A missing value takes the field's `default`; a missing identifier is omitted.
 */
export function isMissing(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * Converts a present value to `type`:
 * - `string`: strings are trimmed, numbers and booleans stringified, objects JSON-encoded;
 * - `number`: a finite number, or a string like `1234.50` / `1234,50` (comma decimal); thousands separators and
 *   other text are rejected;
 * - `boolean`: a boolean, `1` / `0`, or `true/false/yes/no/1/0/y/n` in any case;
 * - `date`: anything `Date.parse` accepts, or epoch seconds / milliseconds (numbers, or strings of 9+ digits),
 *   returned as an ISO 8601 UTC string. Strings without a zone are read in the process's time zone, as `Date.parse`
 *   does, except date-only ISO strings (`2024-03-01`), which are UTC;
 * - `json`: a string is parsed as JSON; any other value is kept.
 * Without a type, strings are trimmed and other values kept as they are.
 */
export function convertValue(value: unknown, type: FieldType | undefined): Converted {
  switch (type) {
    case undefined:
      return { ok: true, value: typeof value === 'string' ? value.trim() : value };
    case 'string':
      return toStringValue(value);
    case 'number':
      return toNumber(value);
    case 'boolean':
      return toBoolean(value);
    case 'date':
      return toDate(value);
    case 'json':
      return toJson(value);
  }
}

function toStringValue(value: unknown): Converted {
  if (typeof value === 'string') return { ok: true, value: value.trim() };
  if (typeof value === 'object' && value !== null) return { ok: true, value: JSON.stringify(value) };
  return { ok: true, value: String(value) };
}

function toNumber(value: unknown): Converted {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? { ok: true, value } : { ok: false, message: 'is not a finite number' };
  }
  if (typeof value === 'string') {
    const text = value.trim();
    if (NUMBER_PATTERN.test(text)) return { ok: true, value: Number(text.replace(',', '.')) };
  }
  return { ok: false, message: 'is not a number (expected digits with an optional "." or "," decimal separator)' };
}

function toBoolean(value: unknown): Converted {
  if (typeof value === 'boolean') return { ok: true, value };
  const word = typeof value === 'number' || typeof value === 'string' ? String(value).trim().toLowerCase() : undefined;
  if (word !== undefined && TRUE_WORDS.has(word)) return { ok: true, value: true };
  if (word !== undefined && FALSE_WORDS.has(word)) return { ok: true, value: false };
  return { ok: false, message: 'is not a boolean (expected true/false, yes/no, y/n or 1/0)' };
}

function toDate(value: unknown): Converted {
  let ms = Number.NaN;
  if (typeof value === 'number') ms = fromEpoch(value);
  else if (typeof value === 'string') {
    const text = value.trim();
    ms = EPOCH_PATTERN.test(text) ? fromEpoch(Number(text)) : Date.parse(text);
  }
  if (!Number.isFinite(ms)) return { ok: false, message: 'is not a date (expected ISO 8601 or epoch time)' };
  const date = new Date(ms);
  return Number.isNaN(date.getTime())
    ? { ok: false, message: 'is a date out of range' }
    : { ok: true, value: date.toISOString() };
}

function fromEpoch(n: number): number {
  return Math.abs(n) < EPOCH_MS_THRESHOLD ? n * 1000 : n;
}

function toJson(value: unknown): Converted {
  if (typeof value !== 'string') return { ok: true, value };
  try {
    return { ok: true, value: JSON.parse(value) };
  } catch {
    return { ok: false, message: 'is not valid JSON' };
  }
}
