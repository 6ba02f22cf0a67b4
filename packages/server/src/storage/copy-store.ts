import { existsSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type Kysely, sql } from 'kysely';
import { TesseraError } from '../errors.js';
import { COPIED_TABLES, type CopiedTable } from './copied-tables.js';
import type { SqlDialect } from './dialect.js';
import { createMonthlyPartitions, migrateToLatest } from './migrate.js';
import type { Database, TableName } from './schema.js';
import { toJson } from './sql/json.js';
import { PROCESSED_COLUMNS } from './sql/processed-store.js';
import { logFileOf } from './sqlite/create-sqlite-storage.js';

/** Where `copyEmbeddedStore` writes: a PostgreSQL database (`db` alone), or any `SqlDialect`'s store. */
export interface CopyTarget {
  /** The target's main database: every table in PostgreSQL. */
  readonly db: Kysely<Database>;
  /** Its ingest-log database when that is a database of its own (SQLite's `tessera-log.db`); default `db`. */
  readonly logDb?: Kysely<Database>;
  readonly dialect: SqlDialect;
}

export interface CopyOptions {
  /** The embedded store's main file, `<data dir>/tessera.db`; its log file (`tessera-log.db`) is beside it. */
  readonly from: string;
  readonly to: CopyTarget;
  /** Delete the target's rows first, in the copy's transaction, instead of refusing a non-empty target. */
  readonly replace?: boolean;
  /** Rows per read and per insert, lowered to fit the target's bound-parameter limit. Default 2,000. */
  readonly chunkRows?: number;
  /** Called before each table and after each chunk. */
  readonly onProgress?: (progress: CopyProgress) => void;
  /** The clock of the target's migration (its current monthly partitions). */
  readonly now?: Date;
}

export interface CopyProgress {
  readonly table: TableName;
  /** Rows of `table` copied so far, and its row count in the source. */
  readonly copied: number;
  readonly total: number;
  /** Rows of every table copied so far, and the source's total. */
  readonly done: number;
  readonly all: number;
}

export interface CopyResult {
  /**
   * Row count per table in the source and, inside the copy's transaction, in the target: always equal. Counted
   * before the recent de-dup keys are folded (`foldedKeys`).
   */
  readonly tables: readonly { table: TableName; source: number; target: number }[];
  readonly rows: number;
  /** Each generated key's counter on the target: the next value generated is above `atLeast`. */
  readonly sequences: readonly { table: TableName; column: string; atLeast: number }[];
  /** Migrations applied to the target before the copy. */
  readonly migrated: readonly string[];
  /** Tables whose rows `replace` deleted. */
  readonly replaced: readonly TableName[];
  /**
   * De-dup keys of the recent level moved into `processed_messages` after the verified copy, on a target of several
   * writers (PostgreSQL), which reads that table only (`sql/processed-store.ts`); 0 on a single-writer target.
   */
  readonly foldedKeys: number;
}

type SourceDb = BetterSqlite3.Database;
interface Source {
  readonly main: SourceDb;
  readonly log: SourceDb;
}

/**
 * Copies an embedded store (the two SQLite files of a data directory) into another store, PostgreSQL for
 * `tessera copy` (DESIGN §2: embedded → cluster). It
 *
 * 1. migrates the target with the same migrations and checks that the source records the same ones;
 * 2. refuses a target that holds any row (`conflict`, naming the tables), unless `replace`;
 * 3. creates the target's monthly partitions for every month of the source's `ingest_log` and `events`;
 * 4. in one target transaction, reading each source file in one read transaction (a snapshot): copies every table
 *    (`COPIED_TABLES`, consumer offsets and de-dup keys included, so the pipeline neither reprocesses nor
 *    duplicates) in primary-key order, by keyset pages of `chunkRows`, one multi-row insert per page; moves each
 *    generated key's counter above the copied keys and the consumers' offsets (`SqlDialect.sequenceAtLeast`); and
 *    counts every table on both sides;
 * 5. on a target of several writers (PostgreSQL), moves the recent de-dup keys into `processed_messages`, the one
 *    table its look-ups read (`foldRecentKeys`).
 *
 * Nothing is committed to the target unless every count matches and the source did not change meanwhile: SQLite's
 * `data_version` of both files is compared before and after, so a write by any other process (a server, an
 * import) fails the copy (`conflict`) instead of leaving it behind. The caller refuses a data directory whose lock
 * names a live server. Values keep their representation (UUID text, epoch-ms integers, 0 / 1 booleans, JSON text
 * for JSONB), with two conversions: 64-bit integers are read exactly (`safeIntegers`), and a JSON document that
 * still holds an escaped U+0000 or lone surrogate, which JSONB refuses, is rewritten by `toJson` as the adapters
 * write it today.
 *
 * @throws TesseraError `not_found` when a source file is missing; `conflict` for a non-empty target, a schema
 * mismatch or a source written during the copy; `internal` when an insert fails or the counts differ.
 */
