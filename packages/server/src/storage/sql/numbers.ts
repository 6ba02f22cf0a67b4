/** Reads a numeric column: PostgreSQL returns `bigint` and `numeric` columns as strings, SQLite as numbers. */
export const num = (v: unknown): number => Number(v);

/** {@link num}, keeping SQL `NULL` (or an absent column) as `null`. */
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
