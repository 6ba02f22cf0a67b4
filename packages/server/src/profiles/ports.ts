/** Current golden record of a profile. */
export interface ProfileRow {
  id: string;
  createdAt: number;
  updatedAt: number;
  traits: Record<string, unknown>;
  /** Per trait, the event time of its latest observation (to tell an in-order update from a late one). */
  traitTimes: Record<string, number>;
}

/** One interval of a trait's value (DESIGN §5): valid time [validFrom, validTo) and record time. */
export interface HistoryRow {
  id: string;
  profileId: string;
  trait: string;
  value: unknown;
  validFrom: number;
  validTo: number | null;
  recordedAt: number;
  supersededAt: number | null;
  sourceId: string;
  eventId: string | null;
}

export interface EventRow {
  id: string;
  logPosition: number;
  sourceId: string;
  type: string;
  name: string | null;
  messageId: string;
  profileId: string;
  userId: string | null;
  anonymousId: string | null;
  timestamp: number;
  receivedAt: number;
  properties: Record<string, unknown> | null;
  traits: Record<string, unknown> | null;
  context: Record<string, unknown> | null;
}

export interface EventQuery {
  profileIds: readonly string[];
  type?: string;
  name?: string;
  from?: number;
  to?: number;
  limit: number;
  /** Continue strictly before this (timestamp, id), newest first. */
  before?: { timestamp: number; id: string };
}

export interface ConsentRow {
  id: string;
  profileId: string;
  purpose: string;
  granted: boolean;
  legalBasis: string;
  validFrom: number;
  recordedAt: number;
  supersededAt: number | null;
  sourceId: string;
  eventId: string | null;
}

export interface AccountRow {
  id: string;
  groupId: string;
  traits: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

/** Profiles and their golden record. */
export interface ProfileStore {
  create(row: ProfileRow): Promise<void>;
  /** Creates several profiles in one statement (a batch's new profiles). */
  createMany(rows: readonly ProfileRow[]): Promise<void>;
  get(ids: readonly string[]): Promise<ProfileRow[]>;
  /** Locks these profile rows until the transaction ends, in id order (nothing where the store has a single writer). */
  lock(ids: readonly string[]): Promise<void>;
  update(
    id: string,
    traits: Record<string, unknown>,
    traitTimes: Record<string, number>,
    updatedAt: number,
  ): Promise<void>;
  /** Profiles (survivors only) whose traits or identifiers contain `q` (case-insensitive), by id. */
  search(q: string, opts: { limit: number; after?: string }): Promise<ProfileRow[]>;
  /**
   * A page of a full scan for matching: survivors by id after `after`, each with every identifier of its family.
   * With `sourceId`, only survivors whose family holds an identifier first linked by that source.
   */
  scan(opts: { limit: number; after?: string; sourceId?: string }): Promise<ScannedProfile[]>;
  count(): Promise<number>;
}

export interface ScannedProfile extends ProfileRow {
  identities: { type: string; value: string }[];
}

/** Bitemporal trait history. Rows are never deleted by the engine; corrections supersede them. */
export interface HistoryStore {
  insert(rows: readonly HistoryRow[]): Promise<void>;
  supersede(ids: readonly string[], at: number): Promise<void>;
  /** Sets the end of an open interval when a newer value arrives in order (informational: see `docs/architecture.md`, history model). */
  close(ids: readonly string[], validTo: number): Promise<void>;
  /** Current-knowledge rows (not superseded) of one trait of these profiles, by validFrom. */
  intervals(profileIds: readonly string[], trait: string): Promise<HistoryRow[]>;
  /** Every row of these profiles (superseded too), for `/history` and `asOf` / `knownAt`. */
  all(profileIds: readonly string[], opts?: { trait?: string }): Promise<HistoryRow[]>;
  /**
   * The open rows (`validTo` null, not superseded) of these profiles: one per trait of each profile, holding its
   * current value with the source and event that set it. Ordered by profile, trait.
   */
  current(profileIds: readonly string[]): Promise<HistoryRow[]>;
}

/** The person traits one stored event observed (the input of survivorship rules other than `most_recent`). */
export interface TraitObservationRow {
  eventId: string;
  /** The profile the event was resolved to when processed. */
  profileId: string;
  sourceId: string;
  messageId: string;
  /** Event time (ms). */
  timestamp: number;
  /** Never empty. */
  traits: Record<string, unknown>;
}

export interface EventStore {
  insert(rows: readonly EventRow[]): Promise<void>;
  list(query: EventQuery): Promise<EventRow[]>;
  /** Events of these profiles in (from, to) carrying person traits (not `group`), by timestamp; to place a late value. */
  withTraitsBetween(profileIds: readonly string[], from: number, to: number | null): Promise<EventRow[]>;
  /**
   * The person traits each event of these profiles observed, by timestamp then id, as the pipeline applied them:
   * an event's `traits`, except for `group` events, whose `traits` describe the account: for those, the person's
   * `context.traits` (which the pipeline stored as the event's `traits` when present). Events that observed no
   * person trait are left out. `until`: only events at or before this event time.
   */
  traitObservations(profileIds: readonly string[], opts?: { until?: number }): Promise<TraitObservationRow[]>;
  /** The events derived from these ingest log positions: their id and the profile they were stored under. */
  byLogPositions(positions: readonly number[]): Promise<{ id: string; logPosition: number; profileId: string }[]>;
  /**
   * The `track` events of these profiles (as stored: by the profile id at processing time) named one of `names`,
   * after event time `since` when given, in no particular order: what audience definitions read.
   */
  tracks(profileIds: readonly string[], names: readonly string[], since?: number): Promise<TrackRow[]>;
  /** The events of these (stored profile id, event id) keys; a key that matches nothing is left out. */
  byIds(keys: readonly { profileId: string; id: string }[]): Promise<EventRow[]>;
  count(): Promise<number>;
}

/** A `track` event as audiences read it. */
export interface TrackRow {
  id: string;
  profileId: string;
  name: string;
  timestamp: number;
  properties: Record<string, unknown> | null;
}

export interface ConsentStore {
  insert(rows: readonly ConsentRow[]): Promise<void>;
  supersede(ids: readonly string[], at: number): Promise<void>;
  /** Non-superseded rows of these profiles. */
  current(profileIds: readonly string[]): Promise<ConsentRow[]>;
  all(profileIds: readonly string[]): Promise<ConsentRow[]>;
}

export interface AccountStore {
  /** Creates or updates the account of a `group` call; returns its id. Traits are merged, newest wins. */
  upsert(groupId: string, traits: Record<string, unknown>, at: number, newId: string): Promise<string>;
  link(profileId: string, accountId: string, sourceId: string, at: number): Promise<void>;
  ofProfiles(profileIds: readonly string[]): Promise<(AccountRow & { linkedAt: number })[]>;
  /** Every link of these profiles, with the account's traits (one row per profile and account). */
  links(
    profileIds: readonly string[],
  ): Promise<{ profileId: string; accountId: string; traits: Record<string, unknown> }[]>;
}
