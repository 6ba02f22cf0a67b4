import type { TableName } from './schema.js';

/** How `tessera copy` (`copyEmbeddedStore`) copies one table of the schema. */
export interface CopiedTable {
  readonly name: TableName;
  /** The embedded file that holds it: `log` (`tessera-log.db`) or `main` (`tessera.db`). */
  readonly file: 'main' | 'log';
  /** JSON document columns: TEXT in SQLite, JSONB in PostgreSQL. */
  readonly json: readonly string[];
  /**
   * The generated key column: its counter on the target must continue above every copied value and above every
   * consumer offset kept in `offsets`, so a new append never reuses a position a consumer has already passed.
   */
  readonly serial?: {
    readonly column: string;
    readonly offsets: { readonly table: TableName; readonly column: string };
  };
}

/**
 * Every table of the schema (both migrations), in migration order. Kysely's migration tables are not copied: the
 * target keeps its own. `copied-tables.test.ts` fails when a table or a JSON column of the migrations is missing.
 */
export const COPIED_TABLES: readonly CopiedTable[] = [
  {
    name: 'ingest_log',
    file: 'log',
    json: [],
    serial: { column: 'position', offsets: { table: 'log_offsets', column: 'position' } },
  },
  { name: 'settings', file: 'main', json: ['value'] },
  { name: 'job_runs', file: 'main', json: [] },
  { name: 'sources', file: 'main', json: ['mapping'] },
  { name: 'api_tokens', file: 'main', json: ['roles'] },
  { name: 'log_offsets', file: 'main', json: [] },
  { name: 'processed_messages', file: 'main', json: [] },
  { name: 'processed_recent', file: 'main', json: [] },
  { name: 'processed_merge', file: 'main', json: [] },
  { name: 'events', file: 'main', json: ['properties', 'traits', 'context'] },
  { name: 'quarantine', file: 'main', json: [] },
  { name: 'profiles', file: 'main', json: ['traits', 'trait_times'] },
  { name: 'identities', file: 'main', json: [] },
  { name: 'profile_redirects', file: 'main', json: [] },
  { name: 'merges', file: 'main', json: ['evidence'] },
  { name: 'identity_decisions', file: 'main', json: ['evidence'] },
  { name: 'identity_review', file: 'main', json: ['evidence'] },
  { name: 'unmerges', file: 'main', json: ['evidence'] },
  { name: 'match_decisions', file: 'main', json: [] },
  { name: 'trait_history', file: 'main', json: ['value'] },
  { name: 'consents', file: 'main', json: [] },
  { name: 'accounts', file: 'main', json: ['traits'] },
  { name: 'profile_accounts', file: 'main', json: [] },
  {
    name: 'changes',
    file: 'main',
    json: ['payload'],
    serial: { column: 'seq', offsets: { table: 'change_offsets', column: 'seq' } },
  },
  { name: 'change_offsets', file: 'main', json: [] },
  { name: 'audiences', file: 'main', json: ['definition'] },
  { name: 'audience_versions', file: 'main', json: ['definition'] },
  { name: 'audience_memberships', file: 'main', json: [] },
  { name: 'audience_rechecks', file: 'main', json: [] },
  { name: 'source_read_keys', file: 'main', json: ['origins', 'traits', 'audiences'] },
  { name: 'rfm_scores', file: 'main', json: [] },
  { name: 'destinations', file: 'main', json: ['config', 'subscription'] },
  { name: 'destination_versions', file: 'main', json: ['config', 'subscription'] },
  { name: 'deliveries', file: 'main', json: ['payload'] },
  { name: 'destination_limits', file: 'main', json: [] },
  { name: 'messages', file: 'main', json: [] },
  { name: 'privacy_requests', file: 'main', json: ['proof'] },
  { name: 'suppressions', file: 'main', json: [] },
  { name: 'users', file: 'main', json: ['roles'] },
  { name: 'audit_log', file: 'main', json: [] },
];
