import type { SqlDialect } from '../dialect.js';

/**
 * Review decisions, unmerges and remembered match decisions (DESIGN §4).
 * - `identity_review`: who decided an item and when; listed by status, and by profile and status (the queue checks
 *   that a pair is not open already; PostgreSQL's key starts with `profile_id`, SQLite's does not).
 * - `identities`: indexed by source (`identity dedupe --source`).
 * - `unmerges`: one row per merge an unmerge undid (the merge row itself is never changed); keyed like `merges`,
 *   by the survivor of the undone merge.
 * - `match_decisions`: pairs of profiles a person declared the same (`accepted`) or different (`rejected`: a review
 *   rejected, or an unmerge), read by later matcher runs. One row per side, so each side's shard holds it.
 * New tables carry their distribution column in their key and `not null` from the start, in both dialects.
 */
export function reviewUnmergeSchema(d: SqlDialect): string[] {
  const id = d.idType;
  const ts = d.timeType;
  return [
    `alter table identity_review add column decided_at ${ts}`,
    'alter table identity_review add column decided_by text',
    'create index identity_review_status on identity_review (status, id)',
    'create index identity_review_profile on identity_review (profile_id, status)',
    // `tessera identity dedupe --source S`: the identifiers a source linked.
    'create index identities_source on identities (source_id)',
    `create table unmerges (id ${id} not null, survivor_id ${id} not null, profile_id ${id} not null, merge_id ${id} not null, unmerged_at ${ts} not null, reason text not null, decided_by text not null, settings_version integer not null, evidence ${d.jsonType} not null, primary key (survivor_id, id))`,
    'create index unmerges_profile on unmerges (profile_id)',
    `create table match_decisions (id ${id} not null, profile_id ${id} not null, other_id ${id} not null, decision text not null, origin text not null, ref_id ${id}, decided_at ${ts} not null, decided_by text not null, primary key (profile_id, id))`,
  ];
}
