import type { Kysely } from 'kysely';
import { mentionsOf, redactMentions } from '../../privacy/mentions.js';
import type {
  ErasureStore,
  ErasureTarget,
  RectificationTarget,
  RedactedTable,
  RetentionStore,
} from '../../privacy/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database, PersonOwnedTable } from '../schema.js';
import { blankAuditProfiles } from './access-stores.js';
import { chunk } from './chunk.js';
import { toJson } from './json.js';
import { list, rawQuery, rowsOf } from './raw.js';

/** Rows of `table` whose `column` is one of `values`, deleted in slices; returns how many. */
async function deleteIn(
  db: Kysely<Database>,
  d: SqlDialect,
  table: string,
  columns: readonly string[],
  values: readonly unknown[],
): Promise<number> {
  let n = 0;
  for (const part of chunk(values, columns.length, d.maxParameters)) {
    if (part.length === 0) continue;
    const where = columns.map((c) => `${c} in (${list(part.length)})`).join(' or ');
    const rows = await rawQuery<{ one: number }>(
      db,
      d,
      `delete from ${table} where ${where} returning 1 as one`,
      columns.flatMap(() => part),
    );
    n += rows.length;
  }
  return n;
}

/**
 * The condition that one of `columns` (each read through `asText`) names one of `values` as a whole JSON string
 * (`mentionsOf`: case counts but for e-mails), every value and column in one condition so that a scan reads each row
 * once; `undefined` when no value can be named.
 */
function mentioning(
  d: SqlDialect,
  values: readonly string[],
  columns: readonly string[] = ['payload'],
  asText: (column: string) => string = (c) => c,
): { sql: string; params: string[] } | undefined {
  const { exact, folded } = mentionsOf(values);
  const tests: string[] = [];
  const params: string[] = [];
  for (const c of columns) {
    for (const [expr, tokens] of [
      [asText(c), exact],
      [`lower(${asText(c)})`, folded],
    ] as const) {
      for (const v of tokens) {
        tests.push(d.containsSql(expr));
        params.push(v);
      }
    }
  }
  return tests.length === 0 ? undefined : { sql: `(${tests.join(' or ')})`, params };
}

/** Refused calls whose raw payload names one of `values`: one scan, raw payloads are not indexed by content. */
async function deleteQuarantineMentions(db: Kysely<Database>, d: SqlDialect, values: readonly string[]) {
  const where = mentioning(d, values);
  if (!where) return 0;
  const rows = await rawQuery<{ one: number }>(
    db,
    d,
    `delete from quarantine where ${where.sql} returning 1 as one`,
    where.params,
  );
  return rows.length;
}

/** Log positions a read of the mention scan covers (`ErasureStore.eraseLogMentions`). */
export const LOG_SCAN_RANGE = 5_000;

/**
 * The ingest-log entries whose raw payload names one of `values`, found by ranges of `range` positions up to the last
 * position at the start, each range a read of its own, the event loop let through between ranges, and deleted by
 * position.
 */
