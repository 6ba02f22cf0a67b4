import type BetterSqlite3 from 'better-sqlite3';

/** One row of `PRAGMA wal_checkpoint`: frames in the WAL (`log`) and frames copied into the database. */
interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

/**
 * A passive checkpoint of `db`'s file on `db` itself, between two of its transactions (never inside one: a
 * transaction still open on the connection, an awaited Kysely one included, makes it a no-op). Returns whether every
 * frame of the WAL is now in the database: then the connection's next write transaction starts the WAL over from
 * its first frame. False when another checkpoint held the lock (the checkpointer thread's round, an erasure's
 * scrub) or a reader still needs frames.
 */
export function checkpointBetweenTransactions(db: BetterSqlite3.Database): boolean {
  if (db.inTransaction) return false;
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointRow[];
    return row !== undefined && row.busy === 0 && row.log === row.checkpointed;
  } catch {
    // SQLITE_BUSY / SQLITE_LOCKED: the next call tries again.
    return false;
  }
}

/**
 * Keeps the WAL of a writer that never pauses from growing without end (docs/storage.md#sqlite). The checkpointer
 * thread's passive checkpoints copy frames while the writer appends more, and SQLite starts the WAL over only when
 * a write transaction begins with every frame copied: with batches back to back, that moment never came, and in the
 * ingest bench the main file's WAL grew to 768 MB over one drain, with commits of 2 to 10 ms where they take 1 ms on
 * a WAL that restarts (docs/performance.md). So the writer calls the returned function after each of its
 * transactions; at most every `everyMs` it runs `checkpoint` itself (`checkpointBetweenTransactions`), which then only
 * copies what the checkpointer thread has not since its last round, and calls it again after each transaction until
 * one reports the WAL caught up.
 */
export function walCatchUp(
  checkpoint: () => boolean,
  everyMs: number,
  now: () => number = () => performance.now(),
): () => void {
  let due = now() + everyMs;
  return () => {
    if (now() < due) return;
    if (checkpoint()) due = now() + everyMs;
  };
}
