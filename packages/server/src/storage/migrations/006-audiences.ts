import type { SqlDialect } from '../dialect.js';

/**
 * Audiences (DESIGN §6, `docs/audiences.md`).
 * - `audiences`: the current definition of each audience by key, with its version and recomputation state
 *   (`recompute_requested_at` later than `computed_at`: the scheduler recomputes it in full). A deleted audience
 *   keeps its row (`deleted_at`) until its members have exited.
 * - `audience_versions`: every version ever saved, never changed (who, when, what).
 * - `audience_memberships`: one row per stay of a profile in an audience: entered at, exited at (null while it is a
 *   member), the definition versions that decided both, and why it exited. Person-owned, by `profile_id` (a survivor
 *   when entered). At most one open stay per profile and audience; members of an audience are listed through a
 *   partial index on the open stays.
 * - `audience_rechecks`: per profile, the next instant its memberships may change with nothing but time passing
 *   (an event entering or leaving a relative window); the scheduler re-evaluates due profiles.
 * New tables carry their distribution column in their key and `not null` from the start, in both dialects.
 */
export function audiencesSchema(d: SqlDialect): string[] {
  const id = d.idType;
  const ts = d.timeType;
  return [
    `create table audiences (key text not null, name text not null, description text, definition ${d.jsonType} not null, version integer not null, created_at ${ts} not null, created_by text not null, updated_at ${ts} not null, updated_by text not null, deleted_at ${ts}, recompute_requested_at ${ts}, computed_at ${ts}, computed_version integer, primary key (key))`,
    `create table audience_versions (key text not null, version integer not null, name text not null, description text, definition ${d.jsonType} not null, deleted integer not null, created_at ${ts} not null, created_by text not null, primary key (key, version))`,
    `create table audience_memberships (id ${id} not null, audience_key text not null, profile_id ${id} not null, entered_at ${ts} not null, exited_at ${ts}, entered_version integer not null, exited_version integer, exit_reason text, primary key (profile_id, id))`,
    'create unique index audience_memberships_open on audience_memberships (profile_id, audience_key) where exited_at is null',
    'create index audience_memberships_members on audience_memberships (audience_key, profile_id) where exited_at is null',
    `create table audience_rechecks (profile_id ${id} not null, due_at ${ts} not null, primary key (profile_id))`,
    'create index audience_rechecks_due on audience_rechecks (due_at)',
  ];
}
