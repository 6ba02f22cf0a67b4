import type { Change } from './ports.js';

/**
 * The changes this thread committed last, contiguous in `seq`, so that a consumer in the same thread (the
 * destination router beside the embedded pipeline) takes them from memory instead of reading back the rows just
 * written. Whatever it cannot vouch for (a gap: changes another connection or an earlier statement of the batch
 * published; a position before what it holds) it answers `undefined`, and the consumer reads the table.
 */
export interface RecentChanges {
  /** Changes just committed, ascending and consecutive in `seq`. */
  add(changes: readonly Change[]): void;
  /**
   * Up to `limit` changes after `seq`, when every change from `seq + 1` on is held here (the rows committed after
   * the last one held are not known: an empty answer is `undefined` too).
   */
  after(seq: number, limit: number): Change[] | undefined;
}

/** Holds at most `capacity` changes (plus one batch's): older ones are dropped first. */
export function recentChanges(capacity = 10_000): RecentChanges {
  let held: Change[] = [];
  return {
    add(changes) {
      if (changes.length === 0) return;
      const last = held.at(-1);
      // A gap (or the seqs going back: a store rebuilt under us): what is held no longer leads up to these.
      if (!last || changes[0].seq !== last.seq + 1) held = [];
      held.push(...changes);
      if (held.length > capacity) held = held.slice(held.length - capacity);
    },
    after(seq, limit) {
      const first = held[0];
      if (!first || seq + 1 < first.seq) return undefined;
      const from = seq + 1 - first.seq;
      if (from >= held.length) return undefined;
      return held.slice(from, from + limit);
    },
  };
}