export async function copyEmbeddedStore(opts: CopyOptions): Promise<CopyResult> {
  const dir = path.dirname(opts.from);
  for (const file of [opts.from, logFileOf(opts.from)])
    if (!existsSync(file))
      throw new TesseraError('not_found', `no embedded store in ${dir}: ${path.basename(file)} is missing`);
  const source: Source = { main: openSource(opts.from), log: openSource(logFileOf(opts.from)) };
  try {
    return await copyInto(source, dir, opts);
  } finally {
    source.main.close();
    source.log.close();
  }
}

async function copyInto(source: Source, dir: string, opts: CopyOptions): Promise<CopyResult> {
  const d = opts.to.dialect;
  const main = opts.to.db;
  const log = opts.to.logDb ?? main;
  const migrated =
    log === main
      ? await migrateToLatest(main, d, 'all', opts.now)
      : [...(await migrateToLatest(log, d, 'log', opts.now)), ...(await migrateToLatest(main, d, 'main', opts.now))];
  await checkMigrations(source, main, log, dir);
  const layouts = new Map(COPIED_TABLES.map((t) => [t.name, layoutOf(source[t.file], t)]));

  const nonEmpty: TableName[] = [];
  for (const t of COPIED_TABLES) if (await hasRows(t.file === 'log' ? log : main, t.name)) nonEmpty.push(t.name);
  if (nonEmpty.length > 0 && !opts.replace)
    throw new TesseraError(
      'conflict',
      `the target is not empty: ${nonEmpty.join(', ')} ${nonEmpty.length === 1 ? 'has' : 'have'} rows. Copy into an empty database (or schema), or replace its rows (--replace)`,
      { details: { tables: nonEmpty } },
    );
  for (const month of sourceMonths(source)) await createMonthlyPartitions(main, d, month, 0, 0);

  const before = dataVersions(source);
  return inTransaction(main, log, async (tm, tl) => {
    const target = (t: CopiedTable) => (t.file === 'log' ? tl : tm);
    // Appends of a server already using the target wait for the copy (PostgreSQL's advisory lock).
    if (d.serialiseAppendsSql) await sql.raw(d.serialiseAppendsSql).execute(tl);
    if (opts.replace) for (const t of nonEmpty) await sql`delete from ${sql.table(t)}`.execute(target(table(t)));

    const counts = new Map<TableName, number>();
    const sequences: { table: TableName; column: string; atLeast: number }[] = [];
    source.main.exec('begin');
    source.log.exec('begin');
    try {
      // The main snapshot first: the log is append-only, so a later log snapshot holds every position it names.
      scalar(source.main, 'select count(*) from sqlite_master');
      scalar(source.log, 'select count(*) from sqlite_master');
      for (const t of COPIED_TABLES)
        counts.set(t.name, num(scalar(source[t.file], `select count(*) from ${q(t.name)}`)));
      const all = [...counts.values()].reduce((a, b) => a + b, 0);
      let done = 0;
      for (const t of COPIED_TABLES) {
        const total = counts.get(t.name) ?? 0;
        const start = done;
        const progress = (copied: number) =>
          opts.onProgress?.({ table: t.name, copied, total, done: start + copied, all });
        progress(0);
        done += await copyTable(source[t.file], target(t), d, t, layouts.get(t.name) as Layout, opts, progress);
      }
      for (const t of COPIED_TABLES) if (t.serial) sequences.push(serialFloor(source, t));
    } finally {
      source.main.exec('commit');
      source.log.exec('commit');
    }
    if (dataVersions(source) !== before)
      throw new TesseraError(
        'conflict',
        `${dir} changed during the copy: another process wrote to it. Stop it and copy again; nothing was committed to the target`,
      );
    for (const s of sequences) {
      if (s.atLeast === 0) continue;
      for (const statement of d.sequenceAtLeast(s.table, s.column, s.atLeast))
        await sql.raw(statement).execute(target(table(s.table)));
    }
    const tables: { table: TableName; source: number; target: number }[] = [];
    for (const t of COPIED_TABLES) {
      const { rows } = await sql<{ n: unknown }>`select count(*) as n from ${sql.table(t.name)}`.execute(target(t));
      tables.push({ table: t.name, source: counts.get(t.name) ?? 0, target: num(rows[0]?.n) });
    }
    const wrong = tables.filter((c) => c.source !== c.target);
    if (wrong.length > 0)
      throw new TesseraError(
        'internal',
        `verification failed, nothing was committed: ${wrong.map((c) => `${c.table} has ${c.source} rows in the source, ${c.target} in the target`).join('; ')}`,
      );
    const rows = tables.reduce((a, c) => a + c.target, 0);
    const foldedKeys = d.singleWriter ? 0 : await foldRecentKeys(tm);
    return { tables, rows, sequences, migrated, replaced: opts.replace ? nonEmpty : [], foldedKeys };
  });
}

