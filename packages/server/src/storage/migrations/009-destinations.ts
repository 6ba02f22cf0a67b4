import type { SqlDialect } from '../dialect.js';

/**
 * Destinations and delivery (issue 6, `docs/destinations.md`).
 * - `destinations`: the configured destinations (a reference table: few rows, read by every worker); `version`
 *   grows with each save, `destination_versions` keeps each one with its author.
 * - `deliveries`: the outbox of every destination, its dead-letter queue and its delivery log in one table: one row
 *   per message routed to a destination, snapshotted (`payload`), with its status (`pending`, `delivered`, `dead`,
 *   `skipped`), attempts, next attempt, lease and last error. Person-owned, by `profile_id`; the id is derived from
 *   the destination and the change, so routing a change twice writes one row.
 * - `destination_limits`: the token bucket of each rate-limited destination, shared by every worker.
 * - `messages`: marketing messages sent to a person (by a messaging destination, or a `Message Sent` event), counted
 *   by the pressure caps. Person-owned.
 */
export function destinationsSchema(d: SqlDialect): string[] {
  const ts = d.timeType;
  const id = d.idType;
  return [
    `create table destinations (id ${id} not null, name text not null, type text not null, config ${d.jsonType} not null, subscription ${d.jsonType} not null, purpose text, channel text, enabled integer not null, rate_per_second double precision, max_retry_hours double precision not null, version integer not null, created_at ${ts} not null, created_by text not null, updated_at ${ts} not null, updated_by text not null, deleted_at ${ts}, primary key (id))`,
    `create table destination_versions (destination_id ${id} not null, version integer not null, name text not null, type text not null, config ${d.jsonType} not null, subscription ${d.jsonType} not null, purpose text, channel text, enabled integer not null, rate_per_second double precision, max_retry_hours double precision not null, deleted integer not null, created_at ${ts} not null, created_by text not null, primary key (destination_id, version))`,
    `create table deliveries (profile_id ${id} not null, id ${id} not null, destination_id ${id} not null, change_id ${id} not null, kind text not null, payload ${d.jsonType} not null, status text not null, reason text, sync_key text, attempts integer not null, next_attempt_at ${ts} not null, leased_until ${ts}, last_status integer, created_at ${ts} not null, updated_at ${ts} not null, finished_at ${ts}, primary key (profile_id, id))`,
    `create index deliveries_due on deliveries (destination_id, next_attempt_at) where status = 'pending'`,
    'create index deliveries_log on deliveries (destination_id, created_at)',
    `create index deliveries_dead on deliveries (destination_id, created_at) where status = 'dead'`,
    `create index deliveries_sync on deliveries (destination_id, sync_key) where status = 'pending'`,
    `create table destination_limits (destination_id ${id} not null, tokens double precision not null, updated_at ${ts} not null, primary key (destination_id))`,
    `create table messages (profile_id ${id} not null, id ${id} not null, channel text not null, at ${ts} not null, destination_id ${id}, delivery_id ${id}, origin text not null, primary key (profile_id, id))`,
    'create index messages_profile_at on messages (profile_id, at)',
  ];
}
