/**
 * Serialises a value for a JSON column (TEXT in SQLite, JSONB in PostgreSQL: both accept the text form).
 * U+0000 inside strings becomes U+FFFD in both dialects: PostgreSQL's jsonb cannot hold it, and both adapters must
 * store the same thing. The raw payload in the ingest log keeps the original.
 */
export function toJson(value: unknown): string {
  const text = JSON.stringify(value ?? null);
  return text.includes('\\u0000') ? text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : text;
}

/** Reads a JSON column: SQLite returns text, PostgreSQL returns the parsed value. */
export function fromJson<T = unknown>(value: unknown): T {
  if (typeof value === 'string') return JSON.parse(value) as T;
  return value as T;
}
