import { CompiledQuery, type Kysely } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { chunk } from './chunk.js';

/**
 * The pipeline's hottest statements, handed to Kysely already compiled. A `sql` template builds a node per
 * parameter and compiles the tree at every call (for a 500-row insert, thousands of nodes); here the text is
 * written once with `?` placeholders (numbered `$1, $2, …` for PostgreSQL, cached by text) and the parameters are
 * a flat array. Kysely still runs it on the transaction's connection.
 */
export async function rawQuery<R>(
  db: Kysely<Database>,
  d: SqlDialect,
  text: string,
  params: readonly unknown[],
): Promise<R[]> {
  const direct = directRunners.get(db);
  if (direct) return direct(text, params) as R[];
  const { rows } = await db.executeQuery<R>(CompiledQuery.raw(forDialect(d, text), params as unknown[]));
  return rows;
}

/** Runs one statement synchronously on a connection, with `?` placeholders; returns the rows it reads. */
export type DirectRunner = (text: string, params: readonly unknown[]) => unknown[];

const directRunners = new WeakMap<Kysely<Database>, DirectRunner>();

/**
 * Lets {@link rawQuery} run statements of transaction `tx` straight on its connection. Only for a synchronous
 * in-process driver (better-sqlite3) whose single connection the transaction holds: Kysely makes every other
 * query wait until the transaction ends, so running on the connection directly is the same as going through
 * Kysely, without the promise layers of its executor.
 */
export function runDirectlyIn(tx: Kysely<Database>, run: DirectRunner): void {
  directRunners.set(tx, run);
}

/** Whether `db`'s statements run straight on a held in-process connection (a transaction, `runDirectlyIn`). */
export function runsDirectly(db: Kysely<Database>): boolean {
  return directRunners.has(db);
}

/**
 * `head values (?, …), (?, …) tail` for each slice of `rows` that fits the dialect's parameter limit; `toParams`
 * pushes one row's `columns` values onto the array.
 */
export async function insertRows<T>(
  db: Kysely<Database>,
  d: SqlDialect,
  head: string,
  columns: number,
  rows: readonly T[],
  toParams: (row: T, out: unknown[]) => void,
  tail = '',
): Promise<void> {
  for (const part of chunk(rows, columns, d.maxParameters)) {
    const params: unknown[] = [];
    for (const r of part) toParams(r, params);
    await rawQuery(db, d, `${head} values ${rowsOf(columns, part.length)}${tail ? ` ${tail}` : ''}`, params);
  }
}

/** `?, ?, ?` for `n` values (an `in (…)` list). */
export function list(n: number): string {
  return n === 1 ? '?' : `?${', ?'.repeat(n - 1)}`;
}

const rowTexts = new Map<number, string>();
/** `(?, ?), (?, ?), (?, ?)` for `rows` rows of `columns` values (a multi-row `values` list). */
export function rowsOf(columns: number, rows: number): string {
  let one = rowTexts.get(columns);
  if (!one) {
    one = `(${list(columns)})`;
    rowTexts.set(columns, one);
  }
  return rows === 1 ? one : `${one}${`, ${one}`.repeat(rows - 1)}`;
}

const numbered = new Map<string, string>();
function forDialect(d: SqlDialect, text: string): string {
  if (d.name !== 'postgres') return text;
  let out = numbered.get(text);
  if (out === undefined) {
    let n = 0;
    // Placeholders are the only `?` in these statements (no JSON operators, no string literals with `?`).
    out = text.replace(/\?/g, () => `$${++n}`);
    if (numbered.size > 5000) numbered.clear();
    numbered.set(text, out);
  }
  return out;
}
