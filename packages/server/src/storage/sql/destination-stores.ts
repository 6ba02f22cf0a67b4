import type { MessageChannel, Subscription } from '@tessera/protocol';
import type { Kysely } from 'kysely';
import type { DestinationRow, DestinationStore, DestinationVersionRow } from '../../destinations/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { fromJson, toJson } from './json.js';
import { num, numOrNull } from './numbers.js';
import { rawQuery } from './raw.js';

const toDestination = (r: Database['destinations']): DestinationRow => ({
  id: r.id,
  name: r.name,
  type: r.type,
  config: fromJson<Record<string, unknown>>(r.config),
  subscription: fromJson<Subscription>(r.subscription),
  purpose: r.purpose,
  channel: r.channel as MessageChannel | null,
  enabled: Boolean(r.enabled),
  ratePerSecond: numOrNull(r.rate_per_second),
  maxRetryHours: num(r.max_retry_hours),
  version: num(r.version),
  createdAt: num(r.created_at),
  createdBy: r.created_by,
  updatedAt: num(r.updated_at),
  updatedBy: r.updated_by,
  deletedAt: numOrNull(r.deleted_at),
});

const toVersion = (r: Database['destination_versions']): DestinationVersionRow => ({
  destinationId: r.destination_id,
  version: num(r.version),
  name: r.name,
  type: r.type,
  config: fromJson<Record<string, unknown>>(r.config),
  subscription: fromJson<Subscription>(r.subscription),
  purpose: r.purpose,
  channel: r.channel as MessageChannel | null,
  enabled: Boolean(r.enabled),
  ratePerSecond: numOrNull(r.rate_per_second),
  maxRetryHours: num(r.max_retry_hours),
  deleted: Boolean(r.deleted),
  createdAt: num(r.created_at),
  createdBy: r.created_by,
});

export function createDestinationStore(db: Kysely<Database>, d: SqlDialect): DestinationStore {
  return {
    async list(opts = {}) {
      const rows = await rawQuery<Database['destinations']>(
        db,
        d,
        `select * from destinations${opts.deleted ? '' : ' where deleted_at is null'} order by created_at, id`,
        [],
      );
      return rows.map(toDestination);
    },
    async get(id) {
      const [row] = await rawQuery<Database['destinations']>(db, d, 'select * from destinations where id = ?', [id]);
      return row ? toDestination(row) : undefined;
    },
    async save(r) {
      const shared = [
        r.name,
        r.type,
        toJson(r.config),
        toJson(r.subscription),
        r.purpose,
        r.channel,
        r.enabled ? 1 : 0,
        r.ratePerSecond,
        r.maxRetryHours,
        r.version,
      ];
      await rawQuery(
        db,
        d,
        `insert into destinations (name, type, config, subscription, purpose, channel, enabled, rate_per_second, max_retry_hours, version, id, created_at, created_by, updated_at, updated_by, deleted_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (id) do update set name = excluded.name, type = excluded.type, config = excluded.config,
           subscription = excluded.subscription, purpose = excluded.purpose, channel = excluded.channel,
           enabled = excluded.enabled, rate_per_second = excluded.rate_per_second,
           max_retry_hours = excluded.max_retry_hours, version = excluded.version, updated_at = excluded.updated_at,
           updated_by = excluded.updated_by, deleted_at = excluded.deleted_at`,
        [...shared, r.id, r.createdAt, r.createdBy, r.updatedAt, r.updatedBy, r.deletedAt],
      );
      await rawQuery(
        db,
        d,
        `insert into destination_versions (name, type, config, subscription, purpose, channel, enabled, rate_per_second, max_retry_hours, version, destination_id, deleted, created_at, created_by)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [...shared, r.id, r.deletedAt === null ? 0 : 1, r.updatedAt, r.updatedBy],
      );
    },
    async versions(id) {
      const rows = await rawQuery<Database['destination_versions']>(
        db,
        d,
        'select * from destination_versions where destination_id = ? order by version',
        [id],
      );
      return rows.map(toVersion);
    },
    async takeTokens(destinationId, want, ratePerSecond, burst, now) {
      // Row-locked read-modify-write: the row is made to exist first (a full bucket), so that two workers in
      // PostgreSQL taking from a new bucket serialise on it too; SQLite has one writer.
      await rawQuery(
        db,
        d,
        'insert into destination_limits (destination_id, tokens, updated_at) values (?, ?, ?) on conflict (destination_id) do nothing',
        [destinationId, burst, now],
      );
      const [row] = await rawQuery<{ tokens: number; updated_at: number }>(
        db,
        d,
        `select tokens, updated_at from destination_limits where destination_id = ?${d.singleWriter ? '' : ' for update'}`,
        [destinationId],
      );
      const before = Math.min(
        burst,
        num(row?.tokens ?? burst) + (Math.max(0, now - num(row?.updated_at ?? now)) / 1000) * ratePerSecond,
      );
      // A negative `want` gives tokens back (a claim found fewer rows than it took tokens for).
      const taken = want < 0 ? want : Math.max(0, Math.min(want, Math.floor(before)));
      await rawQuery(db, d, 'update destination_limits set tokens = ?, updated_at = ? where destination_id = ?', [
        Math.min(burst, before - taken),
        Math.max(now, num(row?.updated_at ?? now)),
        destinationId,
      ]);
      return taken;
    },
  };
}
