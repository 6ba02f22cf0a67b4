import type { Change } from '../bus/ports.js';
import type { Storage, Stores } from '../storage/storage.js';

/**
 * Where the destination router reads the change bus from (DESIGN §3): the `changes` table with a consumer offset
 * (embedded), or a durable JetStream consumer (cluster mode). At least once: a change may come again after a crash;
 * routing is idempotent.
 */
export interface ChangeFeed {
  /** `commit` writes (a table offset): it needs a transaction even when nothing is routed. */
  readonly transactional: boolean;
  /** Up to `limit` changes after the feed's position, oldest first; none when there is nothing new. */
  next(limit: number): Promise<Change[]>;
  /** Records, inside the routing transaction, that `changes` (the last `next`) are handled. */
  commit(tx: Stores, changes: readonly Change[]): Promise<void>;
  /** After that transaction committed (a JetStream ack). */
  acknowledge(changes: readonly Change[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The embedded feed: consumer `consumer` of the `changes` table. A consumer that never committed starts at the end
 * of the bus: a destination receives what happens after it is created, not the history.
 */
export async function createTableChangeFeed(storage: Storage, consumer: string): Promise<ChangeFeed> {
  if ((await storage.changes.position(consumer)) === undefined)
    await storage.transaction(async (tx) => tx.changes.commit(consumer, await tx.changes.lastSeq()), { write: true });
  return {
    transactional: true,
    next: (limit) => storage.changes.read(consumer, limit),
    async commit(tx, changes) {
      const last = changes.at(-1);
      if (last) await tx.changes.commit(consumer, last.seq);
    },
    async acknowledge() {},
    async close() {},
  };
}
