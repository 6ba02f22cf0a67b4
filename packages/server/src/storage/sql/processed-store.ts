import type { Kysely } from 'kysely';
import { groupBy } from '../../group-by.js';
import type { ProcessedMessageStore, ProcessedRow } from '../../ingest/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { chunk } from './chunk.js';
import { insertRows, list, rawQuery } from './raw.js';

/**
 * Recent keys held before a merge into `processed_messages` starts. A merge writes each leaf of the unique index
 * once for all the recent keys that fall in it, so the more keys it takes, the fewer pages a key costs; the recent
 * level's own hash index grows with it.
 */
export const RECENT_KEYS = 50_000;

/** 32-bit FNV-1a of (source, message id): `processed_recent.h`, a signed integer for both dialects. */
export function processedKeyHash(sourceId: string, messageId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < sourceId.length; i++) h = Math.imul(h ^ sourceId.charCodeAt(i), 16777619);
  h = Math.imul(h, 16777619);
  for (let i = 0; i < messageId.length; i++) h = Math.imul(h ^ messageId.charCodeAt(i), 16777619);
  return h | 0;
}

/**
 * Whether a batch's ids of one source sit close together in key order (`<request>-<index>`, a counter), so that a
 * direct insert into the unique index writes few leaves: the ids, cut of their last two characters, share a prefix
 * four at a time on average. Scattered ids (uuid v4, hashes) go to the recent level. Only a cost estimate: either
 * way every key is stored once and found by the look-ups.
 */
export function clustered(messageIds: readonly string[]): boolean {
  if (messageIds.length < 8) return false;
  const prefixes = new Set<string>();
  for (const m of messageIds) prefixes.add(m.slice(0, -2));
  return prefixes.size * 4 <= messageIds.length;
}

/** The columns both levels share. */
export const PROCESSED_COLUMNS = 'source_id, message_id, event_id, processed_at, batch_seq, log_position';

/**
 * De-duplication keys in two levels (`docs/architecture.md`, "De-duplication keys in two levels"). On SQLite (one
 * writer) a batch's scattered ids are appended to `processed_recent`, and once it holds `recentKeys` rows they are
 * merged into `processed_messages` in key order, a slice with each later insert, so the unique index is written a
 * leaf for many keys instead of a random leaf for each; look-ups ask `processed_messages` (unique on source and
 * message id) and `processed_recent` by hash, in one statement. PostgreSQL writes and reads `processed_messages`
 * only: `tessera copy` folds the recent keys it brings into it.
 */
