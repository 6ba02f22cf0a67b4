import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { LogEntry } from '../../ingest/logged-event.js';
import type { IngestLogStore, QuarantineRow, QuarantineStore } from '../../ingest/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { chunk } from './chunk.js';
import { rawQuery, rowsOf } from './raw.js';

/** The log over `logDb` (its own file in SQLite); consumer offsets over `db`, inside the effects transaction. */
const toLogEntry = (r: Database['ingest_log']): LogEntry => ({
  position: Number(r.position),
  sourceId: r.source_id,
  messageId: r.message_id,
  receivedAt: Number(r.received_at),
  payload: r.payload,
  rejection: r.rejection ? (JSON.parse(r.rejection) as { code: string; reason: string }) : null,
});

export function createIngestLogStore(logDb: Kysely<Database>, db: Kysely<Database>, d: SqlDialect): IngestLogStore {
  return {
    async append(entries) {
      if (entries.length === 0) return [];
      // One transaction for the whole group: one commit, and all or nothing.
      return logDb.transaction().execute(async (trx) => {
        if (d.serialiseAppendsSql) await sql.raw(d.serialiseAppendsSql).execute(trx);
        const positions: number[] = [];
        for (const part of chunk(entries, 5, d.maxParameters)) {
          const params: unknown[] = [];
          for (const e of part)
            params.push(
              e.sourceId,
              e.messageId,
              e.receivedAt,
              e.payload,
              e.rejection ? JSON.stringify(e.rejection) : null,
            );
          const insert = `insert into ingest_log (source_id, message_id, received_at, payload, rejection) values ${rowsOf(5, part.length)}`;
          if (d.singleWriter) {
            // One writer, inside its write transaction: the rows of one insert take consecutive positions (each the
            // largest ever given + 1), so the last one and the count say them all. `returning` cost a quarter of the
            // insert (0.7 µs an event, docs/performance.md, session 20).
            const r = await trx.executeQuery(CompiledQuery.raw(insert, params));
            const last = Number(r.insertId);
            if (Number(r.numAffectedRows) !== part.length || !Number.isSafeInteger(last))
              throw new Error(`the log append stored ${r.numAffectedRows} of ${part.length} entries`);
            for (let p = last - part.length + 1; p <= last; p++) positions.push(p);
          } else {
            const rows = await rawQuery<{ position: number }>(trx, d, `${insert} returning position`, params);
            for (const r of rows) positions.push(Number(r.position));
          }
        }
        return positions;
      });
    },
    async read(after, limit) {
      const rows = await rawQuery<Database['ingest_log']>(
        logDb,
        d,
        'select * from ingest_log where position > ? order by position limit ?',
        [after, limit],
      );
      return rows.map(toLogEntry);
    },
    async recent(sourceId, opts) {
      const last = await this.lastPosition();
      const rows = await rawQuery<Database['ingest_log']>(
        logDb,
        d,
        'select * from ingest_log where position > ? and source_id = ? order by position desc limit ?',
        [Math.max(opts.after, last - opts.scan), sourceId, opts.limit],
      );
      return rows.map(toLogEntry);
    },
    async lastPosition() {
      const row = await logDb
        .selectFrom('ingest_log')
        .select((eb) => eb.fn.max('position').as('p'))
        .executeTakeFirst();
      return Number(row?.p ?? 0);
    },
    async offset(consumer) {
      const row = await db
        .selectFrom('log_offsets')
        .select('position')
        .where('consumer', '=', consumer)
        .executeTakeFirst();
      return Number(row?.position ?? 0);
    },
    async commitOffset(consumer, position) {
      await db
        .insertInto('log_offsets')
        .values({ consumer, position })
        .onConflict((oc) => oc.column('consumer').doUpdateSet({ position }))
        .execute();
    },
    async positionsAbove(position) {
      for (const statement of d.sequenceAtLeast('ingest_log', 'position', position))
        await sql.raw(statement).execute(logDb);
    },
    async receivedAtAfter(after) {
      const row = await logDb
        .selectFrom('ingest_log')
        .select('received_at')
        .where('position', '>', after)
        .orderBy('position')
        .limit(1)
        .executeTakeFirst();
      return row ? Number(row.received_at) : undefined;
    },
    async positionBefore(time) {
      const row = await logDb
        .selectFrom('ingest_log')
        .select((eb) => eb.fn.min('position').as('p'))
        .where('received_at', '>=', time)
        .executeTakeFirst();
      if (row?.p !== null && row?.p !== undefined) return Number(row.p) - 1;
      const last = await logDb
        .selectFrom('ingest_log')
        .select((eb) => eb.fn.max('position').as('p'))
        .executeTakeFirst();
      return Number(last?.p ?? 0);
    },
  };
}

function toQuarantine(r: Database['quarantine']): QuarantineRow {
  return {
    id: r.id,
    sourceId: r.source_id,
    receivedAt: Number(r.received_at),
    code: r.code,
    reason: r.reason,
    messageId: r.message_id,
    payload: r.payload,
    status: r.status as QuarantineRow['status'],
    logPosition: r.log_position === null ? null : Number(r.log_position),
    replayedAt: r.replayed_at === null ? null : Number(r.replayed_at),
  };
}

export function createQuarantineStore(db: Kysely<Database>, d: SqlDialect): QuarantineStore {
  return {
    async insert(rows) {
      for (const part of chunk(rows, 10, d.maxParameters)) {
        await db
          .insertInto('quarantine')
          .values(
            part.map((r) => ({
              id: r.id,
              source_id: r.sourceId,
              received_at: r.receivedAt,
              code: r.code,
              reason: r.reason,
              message_id: r.messageId,
              payload: r.payload,
              status: r.status,
              log_position: r.logPosition,
              replayed_at: r.replayedAt,
            })),
          )
          .execute();
      }
    },
    async list(sourceId, opts) {
      let q = db.selectFrom('quarantine').selectAll().where('source_id', '=', sourceId);
      if (opts.status) q = q.where('status', '=', opts.status);
      if (opts.after) q = q.where('id', '>', opts.after);
      const rows = await q.orderBy('id').limit(opts.limit).execute();
      return rows.map(toQuarantine);
    },
    async atPositions(positions) {
      const out: QuarantineRow[] = [];
      for (const part of chunk(positions, 1, d.maxParameters)) {
        if (part.length === 0) continue;
        const rows = await rawQuery<Database['quarantine']>(
          db,
          d,
          `select * from quarantine where log_position in (${part.map(() => '?').join(', ')})`,
          part,
        );
        out.push(...rows.map(toQuarantine));
      }
      return out;
    },
    async get(id) {
      const r = await db.selectFrom('quarantine').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toQuarantine(r) : undefined;
    },
    async hasOpen(sourceId, messageId) {
      const r = await db
        .selectFrom('quarantine')
        .select('id')
        .where('source_id', '=', sourceId)
        .where('message_id', '=', messageId)
        .where('status', '=', 'open')
        .limit(1)
        .executeTakeFirst();
      return r !== undefined;
    },
    async reopen(id) {
      await db.updateTable('quarantine').set({ status: 'open', replayed_at: null }).where('id', '=', id).execute();
    },
    async markReplayed(id, at) {
      await db.updateTable('quarantine').set({ status: 'replayed', replayed_at: at }).where('id', '=', id).execute();
    },
  };
}
