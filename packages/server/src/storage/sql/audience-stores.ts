import type { AudienceDefinition } from '@tessera/protocol';
import type { Kysely } from 'kysely';
import type {
  AudienceRow,
  AudienceStore,
  AudienceVersionRow,
  ExitReason,
  MembershipRow,
  MembershipStore,
  RfmRow,
  RfmStore,
} from '../../audiences/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { chunk } from './chunk.js';
import { fromJson, toJson } from './json.js';
import { insertRows, list, rawQuery } from './raw.js';

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

const toAudience = (r: Database['audiences']): AudienceRow => ({
  key: r.key,
  name: r.name,
  description: r.description,
  definition: fromJson<AudienceDefinition>(r.definition),
  version: Number(r.version),
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
  updatedAt: Number(r.updated_at),
  updatedBy: r.updated_by,
  deletedAt: num(r.deleted_at),
  recomputeRequestedAt: num(r.recompute_requested_at),
  computedAt: num(r.computed_at),
  computedVersion: num(r.computed_version),
});

const toVersion = (r: Database['audience_versions']): AudienceVersionRow => ({
  key: r.key,
  version: Number(r.version),
  name: r.name,
  description: r.description,
  definition: fromJson<AudienceDefinition>(r.definition),
  deleted: Number(r.deleted) === 1,
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
});

