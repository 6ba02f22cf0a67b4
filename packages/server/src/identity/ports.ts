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

export type ReviewStatus = 'open' | 'accepted' | 'rejected';

/**
 * An item of the review queue. Kinds: `identity_guard` (a merge a guard of `resolveIdentity` stopped; evidence
 * `{eventId, decisions}` with public profile ids) and `probabilistic_match` (a pair of the matcher; evidence
 * `{leftId, rightId, match: MatchEvidence}` with the profile ids as stored, `profileId` = `leftId`).
 */
export interface ReviewRow {
  id: string;
  kind: string;
  status: ReviewStatus;
  reason: string;
  evidence: unknown;
  profileId: string | null;
  createdAt: number;
  /** Set once decided. */
  decidedAt?: number | null;
  /** Who decided: the API token (`tok_…`). */
  decidedBy?: string | null;
}

/** One merge undone by an unmerge (the `merges` row itself is never changed). */
export interface UnmergeRow {
  id: string;
  /** The survivor of the undone merge. */
  survivorId: string;
  /** The merged id of the undone merge: split out, with what was merged into it. */
  profileId: string;
  mergeId: string;
  unmergedAt: number;
  reason: string;
  decidedBy: string;
  settingsVersion: number;
  evidence: unknown;
}

/**
 * A pair a person declared the same profile (`accepted`: a review accepted) or different ones (`rejected`: a review
 * rejected, or an unmerge). Ids as they were when decided: resolve them through redirects before use.
 */
export interface MatchDecisionRow {
  id: string;
  profileId: string;
  otherId: string;
  decision: 'accepted' | 'rejected';
  /** `review` or `unmerge`. */
  origin: string;
  /** The review item or the unmerge. */
  refId: string | null;
  decidedAt: number;
  decidedBy: string;
}

/** A part split out of a family: `rootId` is a survivor again, `memberIds` (merged into it) redirect to it. */
export interface SplitPart {
  rootId: string;
  memberIds: readonly string[];
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
  /** `family` of several survivors at once: survivor → itself and every id redirected to it. */
  families(survivorIds: readonly string[]): Promise<Map<string, string[]>>;
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
  recordDecisions(rows: readonly DecisionRow[]): Promise<void>;
  addReview(row: ReviewRow): Promise<void>;
  /** One review item; `undefined` when there is none. */
  review(id: string): Promise<ReviewRow | undefined>;
  /**
   * Review items by id (oldest first), after `after`; with `profileIds`, only items opened on those (stored) ids.
   * Every status when `status` is absent.
   */
  reviews(query: {
    status?: ReviewStatus;
    profileIds?: readonly string[];
    limit: number;
    after?: string;
  }): Promise<ReviewRow[]>;
  /**
   * Decides an open item: sets its status, who and when. Returns false, changing nothing, when the item is not open
   * (or does not exist): a decision is taken once.
   */
  decideReview(id: string, decision: { status: 'accepted' | 'rejected'; at: number; by: string }): Promise<boolean>;
  /**
   * Splits parts out of a family: each root's own redirect is deleted (it is a survivor again) and its members'
   * redirects point to it. Rows keyed by profile id are not touched.
   */
  split(parts: readonly SplitPart[]): Promise<void>;
  recordUnmerge(row: UnmergeRow): Promise<void>;
  /** Unmerges where any of these ids is the survivor or the id split out, oldest first. */
  unmerges(profileIds: readonly string[]): Promise<UnmergeRow[]>;
  /** Records a decision about a pair: stored once per side. */
  recordMatchDecision(row: Omit<MatchDecisionRow, 'profileId' | 'otherId'> & { pair: [string, string] }): Promise<void>;
  /**
   * Decisions about pairs with a side among these (stored) ids, seen from that side (`profileId` is the id asked
   * for), oldest first; every decision, once per side, when `profileIds` is absent. The caller resolves the ids
   * through redirects (see `loadMatchDecisions`).
   */
  matchDecisions(profileIds?: readonly string[]): Promise<MatchDecisionRow[]>;
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
