import type { Change } from '../bus/ports.js';
import type { RecentChanges } from '../bus/recent-changes.js';
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
 * of the bus: a destination receives what happens after it is created, not the history. With `recent` (the
 * pipeline's batches committed in this thread), the changes that follow the offset this feed last committed are
 * taken from memory when it holds them all, else read from the table; the feed must then be the consumer's only
 * committer.
 */
export async function createTableChangeFeed(
  storage: Storage,
  consumer: string,
  recent?: RecentChanges,
): Promise<ChangeFeed> {
  if ((await storage.changes.position(consumer)) === undefined)
    await storage.transaction(async (tx) => tx.changes.commit(consumer, await tx.changes.lastSeq()), { write: true });
  /** The offset this feed's last routing transaction committed; unknown until one did. */
  let committed: number | undefined;
  return {
    transactional: true,
    async next(limit) {
      const held = committed === undefined ? undefined : recent?.after(committed, limit);
      return held ?? storage.changes.read(consumer, limit);
    },
    async commit(tx, changes) {
      const last = changes.at(-1);
      if (last) await tx.changes.commit(consumer, last.seq);
    },
    async acknowledge(changes) {
      const last = changes.at(-1);
      if (last) committed = last.seq;
    },
    async close() {},
  };
}
