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

export function decodeCursor<T>(raw: unknown): T | undefined {
  if (raw === undefined || raw === '') return undefined;
  try {
    return JSON.parse(Buffer.from(String(raw), 'base64url').toString('utf8')) as T;
  } catch {
    throw new TesseraError('invalid_request', 'cursor is not valid');
  }
}

/** An ISO 8601 or epoch-ms query parameter, or 400 naming it. */
export function parseTime(name: string, raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const s = String(raw);
  const n = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(n))
    throw new TesseraError('invalid_request', `${name} must be an ISO 8601 date or epoch milliseconds`);
  return n;
}
