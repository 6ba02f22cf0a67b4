/** A normalised identifier. */
export interface Identifier {
  type: string;
  value: string;
}

export interface IdentityRow extends Identifier {
  profileId: string;
  sourceId: string;
  eventId: string | null;
  firstSeenAt: number;
  createdAt: number;
}

export interface Redirect {
  fromId: string;
  toId: string;
  /** Record time. */
  mergedAt: number;
  /** Valid (event) time. */
  validAt: number;
}

export interface MergeRow {
  id: string;
  survivorId: string;
  mergedId: string;
  /** Processing time of the merge (record time). */
  mergedAt: number;
  /** Event time of the event that caused it (valid time). */
  validAt: number;
  rule: string;
  evidence: unknown;
  eventId: string | null;
  settingsVersion: number;
}

export interface DecisionRow {
  id: string;
  profileId: string | null;
  eventId: string | null;
  kind: 'drop' | 'blocked' | 'refused' | 'guard';
  identifierType: string | null;
  identifierValue: string | null;
  reason: string;
  evidence: unknown;
  settingsVersion: number;
  createdAt: number;
}

export interface ReviewRow {
  id: string;
  kind: string;
  status: 'open' | 'accepted' | 'rejected';
  reason: string;
  evidence: unknown;
  profileId: string | null;
  createdAt: number;
}

/**
 * The identity graph port (DESIGN §4): `(type, value) → profile_id`, redirects of merged profiles, and the record
 * of every merge and decision. Stored rows are never re-keyed: a merged profile's identities keep its id and are
 * reached through `profile_redirects`.
 */
export interface IdentityStore {
  /** Identity rows for these identifiers (profile ids as stored, not yet redirected). */
  find(identifiers: readonly Identifier[]): Promise<IdentityRow[]>;
  /** Survivor id of each given profile id (itself when not merged). */
  resolve(profileIds: readonly string[]): Promise<Map<string, string>>;
  /** The survivor and every id redirected to it. */
  family(survivorId: string): Promise<string[]>;
  /** Identity rows of these (stored) profile ids. */
  ofProfiles(profileIds: readonly string[]): Promise<IdentityRow[]>;
  /**
   * Until the transaction ends, no other transaction resolving any of these identifiers runs: the first step of a
   * cluster worker's batch (PostgreSQL advisory locks, taken in one fixed order so two workers never deadlock on
   * them). Nothing to do where the store has a single writer.
   */
  lock(identifiers: readonly Identifier[]): Promise<void>;
  /** Inserts identity rows; an identifier already linked is left as it is. */
  link(rows: readonly IdentityRow[]): Promise<void>;
  /** Redirects `fromIds` (and every id redirected to them) to `toId`; `at` is record time, `validAt` event time. */
  redirect(fromIds: readonly string[], toId: string, at: number, validAt: number): Promise<void>;
  /** Ids redirected to a survivor, with the times of their merge. */
  redirects(survivorId: string): Promise<Redirect[]>;
  recordMerge(row: MergeRow): Promise<void>;
  recordDecision(row: DecisionRow): Promise<void>;
  addReview(row: ReviewRow): Promise<void>;
  /** Merges where any of these ids is the survivor or the merged profile, oldest first. */
  merges(profileIds: readonly string[]): Promise<MergeRow[]>;
  decisions(profileIds: readonly string[]): Promise<DecisionRow[]>;
  /** When this id was merged away, if it was. */
  mergedAt(profileId: string): Promise<Redirect | undefined>;
}

/** The slice of the profile store identity resolution needs (structurally satisfied by `ProfileStore`). */
export interface ProfileRegistry {
  create(row: {
    id: string;
    createdAt: number;
    updatedAt: number;
    traits: Record<string, unknown>;
    traitTimes: Record<string, number>;
  }): Promise<void>;
  get(ids: readonly string[]): Promise<{ id: string; createdAt: number }[]>;
}
