import type { Kysely } from 'kysely';
import type { PrivacyRequestRow, PrivacyRequestStore, SuppressionStore } from '../../privacy/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { chunk } from './chunk.js';
import { fromJson, toJson } from './json.js';
import { list, rawQuery, rowsOf } from './raw.js';

const toRequest = (r: Database['privacy_requests']): PrivacyRequestRow => ({
  id: r.id,
  type: r.type as PrivacyRequestRow['type'],
  identifierType: r.identifier_type,
  identifierHash: r.identifier_hash,
  status: r.status as PrivacyRequestRow['status'],
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
  completedAt: r.completed_at === null ? null : Number(r.completed_at),
  profileCount: Number(r.profile_count),
  proof: r.proof === null ? null : fromJson<Record<string, unknown>>(r.proof),
  error: r.error,
});

export function createPrivacyRequestStore(db: Kysely<Database>, d: SqlDialect): PrivacyRequestStore {
  return {
    async create(r) {
      await rawQuery(
        db,
        d,
        `insert into privacy_requests (id, type, identifier_type, identifier_hash, status, created_at, created_by, completed_at, profile_count, proof, error)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          r.id,
          r.type,
          r.identifierType,
          r.identifierHash,
          r.status,
          r.createdAt,
          r.createdBy,
          r.completedAt,
          r.profileCount,
          r.proof === null ? null : toJson(r.proof),
          r.error,
        ],
      );
    },
    async finish(id, o) {
      await rawQuery(
        db,
        d,
        'update privacy_requests set status = ?, completed_at = ?, profile_count = ?, proof = ?, error = ? where id = ?',
        [o.status, o.completedAt, o.profileCount, o.proof === null ? null : toJson(o.proof), o.error, id],
      );
    },
    async get(id) {
      const [row] = await rawQuery<Database['privacy_requests']>(db, d, 'select * from privacy_requests where id = ?', [
        id,
      ]);
      return row ? toRequest(row) : undefined;
    },
    async list(opts) {
      const rows = await rawQuery<Database['privacy_requests']>(
        db,
        d,
        `select * from privacy_requests${opts.before ? ' where created_at < ? or (created_at = ? and id < ?)' : ''}
         order by created_at desc, id desc limit ?`,
        opts.before ? [opts.before.createdAt, opts.before.createdAt, opts.before.id, opts.limit] : [opts.limit],
      );
      return rows.map(toRequest);
    },
  };
}

export function createSuppressionStore(db: Kysely<Database>, d: SqlDialect): SuppressionStore {
  return {
    async add(hashes, requestId, at) {
      for (const part of chunk(hashes, 3, d.maxParameters)) {
        await rawQuery(
          db,
          d,
          `insert into suppressions (hash, created_at, request_id) values ${rowsOf(3, part.length)} on conflict (hash) do nothing`,
          part.flatMap((h) => [h, at, requestId]),
        );
      }
    },
    async matching(hashes) {
      const out = new Set<string>();
      for (const part of chunk(hashes, 1, 2000)) {
        if (part.length === 0) continue;
        const rows = await rawQuery<{ hash: string }>(
          db,
          d,
          `select hash from suppressions where hash in (${list(part.length)})`,
          part,
        );
        for (const r of rows) out.add(r.hash);
      }
      return out;
    },
    async all() {
      return (await rawQuery<{ hash: string }>(db, d, 'select hash from suppressions', [])).map((r) => r.hash);
    },
    async count() {
      const [row] = await rawQuery<{ n: number }>(db, d, 'select count(*) as n from suppressions', []);
      return Number(row?.n ?? 0);
    },
  };
}
