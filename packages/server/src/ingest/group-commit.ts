import type { LogEntryInput } from './logged-event.js';

/** One request's worth of writes to the ingest log (accepted calls, and refused ones with their rejection). */
export interface AppendRequest {
  log: LogEntryInput[];
}

export interface AppendResult {
  /** Highest position appended by the whole group (0 when nothing was). */
  lastPosition: number;
}

/**
 * Group commit (DESIGN §3): appends that arrive while a commit is running are gathered and written together in the
 * next transaction, so concurrent requests share one commit. Each caller's promise resolves only after the
 * transaction holding its entries committed (durable), or rejects with that transaction's error.
 */
export function createGroupCommit(
  write: (batch: AppendRequest) => Promise<AppendResult>,
): (req: AppendRequest) => Promise<AppendResult> {
  let pending: { req: AppendRequest; resolve: (r: AppendResult) => void; reject: (e: unknown) => void }[] = [];
  let busy = false;

  async function flush() {
    busy = true;
    while (pending.length > 0) {
      const group = pending;
      pending = [];
      const merged: AppendRequest = {
        log: group.flatMap((g) => g.req.log),
      };
      try {
        const result = await write(merged);
        for (const g of group) g.resolve(result);
      } catch (e) {
        if (group.length === 1) {
          group[0].reject(e);
          continue;
        }
        // One bad request must not fail the others grouped with it: each is written on its own.
        for (const g of group) {
          try {
            g.resolve(await write(g.req));
          } catch (err) {
            g.reject(err);
          }
        }
      }
    }
    busy = false;
  }

  return (req) =>
    new Promise<AppendResult>((resolve, reject) => {
      pending.push({ req, resolve, reject });
      if (!busy) setImmediate(flush);
      busy = true;
    });
}
