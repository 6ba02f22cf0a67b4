import { newUuid } from '../ids.js';
import { errorFields, type Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import type { AuditEntry } from './ports.js';

/** Commits a group of entries: the store's transaction, or (embedded) the writer thread's. */
export type AuditAppend = (rows: AuditEntry[]) => Promise<void>;

/** Commits a group of entries in one write transaction of `storage` (whichever thread holds it). */
export function commitAuditEntries(storage: Storage, rows: AuditEntry[]): Promise<void> {
  return storage.transaction((tx) => tx.audit.append(rows), { write: true });
}

/**
 * The audit log (DESIGN §8): entries are buffered in memory and group-committed, one transaction per flush (every
 * `flushMs`, 2 s by default, or at once past `maxBuffer` entries), so auditing every profile read costs a request no
 * write of its own. Embedded on a file, `append` hands the group to the writer thread, which commits it between the
 * pipeline's batches: a commit from the main thread's own connection would make the pipeline's next batch fail with
 * `SQLITE_BUSY_SNAPSHOT` and retry (docs/performance.md). A failed flush keeps the entries for the next one (up to
 * 100,000, then the oldest are counted as lost and logged). `close` flushes what is left.
 */
export function createAuditLog(deps: {
  storage: Storage;
  logger: Logger;
  clock?: () => number;
  flushMs?: number;
  maxBuffer?: number;
  append?: AuditAppend;
}) {
  const clock = deps.clock ?? Date.now;
  const maxBuffer = deps.maxBuffer ?? 500;
  const append: AuditAppend = deps.append ?? ((rows) => commitAuditEntries(deps.storage, rows));
  let buffer: AuditEntry[] = [];
  let flushing: Promise<void> = Promise.resolve();
  let lost = 0;
  const timer = setInterval(() => void flush(), deps.flushMs ?? 2000);
  timer.unref();

  function flush(): Promise<void> {
    flushing = flushing.then(async () => {
      if (buffer.length === 0) return;
      const rows = buffer;
      buffer = [];
      try {
        await append(rows);
      } catch (e) {
        buffer = [...rows, ...buffer];
        if (buffer.length > 100_000) {
          lost += buffer.length - 100_000;
          buffer = buffer.slice(-100_000);
        }
        deps.logger.error({ ...errorFields(e), pending: buffer.length, lost }, 'audit log flush failed');
      }
    });
    return flushing;
  }

  return {
    record(e: Omit<AuditEntry, 'id' | 'at'>): void {
      buffer.push({ id: newUuid(), at: clock(), ...e });
      if (buffer.length >= maxBuffer) void flush();
    },
    /** Writes what is buffered (a reader of the log sees every entry recorded before its call). */
    flush,
    async close(): Promise<void> {
      clearInterval(timer);
      await flush();
    },
    list: async (opts: Parameters<Storage['audit']['list']>[0]) => {
      await flush();
      return deps.storage.audit.list(opts);
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
