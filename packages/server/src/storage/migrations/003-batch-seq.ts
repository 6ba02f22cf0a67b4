import type { SqlDialect } from '../dialect.js';

/**
 * `processed_messages.batch_seq`: the order in which batches applied their effects. Embedded mode runs one batch at
 * a time in log order and leaves it null; a cluster worker takes the next value of the `batch_seq` sequence once its
 * batch holds its identity and profile locks, so a batch that waited for another's locks gets a larger value. A
 * replay of the messages by (batch_seq, log position) reproduces what the cluster resolved.
 */
export function batchSeqSchema(d: SqlDialect): string[] {
  const big = d.name === 'postgres' ? 'bigint' : 'integer';
  return [
    `alter table processed_messages add column batch_seq ${big}`,
    `alter table processed_messages add column log_position ${big}`,
    ...(d.name === 'postgres' ? ['create sequence batch_seq'] : []),
  ];
}
