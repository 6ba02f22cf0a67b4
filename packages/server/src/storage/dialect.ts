/**
 * What differs between the SQL dialects, as capability flags and named fragments (STYLE #2). Engine code never
 * asks "is this PostgreSQL?"; it asks the dialect for a column type or a flag.
 */
export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /** Column type of a bare UUID id. */
  readonly idType: 'text' | 'uuid';
  /** Column type of an epoch-milliseconds timestamp. */
  readonly timeType: 'integer' | 'bigint';
  /** Column type of JSON documents. */
  readonly jsonType: 'text' | 'jsonb';
  /** Auto-incrementing 64-bit primary key column definition (`position`, `seq`). */
  readonly serialPrimaryKey: string;
  /**
   * Words between an INSERT's column list and `values` that let it write explicit values into a generated key
   * column (`tessera copy`): PostgreSQL's `generated always` identity refuses them otherwise; empty where none are
   * needed.
   */
  readonly explicitSerialSql: string;
  /** `INSERT … ON CONFLICT DO NOTHING` works (both do; kept for future dialects). */
  readonly supportsOnConflict: boolean;
  /** `RETURNING` works. */
  readonly supportsReturning: boolean;
  /** Only one connection ever writes (SQLite: the writer thread): row and advisory locks are not needed. */
  readonly singleWriter: boolean;
  /** Row-locking suffix of a select that skips rows other transactions hold (`for update skip locked`). */
  readonly skipLockedSql: string;
  /** Maximum bound parameters per statement. */
  readonly maxParameters: number;
  /**
   * Statement run first in every ingest-log append transaction so that appends commit in position order (else a
   * consumer could pass a position still uncommitted in another process); none where the database already has a
   * single writer.
   */
  readonly serialiseAppendsSql: string | undefined;
  /**
   * Statement that opens a transaction holding the write lock from its start (SQLite `begin immediate`), for a
   * transaction that reads then writes beside another writing connection: one opened with a plain `begin` fails
   * (`SQLITE_BUSY`) at its first write when the other connection committed after its first read. None where row
   * locks serialise writers instead.
   */
  readonly beginWriteSql: string | undefined;
  /** Query naming the schema tables are created in (column `s`), so migration bookkeeping stays in it; none in SQLite. */
  readonly currentSchemaSql: string | undefined;
  /**
   * Statement run in a transaction before a large generated query (an audience compiled to SQL): PostgreSQL's JIT
   * spends about a second compiling such an expression tree, more than the query itself takes. None where not needed.
   */
  readonly largeQuerySql: string | undefined;
  /** Statements that make the next generated value of `table.column` greater than `value`. */
  sequenceAtLeast(table: string, column: string, value: number): string[];
  /** A condition: text expression `expr` contains the `?` parameter, case counting (SQLite's `like` ignores it). */
  containsSql(expr: string): string;
}

export const sqliteDialect: SqlDialect = Object.freeze<SqlDialect>({
  name: 'sqlite',
  idType: 'text',
  timeType: 'integer',
  jsonType: 'text',
  serialPrimaryKey: 'integer primary key autoincrement',
  explicitSerialSql: '',
  supportsOnConflict: true,
  supportsReturning: true,
  singleWriter: true,
  skipLockedSql: '',
  maxParameters: 32_000,
  serialiseAppendsSql: undefined,
  beginWriteSql: 'begin immediate',
  currentSchemaSql: undefined,
  largeQuerySql: undefined,
  containsSql: (expr) => `instr(${expr}, ?) > 0`,
  sequenceAtLeast: (table, _column, value) => [
    `insert into sqlite_sequence (name, seq) select '${table}', 0 where not exists (select 1 from sqlite_sequence where name = '${table}')`,
    `update sqlite_sequence set seq = max(seq, ${Math.trunc(value)}) where name = '${table}'`,
  ],
});

export const postgresDialect: SqlDialect = Object.freeze<SqlDialect>({
  name: 'postgres',
  idType: 'uuid',
  timeType: 'bigint',
  jsonType: 'jsonb',
  serialPrimaryKey: 'bigint generated always as identity primary key',
  explicitSerialSql: 'overriding system value',
  supportsOnConflict: true,
  supportsReturning: true,
  singleWriter: false,
  skipLockedSql: 'for update skip locked',
  maxParameters: 65_000,
  serialiseAppendsSql: 'select pg_advisory_xact_lock(7301001)',
  beginWriteSql: undefined,
  currentSchemaSql: 'select current_schema() as s',
  largeQuerySql: 'set local jit = off',
  containsSql: (expr) => `strpos(${expr}, ?) > 0`,
  sequenceAtLeast: (table, column, value) => [
    `select setval(pg_get_serial_sequence('${table}', '${column}'), greatest(${Math.trunc(value)}, (select coalesce(max(${column}), 0) from ${table}), 1))`,
  ],
});