async function deleteLogMentions(
  logDb: Kysely<Database>,
  d: SqlDialect,
  values: readonly string[],
  range: number,
): Promise<number> {
  const where = mentioning(d, values);
  if (!where) return 0;
  const [ends] = await rawQuery<{ first: number | null; last: number | null }>(
    logDb,
    d,
    // Two subqueries: each reads one end of the key's index, where `min(…), max(…)` together scan the table.
    'select (select min(position) from ingest_log) as first, (select max(position) from ingest_log) as last',
    [],
  );
  if (ends?.first === null || ends?.first === undefined || ends.last === null) return 0;
  const last = Number(ends.last);
  let n = 0;
  for (let after = Number(ends.first) - 1; after < last; after += range) {
    // Found by a read (which takes no write lock: the log thread appends meanwhile), then deleted by position.
    const found = await rawQuery<{ position: number }>(
      logDb,
      d,
      `select position from ingest_log where position > ? and position <= ? and ${where.sql}`,
      [after, Math.min(after + range, last), ...where.params],
    );
    if (found.length > 0)
      n += await deleteIn(
        logDb,
        d,
        'ingest_log',
        ['position'],
        found.map((r) => r.position),
      );
    // A statement runs on the calling thread (better-sqlite3): let the tracking API answer between two ranges.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return n;
}

/**
 * How each person-owned table loses a person's rows. A `Record` over `PersonOwnedTable`: a table added to
 * `PERSON_OWNED_TABLES` without its strategy does not compile.
 */
const STRATEGIES: Record<PersonOwnedTable, (db: Kysely<Database>, d: SqlDialect, t: ErasureTarget) => Promise<number>> =
  {
    events: (db, d, t) => deleteIn(db, d, 'events', ['profile_id'], t.profileIds),
    // Rejected calls carry no profile id: those at the person's log positions, and those naming one of their values.
    quarantine: async (db, d, t) =>
      (await deleteIn(db, d, 'quarantine', ['log_position'], t.logPositions)) +
      (await deleteQuarantineMentions(db, d, t.values)),
    profiles: (db, d, t) => deleteIn(db, d, 'profiles', ['id'], t.profileIds),
    identities: async (db, d, t) =>
      (await deleteIn(db, d, 'identities', ['profile_id'], t.profileIds)) +
      (await deleteIn(db, d, 'identities', ['value'], t.values)),
    profile_redirects: (db, d, t) => deleteIn(db, d, 'profile_redirects', ['from_id', 'to_id'], t.profileIds),
    merges: (db, d, t) => deleteIn(db, d, 'merges', ['survivor_id', 'merged_id'], t.profileIds),
    identity_decisions: async (db, d, t) =>
      (await deleteIn(db, d, 'identity_decisions', ['profile_id'], t.profileIds)) +
      (await deleteIn(db, d, 'identity_decisions', ['identifier_value'], t.values)),
    identity_review: (db, d, t) => deleteIn(db, d, 'identity_review', ['profile_id'], t.profileIds),
    unmerges: (db, d, t) => deleteIn(db, d, 'unmerges', ['survivor_id', 'profile_id'], t.profileIds),
    match_decisions: (db, d, t) => deleteIn(db, d, 'match_decisions', ['profile_id', 'other_id'], t.profileIds),
    trait_history: (db, d, t) => deleteIn(db, d, 'trait_history', ['profile_id'], t.profileIds),
    consents: (db, d, t) => deleteIn(db, d, 'consents', ['profile_id'], t.profileIds),
    profile_accounts: (db, d, t) => deleteIn(db, d, 'profile_accounts', ['profile_id'], t.profileIds),
    changes: (db, d, t) => deleteIn(db, d, 'changes', ['profile_id'], t.profileIds),
    // The raw log: the person's events' entries. The other entries naming one of their values (a dropped call) are
    // found by a scan of the whole log, after the transaction (`eraseLogMentions`).
    ingest_log: (db, d, t) => deleteIn(db, d, 'ingest_log', ['position'], t.logPositions),
    // Both levels of the de-dup keys (`storage/sql/processed-store.ts`); a key being merged is in both, counted once.
    processed_messages: async (db, d, t) => {
      const keys = new Set<string>();
      for (const table of ['processed_messages', 'processed_recent'] as const) {
        const erased = async (where: string, params: unknown[]) => {
          const rows = await rawQuery<{ source_id: string; message_id: string }>(
            db,
            d,
            `delete from ${table} where ${where} returning source_id, message_id`,
            params,
          );
          for (const r of rows) keys.add(`${r.source_id}\u0000${r.message_id}`);
        };
        for (const part of chunk(t.logPositions, 1, d.maxParameters))
          if (part.length > 0) await erased(`log_position in (${list(part.length)})`, part);
        for (const part of chunk(t.messages, 2, d.maxParameters))
          if (part.length > 0)
            await erased(
              `(source_id, message_id) in (${rowsOf(2, part.length)})`,
              part.flatMap((m) => [m.sourceId, m.messageId]),
            );
      }
      return keys.size;
    },
    audience_memberships: (db, d, t) => deleteIn(db, d, 'audience_memberships', ['profile_id'], t.profileIds),
    audience_rechecks: (db, d, t) => deleteIn(db, d, 'audience_rechecks', ['profile_id'], t.profileIds),
    rfm_scores: (db, d, t) => deleteIn(db, d, 'rfm_scores', ['profile_id'], t.profileIds),
    deliveries: (db, d, t) => deleteIn(db, d, 'deliveries', ['profile_id'], t.profileIds),
    messages: (db, d, t) => deleteIn(db, d, 'messages', ['profile_id'], t.profileIds),
    // The accountability record stays (who read or changed what, when), without naming the person any more.
    audit_log: (db, d, t) => blankAuditProfiles(db, d, t.profileIds),
  };

/**
 * A rectification's redaction of one table: the rows whose JSON `columns` (read as text) hold one of the wrong
 * values as a JSON string (`mentioning`, e-mails lower-cased, as an erasure matches), read by one statement, limited
 * by `scope` (a SQL condition) and then by `keep` (in code); each changed column rewritten by `redactMentions`, the
 * row updated by its `key` columns. Returns how many rows changed.
 */
async function redactWhere(
  db: Kysely<Database>,
  d: SqlDialect,
  t: RectificationTarget,
  spec: {
    table: string;
    key: readonly string[];
    columns: readonly string[];
    /** Read beside the key, for `keep`. */
    extra?: readonly string[];
    scope?: { sql: string; params: readonly unknown[] };
    keep?: (row: Record<string, unknown>) => boolean;
  },
): Promise<number> {
  const text = (c: string) => `cast(${c} as text)`;
  const where = mentioning(d, t.values, spec.columns, text);
  if (!where) return 0;
  const keys = new Set(t.keys);
  const found = await rawQuery<Record<string, unknown>>(
    db,
    d,
    `select ${[...spec.key, ...(spec.extra ?? []), ...spec.columns.map((c) => `${text(c)} as ${c}`)].join(', ')} from ${spec.table}
     where ${where.sql}${spec.scope ? ` and (${spec.scope.sql})` : ''}`,
    [...where.params, ...(spec.scope?.params ?? [])],
  );
  let n = 0;
  for (const row of found) {
    if (spec.keep && !spec.keep(row)) continue;
    const changed: [string, string][] = [];
    for (const c of spec.columns) {
      if (typeof row[c] !== 'string') continue;
      const r = redactMentions(row[c] as string, t.values, keys);
      if (r.replaced > 0) changed.push([c, r.text]);
    }
    if (changed.length === 0) continue;
    await rawQuery(
      db,
      d,
      `update ${spec.table} set ${changed.map(([c]) => `${c} = ?`).join(', ')} where ${spec.key.map((k) => `${k} = ?`).join(' and ')}`,
      [...changed.map(([, v]) => v), ...spec.key.map((k) => row[k])],
    );
    n++;
  }
  return n;
}

/**
 * Raw calls carry no profile id: a call is the person's at one of their events' log positions. (Erasure also takes
 * the calls naming one of their identifiers; a correction must not touch another person's call that happens to
 * hold the same short id, so a refused call of theirs at no position keeps its wrong value: docs/privacy.md.)
 */
function theirs(t: RectificationTarget, positionColumn: string) {
  const positions = new Set(t.logPositions.map(Number));
  return (row: Record<string, unknown>) => row[positionColumn] !== null && positions.has(Number(row[positionColumn]));
}

/** How a rectification redacts each table holding raw copies of what was sent. */
const REDACTIONS: Record<
  RedactedTable,
  (db: Kysely<Database>, d: SqlDialect, t: RectificationTarget) => Promise<number>
> = {
  // The person's calls are those at their positions: looked up by position (the key), not found by a scan of the log.
  ingest_log: async (db, d, t) => {
    let n = 0;
    // The statement's other parameters are the values the condition names (`mentioning`).
    const room = d.maxParameters - (mentioning(d, t.values)?.params.length ?? 0);
    for (const part of chunk(t.logPositions, 1, room))
      n += await redactWhere(db, d, t, {
        table: 'ingest_log',
        key: ['position'],
        columns: ['payload'],
        scope: { sql: `position in (${list(part.length)})`, params: part },
      });
    return n;
  },
  quarantine: (db, d, t) =>
    redactWhere(db, d, t, {
      table: 'quarantine',
      key: ['id'],
      extra: ['log_position'],
      columns: ['payload'],
      keep: theirs(t, 'log_position'),
    }),
  events: (db, d, t) =>
    t.profileIds.length === 0
      ? Promise.resolve(0)
      : redactWhere(db, d, t, {
          table: 'events',
          key: ['profile_id', 'id'],
          columns: ['properties', 'traits', 'context'],
          scope: { sql: `profile_id in (${list(t.profileIds.length)})`, params: t.profileIds },
        }),
  // Snapshots of what destinations send (pending ones too): a retry must not send the wrong value again.
  deliveries: (db, d, t) =>
    t.profileIds.length === 0
      ? Promise.resolve(0)
      : redactWhere(db, d, t, {
          table: 'deliveries',
          key: ['profile_id', 'id'],
          columns: ['payload'],
          scope: { sql: `profile_id in (${list(t.profileIds.length)})`, params: t.profileIds },
        }),
};

/** `logDb` holds the ingest log (a file of its own in SQLite). */
export function createErasureStore(db: Kysely<Database>, d: SqlDialect, logDb: Kysely<Database>): ErasureStore {
  return {
    erase: (table, target) => STRATEGIES[table](table === 'ingest_log' ? logDb : db, d, target),
    eraseLogMentions: (values, range = LOG_SCAN_RANGE) => deleteLogMentions(logDb, d, values, range),
    redact: (table, target) =>
      target.values.length === 0
        ? Promise.resolve(0)
        : REDACTIONS[table](table === 'ingest_log' ? logDb : db, d, target),
    async rewriteHistory(rows, value) {
      let n = 0;
      for (const r of rows) {
        const done = await rawQuery<{ one: number }>(
          db,
          d,
          'update trait_history set value = ? where profile_id = ? and id = ? returning 1 as one',
          [toJson(value), r.profileId, r.id],
        );
        n += done.length;
      }
      return n;
    },
    async relinkIdentifier(type, from, to, profileIds) {
      if (profileIds.length === 0) return 0;
      const where = `type = ? and value = ? and profile_id in (${list(profileIds.length)})`;
      // A new row and the old one deleted, not an update: the value is the table's distribution column in Citus
      // (DESIGN §11), which no statement may change. The person may hold the new value already: kept as it is.
      if (to !== null)
        await rawQuery(
          db,
          d,
          `insert into identities (type, value, profile_id, source_id, event_id, first_seen_at, created_at)
           select type, ?, profile_id, source_id, event_id, first_seen_at, created_at from identities where ${where}
           on conflict do nothing`,
          [to, type, from, ...profileIds],
        );
      const rows = await rawQuery<{ one: number }>(db, d, `delete from identities where ${where} returning 1 as one`, [
        type,
        from,
        ...profileIds,
      ]);
      return rows.length;
    },
  };
}

/** `logDb` holds the ingest log (a file of its own in SQLite). */
export function createRetentionStore(db: Kysely<Database>, d: SqlDialect, logDb: Kysely<Database>): RetentionStore {
  return {
    async purgeEvents(rule, before, limit) {
      const where = ['timestamp < ?'];
      const params: unknown[] = [before];
      if (rule.sourceId) {
        where.push('source_id = ?');
        params.push(rule.sourceId);
      }
      if (rule.type) {
        where.push('type = ?');
        params.push(rule.type);
      }
      if (rule.name) {
        where.push('name = ?');
        params.push(rule.name);
      }
      const rows = await rawQuery<{ log_position: number }>(
        db,
        d,
        `delete from events where (profile_id, id, timestamp) in (select profile_id, id, timestamp from events
           where ${where.join(' and ')} limit ?) returning log_position`,
        [...params, limit],
      );
      await deleteIn(
        logDb,
        d,
        'ingest_log',
        ['position'],
        rows.map((r) => Number(r.log_position)),
      );
      return rows.length;
    },
  };
}