export function createProcessedMessageStore(
  db: Kysely<Database>,
  d: SqlDialect,
  recentKeys = RECENT_KEYS,
): ProcessedMessageStore {
  /** The keys among `messageIds` of a source that either level holds, with their `processed_at`: one statement. */
  const lookUp = async (sourceId: string, messageIds: readonly string[]) => {
    const found = new Map<string, number>();
    for (const part of chunk(messageIds, 3, d.maxParameters - 2)) {
      const ids = list(part.length);
      const unique = `select message_id, processed_at from processed_messages where source_id = ? and message_id in (${ids})`;
      const rows = await rawQuery<{ message_id: string; processed_at: number }>(
        db,
        d,
        d.singleWriter
          ? `${unique} union all select message_id, processed_at from processed_recent where h in (${ids}) and source_id = ? and message_id in (${ids})`
          : unique,
        d.singleWriter
          ? [sourceId, ...part, ...part.map((m) => processedKeyHash(sourceId, m)), sourceId, ...part]
          : [sourceId, ...part],
      );
      for (const r of rows) found.set(r.message_id, Number(r.processed_at));
    }
    return found;
  };

  /** Merges the next slice of the recent keys, in key order; starts a merge once enough are held. */
  const mergeSlice = async (written: number) => {
    let [state] = await rawQuery<{ upto: number; after_source: string | null; after_message: string | null }>(
      db,
      d,
      'select upto, after_source, after_message from processed_merge where id = 1',
      [],
    );
    if (!state) {
      const [held] = await rawQuery<{ first: number | null; last: number | null }>(
        db,
        d,
        // Two subqueries: each reads one end of the rowid B-tree, where `min(seq), max(seq)` together scan the table.
        'select (select min(seq) from processed_recent) as first, (select max(seq) from processed_recent) as last',
        [],
      );
      if (held?.last === null || held?.last === undefined) return;
      if (Number(held.last) - Number(held.first) + 1 < recentKeys) return;
      state = { upto: Number(held.last), after_source: null, after_message: null };
      await rawQuery(db, d, 'insert into processed_merge (id, upto) values (1, ?)', [state.upto]);
    }
    // The merge's key order, sorted once: a table of this connection (temporary, in memory, rolled back with the
    // batch), built again from the cursor after a restart.
    const [order] = await rawQuery<{ n: number }>(
      db,
      d,
      "select count(*) as n from sqlite_temp_master where name = 'processed_merge_order'",
      [],
    );
    if (Number(order.n) === 0) {
      await rawQuery(
        db,
        d,
        'create temp table processed_merge_order (n integer primary key, seq integer not null, source_id text not null, message_id text not null)',
        [],
      );
      const after = state.after_source === null ? '' : 'and (source_id, message_id) > (?, ?)';
      await rawQuery(
        db,
        d,
        `insert into temp.processed_merge_order (seq, source_id, message_id) select seq, source_id, message_id from processed_recent where seq <= ? ${after} order by source_id, message_id`,
        state.after_source === null ? [state.upto] : [state.upto, state.after_source, state.after_message],
      );
    }
    // At least twice what the batch appended, so a merge ends before the next one is due.
    const size = Math.max(2 * written, Math.ceil(recentKeys / 8));
    const slice = await rawQuery<{ n: number; seq: number; source_id: string; message_id: string }>(
      db,
      d,
      'select n, seq, source_id, message_id from temp.processed_merge_order order by n limit ?',
      [size],
    );
    for (const part of chunk(slice, 1, d.maxParameters)) {
      await rawQuery(
        db,
        d,
        // A key present in both levels would be a caller's error; the merge keeps the first rather than stop.
        `insert into processed_messages (${PROCESSED_COLUMNS}) select ${PROCESSED_COLUMNS} from processed_recent where seq in (${list(part.length)}) order by source_id, message_id on conflict do nothing`,
        part.map((r) => r.seq),
      );
    }
    if (slice.length < size) {
      await rawQuery(db, d, 'delete from processed_recent where seq <= ?', [state.upto]);
      await rawQuery(db, d, 'delete from processed_merge where id = 1', []);
      await rawQuery(db, d, 'drop table temp.processed_merge_order', []);
      return;
    }
    const last = slice[slice.length - 1];
    await rawQuery(db, d, 'delete from temp.processed_merge_order where n <= ?', [last.n]);
    // The key as sorted, not read again from `processed_recent`: an erasure may have deleted its row meanwhile.
    await rawQuery(db, d, 'update processed_merge set after_source = ?, after_message = ? where id = 1', [
      last.source_id,
      last.message_id,
    ]);
  };

  return {
    async existing(sourceId, messageIds) {
      return new Set((await lookUp(sourceId, messageIds)).keys());
    },
    processedAt: lookUp,
    async insert(rows) {
      if (rows.length === 0) return;
      const direct: ProcessedRow[] = [];
      const recent: ProcessedRow[] = [];
      if (!d.singleWriter) direct.push(...rows);
      else {
        for (const group of groupBy(rows, (r) => r.sourceId).values())
          (clustered(group.map((r) => r.messageId)) ? direct : recent).push(...group);
      }
      await insertRows(db, d, `insert into processed_messages (${PROCESSED_COLUMNS})`, 6, direct, (r, out) =>
        out.push(r.sourceId, r.messageId, r.eventId, r.processedAt, r.batchSeq ?? null, r.logPosition ?? null),
      );
      await insertRows(db, d, `insert into processed_recent (h, ${PROCESSED_COLUMNS})`, 7, recent, (r, out) =>
        out.push(
          processedKeyHash(r.sourceId, r.messageId),
          r.sourceId,
          r.messageId,
          r.eventId,
          r.processedAt,
          r.batchSeq ?? null,
          r.logPosition ?? null,
        ),
      );
      if (d.singleWriter) await mergeSlice(recent.length);
    },
    async nextBatchSeq() {
      if (d.singleWriter) return null;
      const [row] = await rawQuery<{ n: string | number }>(db, d, "select nextval('batch_seq') as n", []);
      return Number(row.n);
    },
  };
}
