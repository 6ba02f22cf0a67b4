import type { SqlDialect } from '../dialect.js';

/**
 * Access control and audit (issue 7, `docs/access-control.md`).
 * - `users`: people who sign in to the web app; the password as scrypt (`auth/passwords.ts`), never in clear.
 * - `api_tokens` gains `user_id` (a user's session or own token: its roles are capped by the user's current ones),
 *   `kind` (`api` or `session`) and `revoked_at`.
 * - `audit_log`: every read of a profile by a person and every management change, group-committed
 *   (`auth/audit-log.ts`). `profile_id` is the profile read; an erasure blanks it (the row stays: the accountability
 *   record outlives the person's data, without naming them).
 */
export function accessSchema(d: SqlDialect): string[] {
  const ts = d.timeType;
  return [
    `create table users (id ${d.idType} not null, email text not null, name text not null, password_hash text not null, roles ${d.jsonType} not null, created_at ${ts} not null, updated_at ${ts} not null, disabled_at ${ts}, primary key (id))`,
    'create unique index users_email on users (email)',
    `alter table api_tokens add column user_id ${d.idType}`,
    `alter table api_tokens add column kind text not null default 'api'`,
    `alter table api_tokens add column revoked_at ${ts}`,
    `create table audit_log (id ${d.idType} not null, at ${ts} not null, actor text not null, action text not null, route text not null, status integer not null, profile_id ${d.idType}, target text, primary key (id))`,
    'create index audit_log_at on audit_log (at)',
    'create index audit_log_profile on audit_log (profile_id, at)',
    'create index audit_log_actor on audit_log (actor, at)',
  ];
}
