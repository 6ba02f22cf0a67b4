import type { SqlDialect } from '../dialect.js';

/**
 * The keys of the Citus plan (DESIGN §11, `docs/scaling.md`): in PostgreSQL, every primary key of a table
 * distributed by `profile_id` (or `survivor_id`) includes that column, and the column is `not null`. SQLite is never
 * distributed and cannot alter a key in place: its keys stay on the bare id (a UUID, so they refuse no row that
 * PostgreSQL accepts), and triggers refuse the NULLs PostgreSQL refuses, so both stores take the same rows.
 */
export function distributionKeysSchema(d: SqlDialect): string[] {
  if (d.name === 'postgres') {
    return [
      'alter table merges drop constraint merges_pkey, add primary key (survivor_id, id)',
      'alter table identity_decisions alter column profile_id set not null, drop constraint identity_decisions_pkey, add primary key (profile_id, id)',
      'alter table identity_review alter column profile_id set not null, drop constraint identity_review_pkey, add primary key (profile_id, id)',
      'alter table trait_history drop constraint trait_history_pkey, add primary key (profile_id, id)',
      'alter table consents drop constraint consents_pkey, add primary key (profile_id, id)',
      'alter table changes alter column profile_id set not null, drop constraint changes_pkey, add primary key (profile_id, seq)',
    ];
  }
  return ['identity_decisions', 'identity_review', 'changes'].map(
    (table) =>
      `create trigger ${table}_profile_not_null before insert on ${table} when new.profile_id is null begin select raise(abort, 'NOT NULL constraint failed: ${table}.profile_id'); end`,
  );
}
