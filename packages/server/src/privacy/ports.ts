import type { PersonOwnedTable } from '../storage/schema.js';

export type PrivacyRequestType = 'access' | 'erase' | 'rectify';
/**
 * `running`; `completed`; `incomplete`: an erasure whose rows are gone but whose files could not be fully scrubbed
 * (a WAL checkpoint kept failing), to be run again; `not_found`: no profile holds the identifier; `failed`.
 */
export type PrivacyRequestStatus = 'running' | 'completed' | 'incomplete' | 'not_found' | 'failed';

/** A data-subject request; the identifier is kept only as its suppression hash. */
export interface PrivacyRequestRow {
  id: string;
  type: PrivacyRequestType;
  identifierType: string;
  identifierHash: string;
  status: PrivacyRequestStatus;
  createdAt: number;
  createdBy: string;
  completedAt: number | null;
  profileCount: number;
  /** What was done: rows per table, files scrubbed, suppression hashes added, checkpoints (no personal data). */
  proof: Record<string, unknown> | null;
  error: string | null;
}

export interface PrivacyRequestStore {
  create(row: PrivacyRequestRow): Promise<void>;
  finish(
    id: string,
    outcome: Pick<PrivacyRequestRow, 'status' | 'completedAt' | 'profileCount' | 'proof' | 'error'>,
  ): Promise<void>;
  get(id: string): Promise<PrivacyRequestRow | undefined>;
  /** Newest first. */
  list(opts: { limit: number; before?: { createdAt: number; id: string } }): Promise<PrivacyRequestRow[]>;
}

/** The suppression list: HMACs of erased identifiers. */
export interface SuppressionStore {
  add(hashes: readonly string[], requestId: string, at: number): Promise<void>;
  /** Of `hashes`, those on the list. */
  matching(hashes: readonly string[]): Promise<Set<string>>;
  all(): Promise<string[]>;
  count(): Promise<number>;
}

/** Everything an erasure knows about the person, to find their rows in every table. */
export interface ErasureTarget {
  /** The survivor and every id merged into it. */
  profileIds: readonly string[];
  /** Their normalised identifier values (e-mail, phone, user and anonymous ids…): raw payloads are matched on them. */
  values: readonly string[];
  /** Their events' keys in `processed_messages` and positions in the ingest log. */
  messages: readonly { sourceId: string; messageId: string }[];
  logPositions: readonly number[];
}

/** The tables whose raw copies of what was sent a rectification redacts (`RectificationTarget`). */
export const REDACTED_TABLES = ['ingest_log', 'events', 'quarantine', 'deliveries'] as const;
export type RedactedTable = (typeof REDACTED_TABLES)[number];

/** Whose raw payloads a rectification redacts, and which values. */
export interface RectificationTarget {
  /** The survivor and every id merged into it. */
  profileIds: readonly string[];
  /** Their events' positions in the ingest log (their raw calls, and quarantined calls at those positions). */
  logPositions: readonly number[];
  /** Their identifier values (kept for the proof; raw calls are theirs by log position only, see `theirs`). */
  identifiers: readonly string[];
  /** The wrong values: each JSON string value equal to one becomes `"[rectified]"` (`redactMentions`). */
  values: readonly string[];
  /** The corrected fields, normalised (`normaliseKey`): only a value of a property so named is redacted. */
  keys: readonly string[];
}

/**
 * The privacy requests' writes over a person's rows (`storage/sql/erasure-stores.ts`): an erasure deletes them, one
 * strategy per table; a rectification rewrites trait history, identifiers and raw payloads in place.
 */
export interface ErasureStore {
  /**
   * Deletes the rows of `table` about the target; returns how many. For `ingest_log`, the entries at the person's log
   * positions only: the other entries naming them are found by `eraseLogMentions`.
   */
  erase(table: PersonOwnedTable, target: ErasureTarget): Promise<number>;
  /**
   * Deletes the ingest-log entries whose raw payload names one of `values` as a whole JSON string (`mentionsOf`), a
   * scan of the log by ranges of `range` positions (default `LOG_SCAN_RANGE`) up to its last position at the start:
   * each range is a read of its own, the entries it finds are deleted by position, and the event loop runs between
   * two ranges, so that neither the log's write lock nor (on SQLite) the calling thread is held for the whole log.
   * Outside a transaction. Returns how many entries.
   */
  eraseLogMentions(values: readonly string[], range?: number): Promise<number>;
  /**
   * Rectification: replaces in the person's raw payloads of `table` (ingest log, events' properties / traits /
   * context, quarantine, deliveries' payloads) every JSON string value equal to a wrong value by `"[rectified]"`;
   * returns how many rows changed. Rows are found with `SqlDialect.containsSql` (a scan, as an erasure's).
   */
  redact(table: RedactedTable, target: RectificationTarget): Promise<number>;
  /** Rectification: sets the value of these trait-history rows (`(profileId, id)` keys), keeping their times. */
  rewriteHistory(rows: readonly { profileId: string; id: string }[], value: unknown): Promise<number>;
  /**
   * Rectification: the identifier `(type, from)` of one of `profileIds` becomes `(type, to)`, or is deleted when
   * `to` is null; returns how many rows changed. The caller checks first that nobody else holds `to`.
   */
  relinkIdentifier(type: string, from: string, to: string | null, profileIds: readonly string[]): Promise<number>;
}

/** Deletes events past their retention, with their raw log entries. */
export interface RetentionStore {
  /**
   * Deletes up to `limit` events (of `sourceId`, `type`, `name` when given) whose event time is before `before`, and
   * their ingest-log entries; returns how many events.
   */
  purgeEvents(
    rule: { sourceId?: string; type?: string; name?: string },
    before: number,
    limit: number,
  ): Promise<number>;
}
