/** Serialises a value for a JSON column (TEXT in SQLite, JSONB in PostgreSQL: both accept the text form). */
export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** Reads a JSON column: SQLite returns text, PostgreSQL returns the parsed value. */
export function fromJson<T = unknown>(value: unknown): T {
  if (typeof value === 'string') return JSON.parse(value) as T;
  return value as T;
}
