import { readdirSync, readFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { postgresDialect, sqliteDialect } from './dialect.js';
import { CITUS_PLAN, type CitusRole, citusRoleOf, citusStatements, MIGRATOR_TABLES } from './distribution.js';
import { migrateToLatest, migrationStatements } from './migrate.js';
import { PERSON_OWNED_TABLES, type TableName } from './schema.js';
import { openSqlite } from './sqlite/create-sqlite-database.js';

/**
 * Guards the Citus plan of DESIGN §11 (`storage/distribution.ts`, `docs/scaling.md`): every table has a role; no
 * primary key or unique constraint of a distributed table omits its distribution column, which is `not null`; the
 * tables of a colocation group share the column type; no statement in `storage/sql/` updates a distribution column.
 */

/**
 * Violations of the SQLite schema, which is never distributed: migration `004-distribution-keys` fixed each in
 * PostgreSQL, but SQLite cannot alter a key or a column's nullability in place. Its keys stay on the bare id (a UUID,
 * so they refuse no row PostgreSQL accepts) and triggers refuse the NULLs. The PostgreSQL schema has no allow-list.
 * The test fails on any SQLite violation not listed here, and on an entry that no longer occurs.
 */
const KNOWN_VIOLATIONS: ReadonlyMap<string, { why: string; fix: string }> = new Map([
  [
    'merges: primary key (id) omits distribution column survivor_id',
    {
      why: 'The key was written before the Citus plan.',
      fix: 'Migration: primary key (survivor_id, id). Reads by merged_id then fan out to every shard (merges are rare).',
    },
  ],
  [
    'identity_decisions: primary key (id) omits distribution column profile_id',
    { why: 'Written before the Citus plan.', fix: 'Migration: primary key (profile_id, id).' },
  ],
  [
    'identity_decisions: distribution column profile_id is nullable',
    {
      why: 'Decisions are built before the profile is known; resolveIdentity sets profile_id before recording, so no row holds NULL today.',
      fix: 'Migration: profile_id not null, and DecisionRow.profileId a string when recorded.',
    },
  ],
  [
    'identity_review: primary key (id) omits distribution column profile_id',
    { why: 'Written before the Citus plan.', fix: 'Migration: primary key (profile_id, id).' },
  ],
  [
    'identity_review: distribution column profile_id is nullable',
    {
      why: 'Review items are opened with the resolved profile today; the column allows NULL for kinds that have none yet.',
      fix: 'Migration: profile_id not null (a future item without a profile goes to a table of its own).',
    },
  ],
  [
    'trait_history: primary key (id) omits distribution column profile_id',
    { why: 'Written before the Citus plan.', fix: 'Migration: primary key (profile_id, id).' },
  ],
  [
    'consents: primary key (id) omits distribution column profile_id',
    { why: 'Written before the Citus plan.', fix: 'Migration: primary key (profile_id, id).' },
  ],
  [
    'changes: primary key (seq) omits distribution column profile_id',
    {
      why: 'The outbox is read by seq; a sequence is not a commit order once several workers write (docs/scaling.md).',
      fix: 'Migration: primary key (profile_id, seq); the cluster relay publishes and deletes rows per shard instead of an offset.',
    },
  ],
  [
    'changes: distribution column profile_id is nullable',
    {
      why: 'change() in pipeline/change.ts writes ctx.profileId ?? null; every change is emitted after identity resolution, so no row holds NULL today.',
      fix: 'Migration: profile_id not null; ChangeInput.profileId a string.',
    },
  ],
  [
    'events: primary key (id) omits distribution column profile_id',
    {
      why: 'SQLite only: its events table is not partitioned, so its key is the bare id; PostgreSQL has (profile_id, id, timestamp). The embedded store is never distributed.',
      fix: 'With the migration above, give SQLite primary key (profile_id, id), so that both adapters accept and refuse the same rows.',
    },
  ],
]);

interface Column {
  readonly type: string;
  readonly notNull: boolean;
}
interface Key {
  readonly label: string;
  readonly columns: readonly string[];
}
interface Table {
  readonly columns: ReadonlyMap<string, Column>;
  readonly keys: readonly Key[];
}
type Schema = ReadonlyMap<string, Table>;

/** Every table of a SQLite database with its columns, primary key and unique indexes and constraints. */
function introspect(db: BetterSqlite3.Database): Schema {
  const schema = new Map<string, Table>();
  const names = db
    .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name")
    .pluck()
    .all() as string[];
  for (const name of names) {
    const info = db.prepare(`pragma table_info("${name}")`).all() as {
      name: string;
      type: string;
      notnull: number;
      pk: number;
    }[];
    // PostgreSQL makes primary-key columns not null; SQLite does not enforce it, but the plan is PostgreSQL's.
    const columns = new Map(
      info.map((c) => [c.name, { type: c.type.toLowerCase(), notNull: c.notnull === 1 || c.pk > 0 }]),
    );
    const keys: Key[] = [];
    const pk = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    if (pk.length > 0) keys.push({ label: 'primary key', columns: pk.map((c) => c.name) });
    const indexes = db.prepare(`pragma index_list("${name}")`).all() as {
      name: string;
      unique: number;
      origin: string;
    }[];
    for (const index of indexes) {
      if (index.unique !== 1 || index.origin === 'pk') continue;
      const cols = (db.prepare(`pragma index_info("${index.name}")`).all() as { name: string | null }[]).map(
        (c) => c.name ?? '(expression)',
      );
      // A unique column constraint gets an automatic name; a created unique index keeps its own.
      const label = index.origin === 'u' ? 'unique' : `unique index ${index.name}`;
      keys.push({ label, columns: cols });
    }
    schema.set(name, { columns, keys });
  }
  return schema;
}

/** The violations of the plan in a schema, as sentences; `roleOf` is the plan (a parameter for the crafted cases). */
function planViolations(schema: Schema, roleOf: (table: string) => CitusRole | undefined): string[] {
  const out: string[] = [];
  const groupTypes = new Map<string, Set<string>>();
  for (const [table, { columns, keys }] of schema) {
    const role = roleOf(table);
    if (!role) {
      out.push(`${table}: not in the Citus plan (storage/distribution.ts)`);
      continue;
    }
    if (role.kind !== 'distributed') continue;
    const column = columns.get(role.column);
    if (!column) {
      out.push(`${table}: distribution column ${role.column} does not exist`);
      continue;
    }
    if (!column.notNull) out.push(`${table}: distribution column ${role.column} is nullable`);
    for (const key of keys) {
      if (!key.columns.includes(role.column))
        out.push(`${table}: ${key.label} (${key.columns.join(', ')}) omits distribution column ${role.column}`);
    }
    const types = groupTypes.get(role.colocation) ?? new Set<string>();
    types.add(`${table}.${role.column} ${column.type}`);
    groupTypes.set(role.colocation, types);
  }
  for (const [group, types] of groupTypes) {
    if (new Set([...types].map((t) => t.split(' ')[1])).size > 1)
      out.push(`colocation group ${group}: distribution columns of different types (${[...types].join(', ')})`);
  }
  return out;
}

/**
 * Source text with comments blanked and every `${…}` of a template literal replaced by `?` (newlines and length
 * kept, so indexes still give line numbers): what is left of a `sql` template is its SQL text.
 */
function maskSource(src: string): string {
  const out = src.split('');
  const blank = (from: number, to: number, first = ' ') => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
    if (to > from) out[from] = first;
  };
  const skipQuoted = (i: number, quote: string): number => {
    let j = i + 1;
    while (j < src.length && src[j] !== quote && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  // Returns the index after the code (after its closing `}` when `inBraces`).
  const code = (start: number, inBraces: boolean): number => {
    let depth = 0;
    let i = start;
    while (i < src.length) {
      const c = src[i];
      if (c === '/' && src[i + 1] === '/') {
        const end = src.indexOf('\n', i);
        blank(i, end < 0 ? src.length : end);
        i = end < 0 ? src.length : end;
      } else if (c === '/' && src[i + 1] === '*') {
        const end = src.indexOf('*/', i + 2);
        blank(i, end < 0 ? src.length : end + 2);
        i = end < 0 ? src.length : end + 2;
      } else if (c === "'" || c === '"') i = skipQuoted(i, c);
      else if (c === '`') i = template(i + 1);
      else if (c === '{') {
        depth++;
        i++;
      } else if (c === '}') {
        i++;
        if (depth-- === 0 && inBraces) return i;
      } else i++;
    }
    return i;
  };
  const template = (start: number): number => {
    let i = start;
    while (i < src.length) {
      if (src[i] === '\\') i += 2;
      else if (src[i] === '`') return i + 1;
      else if (src[i] === '$' && src[i + 1] === '{') {
        const end = code(i + 2, true);
        blank(i, end, '?');
        i = end;
      } else i++;
    }
    return i;
  };
  code(0, false);
  return out.join('');
}

/** An update found in source: the table, the columns it sets (`null` when they cannot be read), where. */
interface UpdateSite {
  readonly table: string;
  readonly columns: readonly string[] | null;
  readonly index: number;
}

/** Splits on commas outside brackets and strings. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"' || c === '`') {
      const end = text.indexOf(c, i + 1);
      i = end < 0 ? text.length : end;
    } else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** Columns assigned by a SQL `set` list (`a = …, t.b = …, (c, d) = …`), or `null` if one cannot be read. */
function sqlSetColumns(list: string): string[] | null {
  const columns: string[] = [];
  for (const part of splitTopLevel(list)) {
    const tuple = /^\(([^)]*)\)\s*=/.exec(part);
    const one = /^(?:"?\w+"?\.)?"?(\w+)"?\s*=/.exec(part);
    if (tuple) columns.push(...tuple[1].split(',').map((c) => c.trim().replace(/^.*\./, '').replace(/"/g, '')));
    else if (one) columns.push(one[1]);
    else return null;
  }
  return columns.length > 0 ? columns : null;
}

/** Keys of a Kysely `set` argument: an object literal, an arrow returning one, or `('column', value)`. */
function kyselySetColumns(args: string): string[] | null {
  const pair = /^\s*(['"])([\w.]+)\1\s*,/.exec(args);
  if (pair) return [pair[2].replace(/^.*\./, '')];
  const object = /^\s*(?:(?:\(\s*\w*\s*\)|\w+)\s*=>\s*\(?\s*)?\{([\s\S]*)\}\s*\)?\s*$/.exec(args);
  if (!object) return null;
  const columns: string[] = [];
  for (const part of splitTopLevel(object[1])) {
    const key = /^(?:(['"])([\w.]+)\1|([A-Za-z_$][\w$]*))\s*(?::|$)/.exec(part);
    if (!key || part.startsWith('...')) return null;
    columns.push((key[2] ?? key[3]).replace(/^.*\./, ''));
  }
  return columns;
}

/** The calls chained after `from` (`.a(…).b(…)`), with their argument text. */
function chainAfter(masked: string, from: number): { method: string; args: string; index: number }[] {
  const calls: { method: string; args: string; index: number }[] = [];
  let i = from;
  for (;;) {
    const m = /^\s*\.\s*(\w+)\s*\(/.exec(masked.slice(i, i + 200));
    if (!m) return calls;
    const open = i + m[0].length - 1;
    let depth = 0;
    let j = open;
    for (; j < masked.length; j++) {
      const c = masked[j];
      if (c === "'" || c === '"' || c === '`') {
        j = masked.indexOf(c, j + 1);
        if (j < 0) return calls;
      } else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) break;
    }
    calls.push({ method: m[1], args: masked.slice(open + 1, j), index: open });
    i = j + 1;
  }
}

/**
 * Every update in a TypeScript source: `update t set …` and `insert into t … on conflict … do update set …` in SQL
 * text (templates and strings), and Kysely's `.updateTable('t')…set(…)` and `.insertInto('t')…doUpdateSet(…)`.
 */
function findUpdates(source: string): UpdateSite[] {
  const masked = maskSource(source);
  const sites: UpdateSite[] = [];
  const end = String.raw`(?=\bwhere\b|\breturning\b|\bfrom\b|[\`'";]|$)`;
  for (const m of masked.matchAll(
    new RegExp(String.raw`\bupdate\s+(?!set\b)"?(\w+)"?(?:\s+(?:as\s+)?(?!set\b)\w+)?\s+set\s+([\s\S]*?)${end}`, 'gi'),
  ))
    sites.push({ table: m[1], columns: sqlSetColumns(m[2]), index: m.index });
  for (const m of masked.matchAll(new RegExp(String.raw`\bdo\s+update\s+set\s+([\s\S]*?)${end}`, 'gi'))) {
    const inserts = [...masked.slice(0, m.index).matchAll(/\binsert\s+into\s+"?(\w+)"?/gi)];
    const table = inserts.at(-1)?.[1] ?? '(unknown table)';
    sites.push({ table, columns: sqlSetColumns(m[1]), index: m.index });
  }
  for (const m of masked.matchAll(/\.\s*(updateTable|insertInto)\(\s*(['"`])([^'"`]+)\2\s*\)/g)) {
    const table = m[3].split(/\s+as\s+/i)[0].trim();
    for (const call of chainAfter(masked, m.index + m[0].length)) {
      if (m[1] === 'updateTable' && call.method === 'set')
        sites.push({ table, columns: kyselySetColumns(call.args), index: call.index });
      if (m[1] === 'insertInto' && call.method === 'onConflict') {
        for (const d of call.args.matchAll(/\.\s*doUpdateSet\s*\(/g)) {
          const args = chainAfter(call.args, d.index)[0];
          sites.push({ table, columns: args ? kyselySetColumns(args.args) : null, index: call.index + 1 + d.index });
        }
      }
    }
  }
  return sites.sort((a, b) => a.index - b.index);
}

/** The updates of one source that set a distribution column, read nothing checkable, or touch an unknown table. */
function updateViolations(file: string, source: string, roleOf: (t: string) => CitusRole | undefined): string[] {
  const out: string[] = [];
  for (const site of findUpdates(source)) {
    const where = `${file}:${source.slice(0, site.index).split('\n').length}`;
    const role = roleOf(site.table);
    if (!role) out.push(`${where}: update of ${site.table}, a table the Citus plan does not know`);
    else if (site.columns === null) out.push(`${where}: update of ${site.table}: cannot read the columns it sets`);
    else if (role.kind === 'distributed' && site.columns.includes(role.column))
      out.push(`${where}: update of ${site.table} sets its distribution column ${role.column}`);
  }
  return out;
}

/** The PostgreSQL DDL of the migrations, replayed into SQLite without the two clauses SQLite cannot parse. */
function postgresSchema(): Schema {
  const db = new BetterSqlite3(':memory:');
  try {
    const { log, main } = migrationStatements(postgresDialect);
    // Key and nullability changes SQLite cannot run: applied to the introspected schema afterwards, in order.
    const keyChanges: string[] = [];
    // Sequences are not tables: SQLite has none to replay.
    for (const statement of [...log, ...main].filter((s) => !s.startsWith('create sequence'))) {
      if (/^alter table \w+ (alter column|drop constraint|add primary key)/.test(statement)) {
        keyChanges.push(statement);
        continue;
      }
      // Neither clause carries a key: `partition by` names the partition column, `identity` the value's source.
      db.exec(statement.replace(/\s+partition by range \(\w+\)\s*$/, '').replace(/ generated always as identity/, ''));
    }
    return applyKeyChanges(introspect(db), keyChanges);
  } finally {
    db.close();
  }
}

/**
 * Applies PostgreSQL `alter table` key changes to a schema: `alter column C set not null`, `drop constraint T_pkey`,
 * `add primary key (…)`. Any other action fails the test, so a migration cannot change a key unchecked.
 */
function applyKeyChanges(schema: Schema, statements: readonly string[]): Schema {
  const out = new Map(schema);
  for (const statement of statements) {
    const [, name, actions] = /^alter table (\w+) (.*)$/.exec(statement) ?? [];
    const table = out.get(name);
    if (!table) throw new Error(`key change of an unknown table: ${statement}`);
    const columns = new Map(table.columns);
    let keys = [...table.keys];
    const known = /alter column (\w+) set not null|drop constraint (\w+)|add primary key \(([^)]*)\)/g;
    let rest = actions;
    for (const m of actions.matchAll(known)) {
      rest = rest.replace(m[0], '');
      if (m[1]) {
        const c = columns.get(m[1]);
        if (!c) throw new Error(`no column ${m[1]}: ${statement}`);
        columns.set(m[1], { ...c, notNull: true });
      } else if (m[2]) {
        if (m[2] !== `${name}_pkey`) throw new Error(`only the primary key can be dropped here: ${statement}`);
        keys = keys.filter((k) => k.label !== 'primary key');
      } else {
        const cols = m[3].split(',').map((c) => c.trim());
        keys.unshift({ label: 'primary key', columns: cols });
        for (const c of cols) {
          const col = columns.get(c);
          if (col) columns.set(c, { ...col, notNull: true });
        }
      }
    }
    if (rest.replace(/[\s,]/g, '') !== '')
      throw new Error(`an alter table action this test cannot check: ${statement}`);
    out.set(name, { columns, keys });
  }
  return out;
}

/** The SQLite schema made by the real migrator (both parts in one in-memory file) and the migrations it applied. */
async function sqliteSchema(): Promise<{ schema: Schema; applied: string[] }> {
  const { db, raw } = openSqlite({ file: ':memory:' });
  try {
    const applied = await migrateToLatest(db, sqliteDialect, 'all');
    return { schema: introspect(raw), applied };
  } finally {
    await db.destroy();
  }
}

const unexpected = (violations: string[]) => violations.filter((v) => !KNOWN_VIOLATIONS.has(v));

describe('Citus plan (DESIGN §11, docs/scaling.md)', () => {
  it('covers the migrations this test replays for PostgreSQL', async () => {
    const { applied } = await sqliteSchema();
    // A new migration must be added to postgresSchema() above, or its PostgreSQL keys go unchecked.
    expect(applied).toEqual([
      '000-log',
      '001-initial',
      '002-job-runs',
      '003-batch-seq',
      '004-distribution-keys',
      '005-review-unmerge',
      '006-audiences',
      '007-personalization',
      '008-rfm',
      '009-destinations',
      '010-privacy',
      '011-access',
      '012-processed-recent',
    ]);
  });

  it('gives every table of both dialects a role, and names no table the migrations do not create', async () => {
    const { schema: sqlite } = await sqliteSchema();
    const postgres = postgresSchema();
    const known = (t: string) => citusRoleOf(t) !== undefined;
    expect([...sqlite.keys()].filter((t) => !known(t))).toEqual([]);
    expect([...postgres.keys()].filter((t) => !known(t))).toEqual([]);
    expect(Object.keys(CITUS_PLAN).filter((t) => !sqlite.has(t) || !postgres.has(t))).toEqual([]);
    expect(Object.keys(MIGRATOR_TABLES).filter((t) => !sqlite.has(t))).toEqual([]);
  });

  it('reads the PostgreSQL keys, not the SQLite ones, from the replayed DDL', () => {
    const events = postgresSchema().get('events');
    expect(events?.keys).toEqual([{ label: 'primary key', columns: ['profile_id', 'id', 'timestamp'] }]);
    expect(events?.columns.get('profile_id')).toEqual({ type: 'uuid', notNull: true });
  });

  it('keeps each distribution column in every key of its PostgreSQL table, not null, one type per group', () => {
    // No allow-list for PostgreSQL: it is the store that gets distributed.
    expect(planViolations(postgresSchema(), citusRoleOf)).toEqual([]);
  });

  it('holds for the SQLite schema made by the real migrations too', async () => {
    expect(unexpected(planViolations((await sqliteSchema()).schema, citusRoleOf))).toEqual([]);
  });

  it('lists only known violations that still occur (remove an entry once its fix lands)', async () => {
    const occurring = new Set(planViolations((await sqliteSchema()).schema, citusRoleOf));
    expect([...KNOWN_VIOLATIONS.keys()].filter((v) => !occurring.has(v))).toEqual([]);
  });

  it('follows DESIGN §11: person-owned tables by profile id, identities and processed_messages by their keys', () => {
    const role = (t: TableName) => CITUS_PLAN[t];
    expect(role('settings').kind).toBe('reference');
    expect(role('sources').kind).toBe('reference');
    expect(role('identities')).toMatchObject({ kind: 'distributed', column: 'value' });
    expect(role('processed_messages')).toMatchObject({ kind: 'distributed', column: 'message_id' });
    // The raw log lives on JetStream in cluster mode; quarantined calls were never resolved to a profile.
    expect(role('ingest_log').kind).toBe('local');
    expect(postgresSchema().get('quarantine')?.columns.has('profile_id')).toBe(false);
    // The audit log names a profile only when a person read one (null otherwise, and once the person is erased).
    expect(role('audit_log').kind).toBe('reference');
    const exceptions = new Set<TableName>([
      'identities',
      'processed_messages',
      'ingest_log',
      'quarantine',
      'audit_log',
    ]);
    const notByProfile = PERSON_OWNED_TABLES.filter((t) => !exceptions.has(t)).filter((t) => {
      const r = role(t);
      return r.kind !== 'distributed' || r.colocation !== 'profile';
    });
    expect(notByProfile).toEqual([]);
  });

  it('finds no statement in storage/sql/ that updates a distribution column', () => {
    const dir = new URL('./sql/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(files.length).toBeGreaterThan(3);
    const found: string[] = [];
    let updates = 0;
    for (const file of files) {
      const source = readFileSync(new URL(file, dir), 'utf8');
      updates += findUpdates(source).length;
      found.push(...updateViolations(`storage/sql/${file}`, source, citusRoleOf));
    }
    // Twelve updates today (profiles, trait_history, consents, redirects, quarantine, sources, accounts, both offsets'
    // upserts): a scanner that silently found none would pass anything.
    expect(updates).toBeGreaterThanOrEqual(5);
    expect(found).toEqual([]);
  });

  it('catches an update of a distribution column in each form, and one it cannot read', () => {
    // biome-ignore-start lint/suspicious/noTemplateCurlyInString: TypeScript source text under test
    const source = [
      'const a = sql`update events set profile_id = ${to}, name = ${n} where id = ${id}`;',
      'const b = sql`UPDATE identities AS i SET i.value = ${f("comma, brace }")} WHERE type = ${t}`;',
      "await db.updateTable('profiles').where('id', '=', id).set({ id: next, traits: toJson({ a: 1 }) }).execute();",
      "await db.updateTable('trait_history').set((eb) => ({ ...row })).execute();",
      'await db',
      "  .insertInto('processed_messages')",
      '  .values(row)',
      "  .onConflict((oc) => oc.columns(['source_id', 'message_id']).doUpdateSet({ message_id: m }))",
      '  .execute();',
      'const c = sql`insert into consents (id) values (${id}) on conflict (id) do update set profile_id = excluded.profile_id`;',
      "map.set(key, value); // a Map, not an update: 'update events set profile_id = 1'",
      "await db.updateTable('consents').set('superseded_at', at).execute();",
      'const d = sql`update audit_trail set x = 1`;',
    ].join('\n');
    // biome-ignore-end lint/suspicious/noTemplateCurlyInString: TypeScript source text under test
    expect(updateViolations('x.ts', source, citusRoleOf)).toEqual([
      'x.ts:1: update of events sets its distribution column profile_id',
      'x.ts:2: update of identities sets its distribution column value',
      'x.ts:3: update of profiles sets its distribution column id',
      'x.ts:4: update of trait_history: cannot read the columns it sets',
      'x.ts:8: update of processed_messages sets its distribution column message_id',
      'x.ts:10: update of consents sets its distribution column profile_id',
      'x.ts:13: update of audit_trail, a table the Citus plan does not know',
    ]);
  });

  it('catches a key without the distribution column, a nullable one, a missing table and mixed types', () => {
    const db = new BetterSqlite3(':memory:');
    db.exec('create table t (id text primary key, profile_id text, email text unique)');
    db.exec('create table u (profile_id integer not null, n text, primary key (profile_id, n))');
    db.exec('create unique index t_email_id on t (email, id)');
    db.exec('create table stray (x text)');
    const roles: Record<string, CitusRole> = {
      t: { kind: 'distributed', column: 'profile_id', colocation: 'profile', why: '' },
      u: { kind: 'distributed', column: 'profile_id', colocation: 'profile', why: '' },
    };
    const violations = planViolations(introspect(db), (t) => roles[t]);
    db.close();
    expect(violations).toEqual([
      'stray: not in the Citus plan (storage/distribution.ts)',
      't: distribution column profile_id is nullable',
      't: primary key (id) omits distribution column profile_id',
      't: unique index t_email_id (email, id) omits distribution column profile_id',
      't: unique (email) omits distribution column profile_id',
      'colocation group profile: distribution columns of different types (t.profile_id text, u.profile_id integer)',
    ]);
  });

  it('turns the plan into Citus calls: reference tables first, each group colocated with its anchor', () => {
    const statements = citusStatements();
    expect(statements[0]).toBe("select create_reference_table('settings')");
    expect(statements).toContain("select create_distributed_table('profiles', 'id', colocate_with => 'none')");
    expect(statements).toContain(
      "select create_distributed_table('events', 'profile_id', colocate_with => 'profiles')",
    );
    expect(statements).toContain("select create_distributed_table('identities', 'value', colocate_with => 'none')");
    const lastReference = statements.findLastIndex((s) => s.includes('create_reference_table'));
    const firstDistributed = statements.findIndex((s) => s.includes('create_distributed_table'));
    expect(lastReference).toBeLessThan(firstDistributed);
    expect(statements.filter((s) => /'(ingest_log|log_offsets|change_offsets)'/.test(s))).toEqual([]);
  });
});
