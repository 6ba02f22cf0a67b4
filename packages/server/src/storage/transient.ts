/**
 * SQLSTATE classes and codes of a failure that goes away when the same transaction is run again: a deadlock or a
 * serialisation failure between concurrent workers, a lock timeout, or a lost / refused connection (the database
 * restarting), or SQLite's busy write lock. A batch that fails so is retried whole, never quarantined.
 */
const TRANSIENT_CODES = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '53300']);

/** `pg`'s own connection failures carry no code, only these messages. */
const CONNECTION_MESSAGES =
  /connection terminated|timeout exceeded when trying to connect|connection error|not queryable/i;

export function isTransientStoreError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return e instanceof Error && CONNECTION_MESSAGES.test(e.message);
  // Class 08: connection exception; node's own socket errors (ECONNREFUSED, ECONNRESET…) when the server is down.
  // SQLite's SQLITE_BUSY (and SQLITE_BUSY_SNAPSHOT): another connection held, or committed under, the write lock
  // (a management write on the main thread beside the writer thread's batch).
  return (
    TRANSIENT_CODES.has(code) ||
    code.startsWith('08') ||
    code.startsWith('ECONN') ||
    code === 'EPIPE' ||
    code.startsWith('SQLITE_BUSY')
  );
}
