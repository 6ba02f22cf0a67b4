import type BetterSqlite3 from 'better-sqlite3';

/**
 * One row of `PRAGMA wal_checkpoint`: `busy` 1 when another connection held the checkpoint lock (then `log` and
 * `checkpointed` are -1), frames in the WAL (`log`) and frames copied into the database.
 */
interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

/**
 * A passive checkpoint of `db`'s file on `db` itself, between two of its transactions: inside one (an awaited
 * Kysely transaction included) it does nothing and returns false. Returns whether every frame of the WAL is now in
 * the database, after which the connection's next write transaction starts the WAL over unless a reader is still
 * reading it. False when another checkpoint held the lock (the checkpointer thread's round, an erasure's scrub) or
 * a reader's snapshot kept frames from being copied. SQLite's refusals on a connection that is in use
 * (`SQLITE_LOCKED`, better-sqlite3's "connection is busy" during an iteration) are false too; any other error is
 * thrown.
 */
export function checkpointBetweenTransactions(db: BetterSqlite3.Database): boolean {
  if (db.inTransaction) return false;
  let rows: CheckpointRow[];
  try {
    rows = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointRow[];
  } catch (e) {
    if (isInUse(e)) return false;
    throw e;
  }
  const [row] = rows;
  return row !== undefined && row.busy === 0 && row.log === row.checkpointed;
}

function isInUse(e: unknown): boolean {
  const { code, message } = e as { code?: unknown; message?: unknown };
  return (
    (typeof code === 'string' && code.startsWith('SQLITE_LOCKED')) ||
    (e instanceof TypeError && typeof message === 'string' && message.includes('connection is busy'))
  );
}

/** When {@link walCatchUp} checkpoints. */
export interface WalCatchUpTiming {
  /** After a checkpoint that caught the WAL up, the next is due this much later. */
  everyMs: number;
  /** After one that did not (another checkpoint, a reader, an error), the next is due this much later. */
  retryMs: number;
}

/**
 * Keeps the WAL of a writer that never pauses from growing without end (docs/storage.md#sqlite). The checkpointer
 * thread's passive checkpoints copy frames while the writer appends more, and SQLite starts the WAL over only when
 * a write transaction begins with every frame copied: with batches back to back, that moment never came, and in the
 * ingest bench the main file's WAL grew to 768 MB over one drain, with commits of 2 to 10 ms where they take about
 * 1 ms on a WAL that restarts (docs/performance.md). So the writer calls the returned function after each of its
 * transactions, and when one is due it runs `checkpoint` itself (`checkpointBetweenTransactions`), which then only
 * copies what the checkpointer thread has not since its last round. An error of `checkpoint` is handed to `onError`
 * (the first of a run of failures only) and counts as not caught up.
 */
export function walCatchUp(
  checkpoint: () => boolean,
  timing: WalCatchUpTiming,
  onError: (e: unknown) => void,
  now: () => number = () => performance.now(),
): () => void {
  let due = now() + timing.everyMs;
  let failing = false;
  return () => {
    if (now() < due) return;
    let caughtUp = false;
    try {
      caughtUp = checkpoint();
      failing = false;
    } catch (e) {
      if (!failing) onError(e);
      failing = true;
    }
    due = now() + (caughtUp ? timing.everyMs : timing.retryMs);
  };
}
