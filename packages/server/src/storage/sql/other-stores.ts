import { type Kysely, sql } from 'kysely';
import type { Change, ChangeStore } from '../../bus/ports.js';
import type { JobStore } from '../../scheduler/ports.js';
import type { SettingRow, SettingsStore } from '../../settings/ports.js';
import type { SourceRow, SourceStore } from '../../sources/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { chunk } from './chunk.js';
import { lockKey } from './identity-store.js';
import { fromJson, toJson } from './json.js';
import { insertRows, rawQuery, runsDirectly } from './raw.js';

/** A `changes` row as read (its generated `seq` a number). */
type ChangeRow = Omit<Database['changes'], 'seq'> & { seq: number };

const toChange = (r: ChangeRow): Change => ({
  seq: Number(r.seq),
  id: r.id,
  kind: r.kind,
  profileId: r.profile_id,
  payload: fromJson(r.payload),
  createdAt: Number(r.created_at),
});

export function createChangeStore(db: Kysely<Database>, d: SqlDialect): ChangeStore {
  let relayKey: number | undefined;
  return {
    async publish(changes) {
      await insertRows(db, d, 'insert into changes (id, kind, profile_id, payload, created_at)', 5, changes, (c, out) =>
        out.push(c.id, c.kind, c.profileId, toJson(c.payload), c.createdAt),
      );
      // SQLite in a transaction holding its connection: nothing else ran between the insert and this select, and the
      // rows, inserted in `values` order by the one writer, have consecutive seqs ending at this one.
      if (d.name !== 'sqlite' || changes.length === 0 || !runsDirectly(db)) return undefined;
      const [row] = await rawQuery<{ s: number }>(db, d, 'select last_insert_rowid() as s', []);
      return Number(row.s);
    },
    async read(consumer, limit) {
      const off = await db
        .selectFrom('change_offsets')
        .select('seq')
        .where('consumer', '=', consumer)
        .executeTakeFirst();
      const rows = await db
        .selectFrom('changes')
        .selectAll()
        .where('seq', '>', Number(off?.seq ?? 0))
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(toChange);
    },
    async position(consumer) {
      const off = await db
        .selectFrom('change_offsets')
        .select('seq')
        .where('consumer', '=', consumer)
        .executeTakeFirst();
      return off ? Number(off.seq) : undefined;
    },
    async after(seq, opts) {
      let q = db.selectFrom('changes').selectAll().where('seq', '>', seq);
      if (opts.through !== undefined) q = q.where('seq', '<=', opts.through);
      if (opts.kinds && opts.kinds.length > 0) q = q.where('kind', 'in', opts.kinds);
      return (await q.orderBy('seq').limit(opts.limit).execute()).map(toChange);
    },
    async commit(consumer, seq) {
      await db
        .insertInto('change_offsets')
        .values({ consumer, seq })
        .onConflict((oc) => oc.column('consumer').doUpdateSet({ seq }))
        .execute();
    },
    async take(limit) {
      // One relay at a time: rows of one profile are written in its lock order, so one relay taking the oldest
      // committed rows publishes them in that order; several could publish a later batch first.
      if (!d.singleWriter) {
        // Per schema: installs (and test runs) sharing one PostgreSQL database do not take each other's turn.
        if (relayKey === undefined) {
          const [row] = d.currentSchemaSql ? await rawQuery<{ s: string }>(db, d, d.currentSchemaSql, []) : [];
          relayKey = lockKey(`outbox-relay\u0000${row?.s ?? ''}`);
        }
        const [lock] = await rawQuery<{ ok: boolean }>(db, d, 'select pg_try_advisory_xact_lock(?) as ok', [relayKey]);
        if (!lock?.ok) return [];
      }
      const rows = await rawQuery<ChangeRow>(
        db,
        d,
        `delete from changes where seq in (select seq from changes order by seq limit ? ${d.skipLockedSql}) returning *`,
        [limit],
      );
      return rows.map(toChange).sort((a, b) => a.seq - b.seq);
    },
    async lastSeq() {
      const r = await db
        .selectFrom('changes')
        .select((eb) => eb.fn.max('seq').as('s'))
        .executeTakeFirst();
      return Number(r?.s ?? 0);
    },
    async ofProfiles(profileIds) {
      const out: Change[] = [];
      for (const part of chunk(profileIds, 1, d.maxParameters)) {
        const rows = await db.selectFrom('changes').selectAll().where('profile_id', 'in', part).execute();
        for (const r of rows) out.push(toChange(r));
      }
      return out.sort((a, b) => a.seq - b.seq);
    },
  };
}

