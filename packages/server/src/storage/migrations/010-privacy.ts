import type { SqlDialect } from '../dialect.js';

/**
 * Privacy (issue 7, `docs/privacy.md`).
 * - `privacy_requests`: data-subject requests (access, erase) with their status and proof. The identifier asked for
 *   is kept only as its suppression hash (HMAC-SHA256 with the instance secret): a request row must not re-create
 *   the person it erased.
 * - `suppressions`: HMAC-SHA256 of each normalised identifier of an erased person; later data carrying one is
 *   dropped before the log append and again in the pipeline. A reference table (every api node checks it).
 */
export function privacySchema(d: SqlDialect): string[] {
  const ts = d.timeType;
  return [
    `create table privacy_requests (id ${d.idType} not null, type text not null, identifier_type text not null, identifier_hash text not null, status text not null, created_at ${ts} not null, created_by text not null, completed_at ${ts}, profile_count integer not null, proof ${d.jsonType}, error text, primary key (id))`,
    'create index privacy_requests_created on privacy_requests (created_at)',
    `create table suppressions (hash text not null, created_at ${ts} not null, request_id ${d.idType} not null, primary key (hash))`,
  ];
}