/**
 * Moves the recent de-dup keys (`processed_recent`) into `processed_messages`, in key order, and ends any merge in
 * progress: a store of several writers writes and reads that table only. Returns the keys moved.
 */
async function foldRecentKeys(db: Kysely<Database>): Promise<number> {
  const moved = await sql
    .raw(
      `insert into processed_messages (${PROCESSED_COLUMNS}) select ${PROCESSED_COLUMNS} from processed_recent order by source_id, message_id on conflict do nothing`,
    )
    .execute(db);
  await sql`delete from processed_recent`.execute(db);
  await sql`delete from processed_merge`.execute(db);
  return Number(moved.numAffectedRows ?? 0);
}

interface Layout {
  /** Columns in the source's order. */
  readonly columns: readonly string[];
  /** Primary-key columns in key order: the keyset of the pages. */
  readonly key: readonly string[];
}

/** Copies one table in primary-key order, a keyset page at a time; returns the rows copied. */
async function copyTable(
  src: SourceDb,
  target: Kysely<Database>,
  d: SqlDialect,
  t: CopiedTable,
  { columns, key }: Layout,
  opts: CopyOptions,
  progress: (copied: number) => void,
): Promise<number> {
  const per = Math.max(1, Math.min(opts.chunkRows ?? 2000, Math.floor(d.maxParameters / columns.length)));
  const list = columns.map(q).join(', ');
  const order = key.map(q).join(', ');
  const first = src.prepare(`select ${list} from ${q(t.name)} order by ${order} limit ?`).raw(true);
  const next = src
    .prepare(
      `select ${list} from ${q(t.name)} where (${order}) > (${key.map(() => '?').join(', ')}) order by ${order} limit ?`,
    )
    .raw(true);
  const keyAt = key.map((k) => columns.indexOf(k));
  const json = new Set(t.json.map((c) => columns.indexOf(c)));
  const inserts = new Map<number, string>();
  let copied = 0;
  let last: unknown[] | undefined;
  for (;;) {
    const page = (last ? next.all(...keyAt.map((i) => last?.[i]), per) : first.all(per)) as unknown[][];
    if (page.length === 0) break;
    const params: unknown[] = [];
    for (const row of page) for (let i = 0; i < row.length; i++) params.push(portable(row[i], json.has(i)));
    let text = inserts.get(page.length);
    if (!text) {
      text = insertText(target, d, t, columns, page.length);
      inserts.set(page.length, text);
    }
    try {
      await target.executeQuery(CompiledQuery.raw(text, params));
    } catch (e) {
      throw new TesseraError(
        'internal',
        `copying ${t.name}, rows ${copied + 1} to ${copied + page.length}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    copied += page.length;
    last = page[page.length - 1];
    progress(copied);
    if (page.length < per) break;
  }
  return copied;
}

/** `insert into t (…) values (…), …` for `rows` rows, in the target's placeholder style. */
function insertText(db: Kysely<Database>, d: SqlDialect, t: CopiedTable, columns: readonly string[], rows: number) {
  const row = sql`(${sql.join(columns.map(() => null))})`;
  return sql`insert into ${sql.table(t.name)} (${sql.join(columns.map((c) => sql.ref(c)))}) ${sql.raw(t.serial ? d.explicitSerialSql : '')} values ${sql.join(Array.from({ length: rows }, () => row))}`.compile(
    db,
  ).sql;
}

/** An escaped U+0000 or lone surrogate outside an escaped backslash: what `toJson` replaces and JSONB refuses. */
const JSONB_REFUSES = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/** A source value as the target takes it (see `copyEmbeddedStore`). */
function portable(v: unknown, isJson: boolean): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (isJson && typeof v === 'string' && JSONB_REFUSES.test(v)) return toJson(JSON.parse(v));
  return v;
}

/** The value the counter of `t`'s generated key must reach: its largest key, offset or SQLite counter. */
function serialFloor(source: Source, t: CopiedTable): { table: TableName; column: string; atLeast: number } {
  const { column, offsets } = t.serial as NonNullable<CopiedTable['serial']>;
  const counter = (() => {
    try {
      return num(scalar(source[t.file], 'select seq from sqlite_sequence where name = ?', [t.name]));
    } catch {
      return 0;
    }
  })();
  const atLeast = Math.max(
    counter,
    num(scalar(source[t.file], `select max(${q(column)}) from ${q(t.name)}`)),
    num(scalar(source[table(offsets.table).file], `select max(${q(offsets.column)}) from ${q(offsets.table)}`)),
  );
  return { table: t.name, column, atLeast };
}

/** The source must record the migrations this Tessera applied to the target: the same tables and columns. */
async function checkMigrations(source: Source, main: Kysely<Database>, log: Kysely<Database>, dir: string) {
  const names = (db: SourceDb) => {
    try {
      return (db.prepare('select name from kysely_migration').raw(true).all() as [string][]).map((r) => r[0]);
    } catch {
      return [];
    }
  };
  const ofTarget = async (db: Kysely<Database>) =>
    (await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows.map((r) => r.name);
  const src = [...names(source.main), ...names(source.log)].sort();
  const tgt = [...(await ofTarget(main)), ...(log === main ? [] : await ofTarget(log))].sort();
  if (src.length === 0) throw new TesseraError('not_found', `${dir} holds no Tessera store (no migration recorded)`);
  if (src.join() !== tgt.join())
    throw new TesseraError(
      'conflict',
      `the embedded store has migrations ${src.join(', ')}, this Tessera ${tgt.join(', ')}: copy with the Tessera version of the store (after \`tessera migrate --data ${dir}\` to upgrade an older store)`,
    );
}

function layoutOf(src: SourceDb, t: CopiedTable): Layout {
  const info = src.prepare('select name, pk from pragma_table_info(?)').all(t.name) as { name: string; pk: unknown }[];
  const key = info
    .filter((c) => num(c.pk) > 0)
    .sort((a, b) => num(a.pk) - num(b.pk))
    .map((c) => c.name);
  if (info.length === 0 || key.length === 0)
    throw new TesseraError('internal', `the embedded store has no table ${t.name} with a primary key`);
  return { columns: info.map((c) => c.name), key };
}

/** The months (UTC) holding `ingest_log` receive times or `events` times in the source. */
function sourceMonths(source: Source): Date[] {
  const months = new Set<string>();
  const add = (db: SourceDb, table: string, column: string) => {
    const rows = db
      .prepare(`select distinct strftime('%Y-%m', ${q(column)} / 1000, 'unixepoch') from ${q(table)}`)
      .raw(true)
      .all() as [string | null][];
    for (const [m] of rows) if (m && /^(19[7-9]\d|[2-9]\d{3})-\d{2}$/.test(m)) months.add(m);
  };
  add(source.log, 'ingest_log', 'received_at');
  add(source.main, 'events', 'timestamp');
  return [...months].sort().map((m) => new Date(Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5)) - 1, 1)));
}

