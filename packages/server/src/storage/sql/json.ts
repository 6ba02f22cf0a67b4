/**
 * Serialises a value for a JSON column (TEXT in SQLite, JSONB in PostgreSQL: both accept the text form).
 * U+0000 and lone surrogates inside strings become U+FFFD in both dialects: PostgreSQL's jsonb cannot hold them, and
 * both adapters must store the same thing. The raw payload in the ingest log keeps the original.
 */
export function toJson(value: unknown): string {
  const text = JSON.stringify(value ?? null);
  // JSON.stringify escapes U+0000 as \u0000 and a lone UTF-16 surrogate (an emoji cut in half) as \udXXX; paired
  // surrogates stay raw characters. jsonb refuses both escapes, so both become U+FFFD (an even run of backslashes
  // before the `u` means the backslash itself was escaped, and the text is not an escape).
  return text.includes('\\u') ? text.replace(/(?<!\\)((?:\\\\)*)\\u(0000|d[89a-f][0-9a-f]{2})/gi, '$1\\ufffd') : text;
}

/** Reads a JSON column: SQLite returns text, PostgreSQL returns the parsed value. */
export function fromJson<T = unknown>(value: unknown): T {
  if (typeof value === 'string') return JSON.parse(value) as T;
  return value as T;
}
