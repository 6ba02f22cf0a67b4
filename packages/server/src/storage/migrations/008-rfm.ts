import type { SqlDialect } from '../dialect.js';

/**
 * RFM scores (issue 5, `docs/audiences.md` "RFM"): per profile (a survivor when computed) its recency, frequency
 * and monetary value over the purchase events, their quintile scores 1–5 and the named segment, as the last run of
 * the `rfm` job computed them under settings version `settings_version`. Person-owned, by `profile_id`.
 */
export function rfmSchema(d: SqlDialect): string[] {
  const ts = d.timeType;
  return [
    `create table rfm_scores (profile_id ${d.idType} not null, last_at ${ts} not null, frequency integer not null, monetary double precision not null, r integer not null, f integer not null, m integer not null, segment text not null, computed_at ${ts} not null, settings_version integer not null, primary key (profile_id))`,
    'create index rfm_scores_segment on rfm_scores (segment)',
  ];
}