async function hasRows(db: Kysely<Database>, name: TableName): Promise<boolean> {
  return (await sql`select 1 as x from ${sql.table(name)} limit 1`.execute(db)).rows.length > 0;
}

/** Runs `fn` in one transaction on the target's database, or one on each of its two databases. */
function inTransaction<T>(
  main: Kysely<Database>,
  log: Kysely<Database>,
  fn: (main: Kysely<Database>, log: Kysely<Database>) => Promise<T>,
): Promise<T> {
  if (log === main) return main.transaction().execute((tx) => fn(tx, tx));
  return main.transaction().execute((tm) => log.transaction().execute((tl) => fn(tm, tl)));
}

/** Read-only, integers read exactly (as BigInt). */
function openSource(file: string): SourceDb {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.defaultSafeIntegers(true);
  return db;
}

/** Changes whenever another connection commits to either file. */
function dataVersions(source: Source): string {
  return `${source.main.pragma('data_version', { simple: true })}/${source.log.pragma('data_version', { simple: true })}`;
}

function scalar(db: SourceDb, text: string, params: unknown[] = []): unknown {
  return (
    db
      .prepare(text)
      .raw(true)
      .all(...params) as unknown[][]
  )[0]?.[0];
}

function table(name: TableName): CopiedTable {
  return COPIED_TABLES.find((t) => t.name === name) as CopiedTable;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
