import type { Kysely } from 'kysely';
import type { AuditEntry, AuditStore, UserRow, UserStore } from '../../auth/ports.js';
import type { Role } from '../../auth/principal.js';
import type { TokenRow, TokenStore } from '../../sources/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { chunk } from './chunk.js';
import { fromJson, toJson } from './json.js';
import { list, rawQuery } from './raw.js';

const num = (v: number | null) => (v === null ? null : Number(v));

const toToken = (r: Database['api_tokens']): TokenRow => ({
  id: r.id,
  name: r.name,
  tokenHash: r.token_hash,
  roles: fromJson(r.roles),
  createdAt: Number(r.created_at),
  expiresAt: num(r.expires_at),
  userId: r.user_id,
  kind: r.kind as TokenRow['kind'],
  revokedAt: num(r.revoked_at),
});

export function createTokenStore(db: Kysely<Database>): TokenStore {
  return {
    async create(row) {
      await db
        .insertInto('api_tokens')
        .values({
          id: row.id,
          name: row.name,
          token_hash: row.tokenHash,
          roles: toJson(row.roles),
          created_at: row.createdAt,
          expires_at: row.expiresAt,
          user_id: row.userId,
          kind: row.kind,
          revoked_at: row.revokedAt,
        })
        .execute();
    },
    async byHash(hash) {
      const r = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
      return r ? toToken(r) : undefined;
    },
    async get(id) {
      const r = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toToken(r) : undefined;
    },
    async list(opts) {
      let q = db.selectFrom('api_tokens').selectAll().where('kind', '=', 'api');
      if (opts.userId !== undefined) q = q.where('user_id', '=', opts.userId);
      return (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1000).execute()).map(toToken);
    },
    async revoke(id, at) {
      const r = await db
        .updateTable('api_tokens')
        .set({ revoked_at: at })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async revokeSessionsOf(userId, at, opts = {}) {
      let q = db.updateTable('api_tokens').set({ revoked_at: at }).where('user_id', '=', userId);
      if (!opts.apiTokensToo) q = q.where('kind', '=', 'session');
      const r = await q.where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async count() {
      const r = await db
        .selectFrom('api_tokens')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },
  };
}

const toUser = (r: Database['users']): UserRow => ({
  id: r.id,
  email: r.email,
  name: r.name,
  passwordHash: r.password_hash,
  roles: fromJson<Role[]>(r.roles),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  disabledAt: num(r.disabled_at),
});

export function createUserStore(db: Kysely<Database>): UserStore {
  return {
    async create(u) {
      await db
        .insertInto('users')
        .values({
          id: u.id,
          email: u.email,
          name: u.name,
          password_hash: u.passwordHash,
          roles: toJson(u.roles),
          created_at: u.createdAt,
          updated_at: u.updatedAt,
          disabled_at: u.disabledAt,
        })
        .execute();
    },
    async get(id) {
      const r = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toUser(r) : undefined;
    },
    async byEmail(email) {
      const r = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
      return r ? toUser(r) : undefined;
    },
    async list() {
      return (await db.selectFrom('users').selectAll().orderBy('email').limit(10_000).execute()).map(toUser);
    },
    async update(id, patch, at) {
      const u = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      if (!u) return;
      await db
        .updateTable('users')
        .set({
          updated_at: at,
          name: patch.name ?? u.name,
          roles: patch.roles !== undefined ? toJson(patch.roles) : u.roles,
          password_hash: patch.passwordHash ?? u.password_hash,
          disabled_at: patch.disabledAt !== undefined ? patch.disabledAt : u.disabled_at,
        })
        .where('id', '=', id)
        .execute();
    },
    async count() {
      const r = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },
  };
}

const toAudit = (r: Database['audit_log']): AuditEntry => ({
  id: r.id,
  at: Number(r.at),
  actor: r.actor,
  action: r.action,
  route: r.route,
  status: Number(r.status),
  profileId: r.profile_id,
  target: r.target,
});

/**
 * Blanks the profile of the entries naming one of those profiles, and their `target` (the path's ids, `id=prof_…` for
 * a change of that profile): erasure's strategy for the table, and the store's.
 */
export async function blankAuditProfiles(db: Kysely<Database>, d: SqlDialect, profileIds: readonly string[]) {
  let n = 0;
  for (const part of chunk(profileIds, 1, d.maxParameters)) {
    if (part.length === 0) continue;
    const rows = await rawQuery<{ one: number }>(
      db,
      d,
      `update audit_log set profile_id = null, target = null where profile_id in (${list(part.length)}) returning 1 as one`,
      part,
    );
    n += rows.length;
  }
  return n;
}

export function createAuditStore(db: Kysely<Database>, d: SqlDialect): AuditStore {
  return {
    forgetProfiles: (profileIds) => blankAuditProfiles(db, d, profileIds),
    async append(rows) {
      // 8 columns: 100 rows per statement stays far below SQLite's parameter limit.
      for (let i = 0; i < rows.length; i += 100) {
        await db
          .insertInto('audit_log')
          .values(
            rows.slice(i, i + 100).map((e) => ({
              id: e.id,
              at: e.at,
              actor: e.actor,
              action: e.action,
              route: e.route,
              status: e.status,
              profile_id: e.profileId,
              target: e.target,
            })),
          )
          .execute();
      }
    },
    async list(opts) {
      let q = db.selectFrom('audit_log').selectAll();
      if (opts.actor !== undefined) q = q.where('actor', '=', opts.actor);
      if (opts.profileId !== undefined) q = q.where('profile_id', '=', opts.profileId);
      if (opts.action !== undefined) q = q.where('action', '=', opts.action);
      if (opts.since !== undefined) q = q.where('at', '>=', opts.since);
      const before = opts.before;
      if (before)
        q = q.where((eb) =>
          eb.or([eb('at', '<', before.at), eb.and([eb('at', '=', before.at), eb('id', '<', before.id)])]),
        );
      return (await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(opts.limit).execute()).map(toAudit);
    },
  };
}
