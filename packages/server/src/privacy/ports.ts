import type { PersonOwnedTable } from '../storage/schema.js';

export type PrivacyRequestType = 'access' | 'erase';
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

/** Deletes a person's rows, one table at a time (`storage/sql/erasure-store.ts` holds a strategy per table). */
export interface ErasureStore {
  /** Deletes the rows of `table` about the target; returns how many. */
  erase(table: PersonOwnedTable, target: ErasureTarget): Promise<number>;
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