const toSource = (r: Database['sources']): SourceRow => ({
  id: r.id,
  name: r.name,
  kind: r.kind as SourceRow['kind'],
  writeKeyHash: r.write_key_hash,
  mapping: r.mapping === null ? null : fromJson(r.mapping),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export function createSourceStore(db: Kysely<Database>): SourceStore {
  return {
    async create(row) {
      await db
        .insertInto('sources')
        .values({
          id: row.id,
          name: row.name,
          kind: row.kind,
          write_key_hash: row.writeKeyHash,
          mapping: row.mapping === null ? null : toJson(row.mapping),
          created_at: row.createdAt,
          updated_at: row.updatedAt,
        })
        .execute();
    },
    async list() {
      return (await db.selectFrom('sources').selectAll().orderBy('id').execute()).map(toSource);
    },
    async get(id) {
      const r = await db.selectFrom('sources').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toSource(r) : undefined;
    },
    async byName(name) {
      const r = await db.selectFrom('sources').selectAll().where('name', '=', name).executeTakeFirst();
      return r ? toSource(r) : undefined;
    },
    async byKeyHash(hash) {
      const r = await db.selectFrom('sources').selectAll().where('write_key_hash', '=', hash).executeTakeFirst();
      return r ? toSource(r) : undefined;
    },
    async setKeyHash(id, hash, at) {
      await db.updateTable('sources').set({ write_key_hash: hash, updated_at: at }).where('id', '=', id).execute();
    },
    async setMapping(id, mapping, at) {
      await db
        .updateTable('sources')
        .set({ mapping: toJson(mapping), updated_at: at })
        .where('id', '=', id)
        .execute();
    },
  };
}

const toSetting = (r: Database['settings']): SettingRow => ({
  key: r.key,
  version: r.version,
  value: fromJson(r.value),
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
});

export function createSettingsStore(db: Kysely<Database>): SettingsStore {
  return {
    async latest(key) {
      const { rows } = await sql<
        Database['settings']
      >`select * from settings where key = ${key} order by version desc limit 1`.execute(db);
      return rows[0] ? toSetting(rows[0]) : undefined;
    },
    async put(key, value, createdBy, at) {
      const last = await db
        .selectFrom('settings')
        .select('version')
        .where('key', '=', key)
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst();
      const row = {
        key,
        version: (last?.version ?? 0) + 1,
        value: toJson(value),
        created_at: at,
        created_by: createdBy,
      };
      await db.insertInto('settings').values(row).execute();
      return toSetting(row);
    },
    async history(key) {
      return (await db.selectFrom('settings').selectAll().where('key', '=', key).orderBy('version').execute()).map(
        toSetting,
      );
    },
  };
}

export function createJobStore(db: Kysely<Database>, d: SqlDialect): JobStore {
  return {
    async claim(name, now, everyMs, by) {
      if (!d.singleWriter) {
        const [row] = await rawQuery<{ ok: boolean }>(db, d, 'select pg_try_advisory_xact_lock(?) as ok', [
          lockKey(`job\u0000${name}`),
        ]);
        if (!row?.ok) return false;
      }
      const [last] = await rawQuery<{ last_run_at: number }>(db, d, 'select last_run_at from job_runs where name = ?', [
        name,
      ]);
      if (last && now - Number(last.last_run_at) < everyMs) return false;
      await rawQuery(
        db,
        d,
        'insert into job_runs (name, last_run_at, run_by) values (?, ?, ?) on conflict (name) do update set last_run_at = excluded.last_run_at, run_by = excluded.run_by',
        [name, now, by],
      );
      return true;
    },
    async backdate(name, claimedAt, by, to) {
      await rawQuery(
        db,
        d,
        'update job_runs set last_run_at = ? where name = ? and last_run_at = ? and run_by = ? returning name',
        [to, name, claimedAt, by],
      );
    },
    async lastRun(name) {
      const [row] = await rawQuery<Database['job_runs']>(db, d, 'select * from job_runs where name = ?', [name]);
      return row ? { at: Number(row.last_run_at), by: row.run_by } : undefined;
    },
  };
}
