import { TesseraError } from '../errors.js';

/** `?limit=` (default 50, max 1000) as DESIGN §9 says. */
export function parseLimit(raw: unknown): number {
  if (raw === undefined || raw === '') return 50;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new TesseraError('invalid_request', 'limit must be an integer from 1 to 1000');
  return n;
}

/** Opaque cursors: base64url JSON. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Decodes a cursor made by `encodeCursor` and checks its shape with `isValid`; 400 when either fails. */
export function decodeCursor<T>(raw: unknown, isValid: (v: unknown) => v is T): T | undefined {
  if (raw === undefined || raw === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(String(raw), 'base64url').toString('utf8'));
  } catch {
    throw new TesseraError('invalid_request', 'cursor is not valid');
  }
  if (!isValid(value)) throw new TesseraError('invalid_request', 'cursor is not valid');
  return value;
}

/** Cursor of lists ordered by id. */
export const isIdCursor = (v: unknown): v is string => typeof v === 'string' && v.length <= 64;

/** Cursor of lists ordered by (timestamp, id), newest first. */
export const isTimeCursor = (v: unknown): v is { timestamp: number; id: string } =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as { timestamp?: unknown }).timestamp) &&
  isIdCursor((v as { id?: unknown }).id);

/** The range of a JavaScript date: a time outside it cannot be answered. */
const MAX_TIME = 8.64e15;

/** An ISO 8601 or epoch-ms query parameter, or 400 naming it. */
export function parseTime(name: string, raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const s = String(raw);
  const n = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(n) || Math.abs(n) > MAX_TIME)
    throw new TesseraError('invalid_request', `${name} must be an ISO 8601 date or epoch milliseconds`);
  return n;
}

/**
 * One page of a list read with `limit + 1` rows: the first `limit` rows, mapped, and the cursor after the last one
 * when there are more.
 */
export function toPage<R, T>(rows: readonly R[], limit: number, map: (row: R) => T, cursorOf: (row: R) => unknown) {
  const page = rows.slice(0, limit);
  return {
    items: page.map(map),
    nextCursor: rows.length > limit ? encodeCursor(cursorOf(page[page.length - 1])) : null,
  };
}