export function createAudienceStore(db: Kysely<Database>, d: SqlDialect): AudienceStore {
  return {
    async list(opts = {}) {
      const rows = await rawQuery<Database['audiences']>(
        db,
        d,
        `select * from audiences${opts.includeDeleted ? '' : ' where deleted_at is null'}`,
        [],
      );
      // By key in code-unit order: a PostgreSQL `order by` would follow the database's collation.
      return rows.map(toAudience).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async get(key) {
      const [row] = await rawQuery<Database['audiences']>(db, d, 'select * from audiences where key = ?', [key]);
      return row ? toAudience(row) : undefined;
    },
    async save(a) {
      const definition = toJson(a.definition);
      await rawQuery(
        db,
        d,
        `insert into audiences (key, name, description, definition, version, created_at, created_by, updated_at, updated_by, deleted_at, recompute_requested_at, computed_at, computed_version)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (key) do update set name = excluded.name, description = excluded.description, definition = excluded.definition,
           version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by, deleted_at = excluded.deleted_at,
           recompute_requested_at = excluded.recompute_requested_at, computed_at = excluded.computed_at, computed_version = excluded.computed_version`,
        [
          a.key,
          a.name,
          a.description,
          definition,
          a.version,
          a.createdAt,
          a.createdBy,
          a.updatedAt,
          a.updatedBy,
          a.deletedAt,
          a.recomputeRequestedAt,
          a.computedAt,
          a.computedVersion,
        ],
      );
      await rawQuery(
        db,
        d,
        'insert into audience_versions (key, version, name, description, definition, deleted, created_at, created_by) values (?, ?, ?, ?, ?, ?, ?, ?)',
        [a.key, a.version, a.name, a.description, definition, a.deletedAt === null ? 0 : 1, a.updatedAt, a.updatedBy],
      );
    },
    async versions(key) {
      const rows = await rawQuery<Database['audience_versions']>(
        db,
        d,
        'select * from audience_versions where key = ? order by version desc',
        [key],
      );
      return rows.map(toVersion);
    },
    async lock(keys, mode) {
      if (d.singleWriter || keys.length === 0) return;
      const sorted = [...new Set(keys)].sort();
      await rawQuery(
        db,
        d,
        `select key from audiences where key in (${list(sorted.length)}) order by key for ${mode === 'share' ? 'share' : 'update'}`,
        sorted,
      );
    },
    async requestRecompute(key, at) {
      await rawQuery(db, d, 'update audiences set recompute_requested_at = ? where key = ?', [at, key]);
    },
    async markComputed(key, version, at) {
      await rawQuery(
        db,
        d,
        'update audiences set computed_at = ?, computed_version = ?, recompute_requested_at = null where key = ?',
        [at, version, key],
      );
    },
    async remove(key) {
      await rawQuery(db, d, 'delete from audiences where key = ? and deleted_at is not null', [key]);
    },
  };
}

const toMembership = (r: Database['audience_memberships']): MembershipRow => ({
  id: r.id,
  audienceKey: r.audience_key,
  profileId: r.profile_id,
  enteredAt: Number(r.entered_at),
  exitedAt: num(r.exited_at),
  enteredVersion: Number(r.entered_version),
  exitedVersion: num(r.exited_version),
  exitReason: r.exit_reason as ExitReason | null,
});

/** Runs `fn` on slices of `ids` that fit the dialect's parameter limit (with `extra` other parameters). */
async function inSlices<T>(
  d: SqlDialect,
  ids: readonly string[],
  extra: number,
  fn: (part: readonly string[]) => Promise<T[]>,
): Promise<T[]> {
  const out: T[] = [];
  for (const part of chunk(ids, 1, d.maxParameters - extra)) out.push(...(await fn(part)));
  return out;
}

export function createMembershipStore(db: Kysely<Database>, d: SqlDialect): MembershipStore {
  const bySql = (where: string) => async (profileIds: readonly string[]) => {
    const rows = await inSlices(d, profileIds, 0, (part) =>
      rawQuery<Database['audience_memberships']>(
        db,
        d,
        `select * from audience_memberships where profile_id in (${list(part.length)})${where} order by entered_at, id`,
        part,
      ),
    );
    return rows.map(toMembership);
  };
  return {
    current: bySql(' and exited_at is null'),
    history: bySql(''),
    async enter(rows) {
      await insertRows(
        db,
        d,
        'insert into audience_memberships (id, audience_key, profile_id, entered_at, exited_at, entered_version, exited_version, exit_reason)',
        8,
        rows,
        (r, out) =>
          out.push(
            r.id,
            r.audienceKey,
            r.profileId,
            r.enteredAt,
            r.exitedAt,
            r.enteredVersion,
            r.exitedVersion,
            r.exitReason,
          ),
      );
    },
    async exit(stays, at, version, reason) {
      // Ids are unique: the profile list only lets each statement reach the rows through the key's first column.
      for (const part of chunk(stays, 2, d.maxParameters - 3)) {
        const params: unknown[] = [at, version, reason];
        for (const s of part) params.push(s.profileId);
        for (const s of part) params.push(s.id);
        await rawQuery(
          db,
          d,
          `update audience_memberships set exited_at = ?, exited_version = ?, exit_reason = ? where exited_at is null and profile_id in (${list(part.length)}) and id in (${list(part.length)})`,
          params,
        );
      }
    },
    async members(key, opts) {
      const rows = await rawQuery<Database['audience_memberships']>(
        db,
        d,
        `select * from audience_memberships where audience_key = ? and exited_at is null${opts.after === undefined ? '' : ' and profile_id > ?'} order by profile_id limit ?`,
        opts.after === undefined ? [key, opts.limit] : [key, opts.after, opts.limit],
      );
      return rows.map(toMembership);
    },
    async counts() {
      const rows = await rawQuery<{ audience_key: string; n: number | string }>(
        db,
        d,
        'select audience_key, count(*) as n from audience_memberships where exited_at is null group by audience_key',
        [],
      );
      return new Map(rows.map((r) => [r.audience_key, Number(r.n)]));
    },
    async sizesAt(key, instants) {
      if (instants.length === 0) return [];
      // One pass over the audience's stays (open and closed): a sum per instant.
      const sums = instants
        .map(
          (_, i) =>
            `sum(case when entered_at <= ? and (exited_at is null or exited_at > ?) then 1 else 0 end) as c${i}`,
        )
        .join(', ');
      const [row] = await rawQuery<Record<string, number | string | null>>(
        db,
        d,
        `select ${sums} from audience_memberships where audience_key = ?`,
        [...instants.flatMap((t) => [t, t]), key],
      );
      return instants.map((_, i) => Number(row?.[`c${i}`] ?? 0));
    },
    async select(query) {
      if (d.largeQuerySql) await rawQuery(db, d, d.largeQuerySql, []);
      const rows = await rawQuery<{ id: string }>(db, d, query.text, query.params);
      return rows.map((r) => r.id);
    },
    async count(query) {
      if (d.largeQuerySql) await rawQuery(db, d, d.largeQuerySql, []);
      const [row] = await rawQuery<{ n: number | string }>(db, d, query.text, query.params);
      return Number(row?.n ?? 0);
    },
    async tally(query) {
      if (d.largeQuerySql) await rawQuery(db, d, d.largeQuerySql, []);
      const rows = await rawQuery<{ id: string; m: number | string; due?: number | string | null }>(
        db,
        d,
        query.text,
        query.params,
      );
      return rows.map((r) =>
        r.due === undefined || r.due === null
          ? { id: r.id, member: Number(r.m) === 1 }
          : { id: r.id, member: Number(r.m) === 1, due: Number(r.due) },
      );
    },
    async setRechecks(rows) {
      // The last row of a profile named twice wins (PostgreSQL refuses to upsert one row twice in a statement).
      const last = new Map(rows.map((r) => [r.profileId, r.dueAt]));
      const set = [...last].flatMap(([profileId, dueAt]) => (dueAt === null ? [] : [{ profileId, dueAt }]));
      const clear = [...last].flatMap(([profileId, dueAt]) => (dueAt === null ? [profileId] : []));
      for (const part of chunk(clear, 1, d.maxParameters))
        await rawQuery(db, d, `delete from audience_rechecks where profile_id in (${list(part.length)})`, part);
      await insertRows(
        db,
        d,
        'insert into audience_rechecks (profile_id, due_at)',
        2,
        set,
        (r, out) => out.push(r.profileId, r.dueAt),
        'on conflict (profile_id) do update set due_at = excluded.due_at',
      );
    },
    async recheckBy(rows) {
      const earliest = new Map<string, number>();
      for (const r of rows) earliest.set(r.profileId, Math.min(r.dueAt, earliest.get(r.profileId) ?? r.dueAt));
      await insertRows(
        db,
        d,
        'insert into audience_rechecks (profile_id, due_at)',
        2,
        [...earliest].map(([profileId, dueAt]) => ({ profileId, dueAt })),
        (r, out) => out.push(r.profileId, r.dueAt),
        EARLIER,
      );
    },
    async nextDue() {
      const [row] = await rawQuery<{ due: number | string | null }>(
        db,
        d,
        'select min(due_at) as due from audience_rechecks',
        [],
      );
      return row?.due === null || row?.due === undefined ? undefined : Number(row.due);
    },
    async takeDue(now, limit) {
      const rows = await rawQuery<{ profile_id: string; due_at: number | string }>(
        db,
        d,
        `delete from audience_rechecks where profile_id in (select profile_id from audience_rechecks where due_at <= ? order by due_at limit ? ${d.skipLockedSql}) returning profile_id, due_at`,
        [now, limit],
      );
      return rows
        .map((r) => ({ profileId: r.profile_id, dueAt: Number(r.due_at) }))
        .sort((a, b) => a.dueAt - b.dueAt || (a.profileId < b.profileId ? -1 : 1));
    },
  };
}

/** Upsert tail keeping the earlier of the stored and the new instant. */
const EARLIER =
  'on conflict (profile_id) do update set due_at = case when excluded.due_at < audience_rechecks.due_at then excluded.due_at else audience_rechecks.due_at end';

const toRfm = (r: Database['rfm_scores']): RfmRow => ({
  profileId: r.profile_id,
  lastAt: Number(r.last_at),
  frequency: Number(r.frequency),
  monetary: Number(r.monetary),
  r: Number(r.r),
  f: Number(r.f),
  m: Number(r.m),
  segment: r.segment,
  computedAt: Number(r.computed_at),
  settingsVersion: Number(r.settings_version),
});

export function createRfmStore(db: Kysely<Database>, d: SqlDialect): RfmStore {
  return {
    async replace(query) {
      await rawQuery(db, d, 'delete from rfm_scores', []);
      if (d.largeQuerySql) await rawQuery(db, d, d.largeQuerySql, []);
      await rawQuery(
        db,
        d,
        `insert into rfm_scores (profile_id, last_at, frequency, monetary, r, f, m, segment, computed_at, settings_version) ${query.text}`,
        query.params,
      );
      const [row] = await rawQuery<{ n: number | string }>(db, d, 'select count(*) as n from rfm_scores', []);
      return Number(row?.n ?? 0);
    },
    async get(profileIds) {
      const rows = await inSlices(d, profileIds, 0, (part) =>
        rawQuery<Database['rfm_scores']>(
          db,
          d,
          `select * from rfm_scores where profile_id in (${list(part.length)})`,
          part,
        ),
      );
      return rows.map(toRfm);
    },
    async grid() {
      const rows = await rawQuery<{ r: number | string; f: number | string; segment: string; n: number | string }>(
        db,
        d,
        'select r, f, segment, count(*) as n from rfm_scores group by r, f, segment order by r desc, f',
        [],
      );
      return rows.map((x) => ({ r: Number(x.r), f: Number(x.f), segment: x.segment, profiles: Number(x.n) }));
    },
    async lastRun() {
      const [row] = await rawQuery<{ computed_at: number | string; settings_version: number | string }>(
        db,
        d,
        'select computed_at, settings_version from rfm_scores order by computed_at desc limit 1',
        [],
      );
      return row ? { computedAt: Number(row.computed_at), settingsVersion: Number(row.settings_version) } : undefined;
    },
  };
}
