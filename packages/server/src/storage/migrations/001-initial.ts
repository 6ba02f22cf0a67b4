import type { SqlDialect } from '../dialect.js';

/**
 * The ingest log (DESIGN §11): in SQLite it lives in its own database file, so appends never wait for a pipeline
 * transaction; in PostgreSQL it is a table of the one database, partitioned by month. `rejection` holds
 * `{code, reason}` for a call the tracking API refused: the pipeline moves it to quarantine.
 */
export function logSchema(d: SqlDialect): string[] {
  return [
    d.name === 'postgres'
      ? `create table ingest_log (position bigserial not null, source_id ${d.idType} not null, message_id text not null, received_at ${d.timeType} not null, payload text not null, rejection text, primary key (position, received_at)) partition by range (received_at)`
      : `create table ingest_log (position ${d.serialPrimaryKey}, source_id ${d.idType} not null, message_id text not null, received_at ${d.timeType} not null, payload text not null, rejection text)`,
  ];
}

/**
 * The initial schema, written once for both dialects with the dialect's named fragments. PostgreSQL partitions
 * `ingest_log` and `events` by month (`monthly-partitions.ts` creates the months); SQLite keeps single tables.
 */
export function initialSchema(d: SqlDialect): string[] {
  const id = d.idType;
  const ts = d.timeType;
  const json = d.jsonType;
  const pg = d.name === 'postgres';
  const big = pg ? 'bigint' : 'integer';
  return [
    `create table settings (key text not null, version integer not null, value ${json} not null, created_at ${ts} not null, created_by text not null, primary key (key, version))`,
    `create table sources (id ${id} primary key, name text not null unique, kind text not null, write_key_hash text not null unique, mapping ${json}, created_at ${ts} not null, updated_at ${ts} not null)`,
    `create table api_tokens (id ${id} primary key, name text not null, token_hash text not null unique, roles ${json} not null, created_at ${ts} not null, expires_at ${ts})`,
    `create table log_offsets (consumer text primary key, position ${big} not null)`,
    `create table processed_messages (source_id ${id} not null, message_id text not null, event_id ${id}, processed_at ${ts} not null, primary key (source_id, message_id))`,
    `create table events (id ${id} not null, log_position ${big} not null, source_id ${id} not null, type text not null, name text, message_id text not null, profile_id ${id} not null, user_id text, anonymous_id text, timestamp ${ts} not null, received_at ${ts} not null, properties ${json}, traits ${json}, context ${json}, primary key (${pg ? 'profile_id, id, timestamp' : 'id'}))${pg ? ' partition by range (timestamp)' : ''}`,
    `create index events_profile_time on events (profile_id, timestamp)`,
    `create index events_log_position on events (log_position)`,
    `create table quarantine (id ${id} primary key, source_id ${id} not null, received_at ${ts} not null, code text not null, reason text not null, message_id text, payload text not null, status text not null, log_position ${big}, replayed_at ${ts})`,
    `create index quarantine_source on quarantine (source_id, status, received_at)`,
    `create index quarantine_message on quarantine (source_id, message_id)`,
    `create table profiles (id ${id} primary key, created_at ${ts} not null, updated_at ${ts} not null, traits ${json} not null, trait_times ${json} not null)`,
    `create table identities (type text not null, value text not null, profile_id ${id} not null, source_id ${id} not null, event_id ${id}, first_seen_at ${ts} not null, created_at ${ts} not null, primary key (type, value))`,
    `create index identities_profile on identities (profile_id, type)`,
    `create table profile_redirects (from_id ${id} primary key, to_id ${id} not null, merged_at ${ts} not null, valid_at ${ts} not null)`,
    `create index profile_redirects_to on profile_redirects (to_id)`,
    `create table merges (id ${id} primary key, survivor_id ${id} not null, merged_id ${id} not null, merged_at ${ts} not null, valid_at ${ts} not null, rule text not null, evidence ${json} not null, event_id ${id}, settings_version integer not null)`,
    `create index merges_survivor on merges (survivor_id)`,
    `create index merges_merged on merges (merged_id)`,
    `create table identity_decisions (id ${id} primary key, profile_id ${id}, event_id ${id}, kind text not null, identifier_type text, identifier_value text, reason text not null, evidence ${json} not null, settings_version integer not null, created_at ${ts} not null)`,
    `create index identity_decisions_profile on identity_decisions (profile_id)`,
    `create table identity_review (id ${id} primary key, kind text not null, status text not null, reason text not null, evidence ${json} not null, profile_id ${id}, created_at ${ts} not null)`,
    `create table trait_history (id ${id} primary key, profile_id ${id} not null, trait text not null, value ${json} not null, valid_from ${ts} not null, valid_to ${ts}, recorded_at ${ts} not null, superseded_at ${ts}, source_id ${id} not null, event_id ${id})`,
    `create index trait_history_profile on trait_history (profile_id, trait, valid_from)`,
    `create table consents (id ${id} primary key, profile_id ${id} not null, purpose text not null, granted integer not null, legal_basis text not null, valid_from ${ts} not null, recorded_at ${ts} not null, superseded_at ${ts}, source_id ${id} not null, event_id ${id})`,
    `create index consents_profile on consents (profile_id, purpose, valid_from)`,
    `create table accounts (id ${id} primary key, group_id text not null unique, traits ${json} not null, created_at ${ts} not null, updated_at ${ts} not null)`,
    `create table profile_accounts (profile_id ${id} not null, account_id ${id} not null, source_id ${id} not null, created_at ${ts} not null, primary key (profile_id, account_id))`,
    `create table changes (seq ${d.serialPrimaryKey}, id ${id} not null, kind text not null, profile_id ${id}, payload ${json} not null, created_at ${ts} not null)`,
    `create table change_offsets (consumer text primary key, seq ${big} not null)`,
  ];
}
