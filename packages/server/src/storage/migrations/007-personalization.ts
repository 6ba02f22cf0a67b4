import type { SqlDialect } from '../dialect.js';

/**
 * Personalisation (issue 5, `docs/personalization.md`): per source, one read key (stored as its SHA-256, like write
 * keys) and what the key may read — the origins allowed to call from a browser (CORS), the traits and the audience
 * keys answered. A reference table: few rows, read by every api node.
 */
export function personalizationSchema(d: SqlDialect): string[] {
  const ts = d.timeType;
  return [
    `create table source_read_keys (source_id ${d.idType} not null, key_hash text not null, origins ${d.jsonType} not null, traits ${d.jsonType} not null, audiences ${d.jsonType} not null, created_at ${ts} not null, updated_at ${ts} not null, updated_by text not null, primary key (source_id))`,
    'create unique index source_read_keys_hash on source_read_keys (key_hash)',
  ];
}
