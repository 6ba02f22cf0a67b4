import type BetterSqlite3 from 'better-sqlite3';
import { SeenFilter } from './seen-filter.js';

/** Smallest filter: 1,000,000 keys (16 Mbit, 2 MB). */
export const MIN_FILTER_KEYS = 1_000_000;

/**
 * Fills a filter with every key the pipeline may answer as processed from now on, as the embedded store holds them:
 * the rows of `processed_messages` and `processed_recent`, and the log entries after the pipeline's committed offset
 * (appended before this process started, processed after the scan). Both are read in one snapshot of the main file,
 * so a key the pipeline commits later is either in the log's tail or appended by this process, which adds its keys
 * itself.
 * `onAllocated` gets the filter, sized from the row counts, before the scan fills it.
 */
export function scanProcessedKeys(
  main: BetterSqlite3.Database,
  log: BetterSqlite3.Database,
  /** The pipeline's consumer name in `log_offsets`. */
  consumer: string,
  onAllocated: (filter: SeenFilter) => void,
  minKeys = MIN_FILTER_KEYS,
): number {
  main.exec('begin');
  try {
    // A rowid table: its largest rowid bounds the row count without counting (deleted rows leave gaps).
    const rows =
      Number(main.prepare('select max(rowid) from processed_messages').pluck().get() ?? 0) +
      Number(main.prepare('select count(*) from processed_recent').pluck().get() ?? 0);
    const offset = Number(
      main.prepare('select position from log_offsets where consumer = ?').pluck().get(consumer) ?? 0,
    );
    const last = Number(log.prepare('select max(position) from ingest_log').pluck().get() ?? 0);
    const filter = SeenFilter.forCapacity(Math.max(minKeys, 2 * (rows + Math.max(0, last - offset))));
    onAllocated(filter);
    let keys = 0;
    for (const [sourceId, messageId] of main
      .prepare(
        'select source_id, message_id from processed_messages union all select source_id, message_id from processed_recent',
      )
      .raw()
      .iterate() as IterableIterator<[string, string]>) {
      filter.add(sourceId, messageId);
      keys++;
    }
    for (const [sourceId, messageId] of log
      .prepare('select source_id, message_id from ingest_log where position > ?')
      .raw()
      .iterate(offset) as IterableIterator<[string, string]>) {
      filter.add(sourceId, messageId);
      keys++;
    }
    return keys;
  } finally {
    main.exec('commit');
  }
}
