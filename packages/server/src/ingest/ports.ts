import type { LogEntry, LogEntryInput } from './logged-event.js';

/**
 * The ingest log port (DESIGN §3, §11): append-only, position-keyed raw store. An `append` that resolved is
 * durable (it survives `kill -9`). Positions are strictly increasing in append order.
 */
export interface IngestLogStore {
  /** Appends entries in one transaction; returns their positions in input order. */
  append(entries: readonly LogEntryInput[]): Promise<number[]>;
  /** Entries with position > `after`, ascending, at most `limit`. */
  read(after: number, limit: number): Promise<LogEntry[]>;
  /** Highest position appended so far (0 when empty). */
  lastPosition(): Promise<number>;
  /**
   * A source's latest entries with position > `after`, newest first, at most `limit`, looking only at the last
   * `scan` positions of the log (the live debugger: recent calls, never a scan of the whole log).
   */
  recent(sourceId: string, opts: { after: number; limit: number; scan: number }): Promise<LogEntry[]>;
  /** A consumer's committed offset (0 when it never committed). */
  offset(consumer: string): Promise<number>;
  /** Sets a consumer's offset; call inside the effects transaction for exactly-once processing. */
  commitOffset(consumer: string, position: number): Promise<void>;
  /**
   * Makes every later append get a position above `position`. Called at start with the pipeline's committed offset:
   * after a power loss the log file may have lost commits its consumer already saw, and reusing those positions
   * would make the pipeline skip new entries.
   */
  positionsAbove(position: number): Promise<void>;
  /** Receive time of the entry just after `after`, for lag; undefined when none. */
  receivedAtAfter(after: number): Promise<number | undefined>;
  /**
   * The position just before the first entry received at or after `time` (0 when that is the first entry; the last
   * position when none is), for a replay from a time without reading what came before.
   */
  positionBefore(time: number): Promise<number>;
}

/** De-duplication keys (DESIGN §11 processed_messages): written in the effects transaction, no time window. */
export interface ProcessedMessageStore {
  /** Which of these message ids of a source were already processed. */
  existing(sourceId: string, messageIds: readonly string[]): Promise<Set<string>>;
  /** When each of these message ids of a source was processed (ms), for those that were. */
  processedAt(sourceId: string, messageIds: readonly string[]): Promise<Map<string, number>>;
  /** Records processed keys; a key already present is a conflict the caller must have excluded. */
  insert(rows: readonly ProcessedRow[]): Promise<void>;
  /**
   * The next value of the order in which batches apply their effects (see migration `003-batch-seq`), or null where
   * batches run one at a time in log order (a single writer).
   */
  nextBatchSeq(): Promise<number | null>;
}

export interface ProcessedRow {
  sourceId: string;
  messageId: string;
  eventId: string | null;
  processedAt: number;
  /** The batch's place in the order effects were applied (cluster mode), else null. */
  batchSeq?: number | null;
  /** The log position of the message's entry. */
  logPosition?: number | null;
}

export interface QuarantineRow {
  id: string;
  sourceId: string;
  receivedAt: number;
  code: string;
  reason: string;
  messageId: string | null;
  payload: string;
  status: 'open' | 'replayed';
  logPosition: number | null;
  replayedAt: number | null;
}

/** Rejected events with their reasons, visible and replayable after a fix (DESIGN §11). */
export interface QuarantineStore {
  insert(rows: readonly QuarantineRow[]): Promise<void>;
  list(
    sourceId: string,
    opts: { status?: 'open' | 'replayed'; limit: number; after?: string },
  ): Promise<QuarantineRow[]>;
  get(id: string): Promise<QuarantineRow | undefined>;
  /** The rows of these ingest-log positions. */
  atPositions(positions: readonly number[]): Promise<QuarantineRow[]>;
  /** Whether an open row exists for this message (a re-sent refused call is quarantined once). */
  hasOpen(sourceId: string, messageId: string): Promise<boolean>;
  markReplayed(id: string, at: number): Promise<void>;
  /** Undoes `markReplayed` (a replay whose append failed). */
  reopen(id: string): Promise<void>;
}
