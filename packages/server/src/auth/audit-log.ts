import { newUuid } from '../ids.js';
import { errorFields, type Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import type { AuditEntry } from './ports.js';

/**
 * The audit log (DESIGN §8): entries are buffered in memory and group-committed, one transaction per flush (every
 * `flushMs`, 2 s by default, or at once past `maxBuffer` entries), so auditing every profile read costs a request no
 * write of its own. Embedded, each commit runs beside the writer thread's connection and makes its next batch retry
 * (`SQLITE_BUSY_SNAPSHOT`): hence few, large commits (docs/performance.md). A failed flush keeps the entries for the next one (up to 100,000, then the oldest are counted as lost and
 * logged). `close` flushes what is left.
 */
export function createAuditLog(deps: {
  storage: Storage;
  logger: Logger;
  clock?: () => number;
  flushMs?: number;
  maxBuffer?: number;
}) {
  const clock = deps.clock ?? Date.now;
  const maxBuffer = deps.maxBuffer ?? 500;
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
        await deps.storage.transaction((tx) => tx.audit.append(rows), { write: true });
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
