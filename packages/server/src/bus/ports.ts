/** A change published by the pipeline (DESIGN §3 outbox / change bus). */
export interface Change {
  seq: number;
  id: string;
  kind: string;
  /** The profile it is about: the outbox is distributed by it in a Citus cluster (never null). */
  profileId: string;
  payload: unknown;
  createdAt: number;
}

export type ChangeInput = Omit<Change, 'seq'>;

/**
 * The change bus port: an outbox written in the effects transaction, read by consumers that keep their own
 * offsets. At-least-once for consumers; a consumer de-duplicates by change `id`.
 */
export interface ChangeStore {
  /**
   * Writes `changes` in this order; answers the `seq` of the last one where the store gives consecutive seqs in
   * that order (SQLite: one writer, `AUTOINCREMENT`), else `undefined` (or when `changes` is empty).
   */
  publish(changes: readonly ChangeInput[]): Promise<number | undefined>;
  /** Changes after the consumer's offset, ascending. */
  read(consumer: string, limit: number): Promise<Change[]>;
  commit(consumer: string, seq: number): Promise<void>;
  /** The consumer's committed offset; `undefined` when it never committed. */
  position(consumer: string): Promise<number | undefined>;
  /**
   * Changes after `seq`, ascending, optionally of some kinds only (a reader without an offset of its own: the
   * `/v1/changes` API); with `through`, only up to that `seq` (inclusive).
   */
  after(seq: number, opts: { limit: number; kinds?: readonly string[]; through?: number }): Promise<Change[]>;
  lastSeq(): Promise<number>;
  /**
   * The rows of these profiles still in the outbox (a cluster's relay removes the rows it published), ascending
   * `seq`: what a data-subject access request reports.
   */
  ofProfiles(profileIds: readonly string[]): Promise<Change[]>;
  /**
   * Removes and returns up to `limit` of the oldest rows, ascending (cluster mode's outbox relay, inside a
   * transaction whose commit confirms the rows were published). One relay at a time: while another transaction
   * holds the relay's lock this returns nothing, so rows are published in the order they were committed.
   */
  take(limit: number): Promise<Change[]>;
}
