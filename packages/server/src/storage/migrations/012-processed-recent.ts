import type { SqlDialect } from '../dialect.js';

/**
 * The de-duplication keys in two levels (`docs/architecture.md`, "De-duplication keys in two levels").
 * - `processed_recent`: keys the embedded pipeline processed lately whose ids are scattered (the SDKs' uuid v4),
 *   appended in processing order without a unique index, so a batch writes them on a few consecutive pages. `h` is a
 *   32-bit hash of (source, message id) (`storage/processed-key-hash.ts`), indexed for exact look-ups: its entries
 *   are small, so the index stays a few hundred pages that every batch writes anyway.
 * - `processed_merge`: the merge in progress of the rows up to `upto` into `processed_messages`, in key order, a
 *   slice per batch; `after_source` / `after_message` is the last key merged.
 * Cluster mode writes and reads `processed_messages` only; `tessera copy` folds the recent keys of an embedded store
 * into it, so its `processed_recent` stays empty.
 */
export function processedRecentSchema(d: SqlDialect): string[] {
  const seq = d.name === 'postgres' ? 'bigint primary key' : 'integer primary key';
  const big = d.name === 'postgres' ? 'bigint' : 'integer';
  return [
    `create table processed_recent (seq ${seq}, h integer not null, source_id ${d.idType} not null, message_id text not null, event_id ${d.idType}, processed_at ${d.timeType} not null, batch_seq ${big}, log_position ${big})`,
    'create index processed_recent_h on processed_recent (h)',
    `create table processed_merge (id integer not null, upto ${big} not null, after_source ${d.idType}, after_message text, primary key (id))`,
  ];
}
