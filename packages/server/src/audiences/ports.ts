import type { AudienceDefinition } from '@tessera/protocol';
import type { CompiledAudience } from './compile-sql.js';

/** The current state of one audience (`audiences`). */
export interface AudienceRow {
  key: string;
  name: string;
  description: string | null;
  definition: AudienceDefinition;
  /** 1 for the first save, +1 for each later one (a deletion included). */
  version: number;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  updatedBy: string;
  /** Set when deleted: the definition then holds for nobody, and the row goes once every member has exited. */
  deletedAt: number | null;
  /** When a full recomputation was asked for (a save, or explicitly); null once one ran. */
  recomputeRequestedAt: number | null;
  /** When the last full recomputation ran, and for which version. */
  computedAt: number | null;
  computedVersion: number | null;
}

/** One saved version of an audience (`audience_versions`), never changed. */
export interface AudienceVersionRow {
  key: string;
  version: number;
  name: string;
  description: string | null;
  definition: AudienceDefinition;
  deleted: boolean;
  createdAt: number;
  createdBy: string;
}

/** Definitions of audiences: business settings, versioned (DESIGN §9). */
export interface AudienceStore {
  /** Every audience, deleted ones included when asked, by key. */
  list(opts?: { includeDeleted?: boolean }): Promise<AudienceRow[]>;
  get(key: string): Promise<AudienceRow | undefined>;
  /** Writes `row` as the current state and its version as a new `audience_versions` row. */
  save(row: AudienceRow): Promise<void>;
  /** Every version of `key`, newest first. */
  versions(key: string): Promise<AudienceVersionRow[]>;
  /**
   * Holds the definitions of `keys` until the transaction ends: `share` while a batch evaluates them, `update` while a
   * full recomputation rewrites one's members (so no batch evaluates it meanwhile). Nothing where the store has a
   * single writer.
   */
  lock(keys: readonly string[], mode: 'share' | 'update'): Promise<void>;
  /** Asks for a full recomputation of `key` (no new version). */
  requestRecompute(key: string, at: number): Promise<void>;
  /** Records a finished full recomputation of `version` at `at`; the request is then served (cleared). */
  markComputed(key: string, version: number, at: number): Promise<void>;
  /** Removes a deleted audience's row (its versions and membership history stay). */
  remove(key: string): Promise<void>;
}

/** One stay of a profile in an audience (`audience_memberships`). */
export interface MembershipRow {
  id: string;
  audienceKey: string;
  profileId: string;
  enteredAt: number;
  /** Null while the profile is a member. */
  exitedAt: number | null;
  enteredVersion: number;
  exitedVersion: number | null;
  exitReason: ExitReason | null;
}

/** Why a stay ended: the definition stopped holding, the profile was merged into another, the audience was deleted. */
export type ExitReason = 'condition' | 'merged' | 'deleted';

/** Memberships and their history, and the scheduler's re-checks. Person-owned, by profile. */
export interface MembershipStore {
  /** The open stays of these profiles. */
  current(profileIds: readonly string[]): Promise<MembershipRow[]>;
  /** Every stay of these profiles, open or closed, by entry time. */
  history(profileIds: readonly string[]): Promise<MembershipRow[]>;
  /** Opens stays (at most one open stay per profile and audience: a second is an error). */
  enter(rows: readonly MembershipRow[]): Promise<void>;
  /** Closes open stays. */
  exit(
    stays: readonly { id: string; profileId: string }[],
    at: number,
    version: number,
    reason: ExitReason,
  ): Promise<void>;
  /** Open stays of audience `key`, by profile id, after `after`. */
  members(key: string, opts: { limit: number; after?: string }): Promise<MembershipRow[]>;
  /** Number of members of each audience that has any. */
  counts(): Promise<Map<string, number>>;
  /** Members of audience `key` at each of these instants (its size over time), from the stays on record. */
  sizesAt(key: string, instants: readonly number[]): Promise<number[]>;
  /** Runs a compiled audience (`compileAudience`): the ids it selects, in order. */
  select(query: CompiledAudience): Promise<string[]>;
  /** Runs a compiled count (`compileAudience(…, { count: true })`). */
  count(query: CompiledAudience): Promise<number>;
  /**
   * Runs a compiled tally (`compileAudience(…, { tally: true })`, `compileRecompute`): each profile considered,
   * whether it is in, and when one selects it (`due`), the instant to look again.
   */
  tally(query: CompiledAudience): Promise<{ id: string; member: boolean; due?: number }[]>;
  /**
   * Sets the next re-check of each profile (replacing any), or removes it where `dueAt` is null: after an evaluation
   * of every audience for them.
   */
  setRechecks(rows: readonly { profileId: string; dueAt: number | null }[]): Promise<void>;
  /** Brings the re-check of each profile forward to `dueAt` where it is later or absent. */
  recheckBy(rows: readonly { profileId: string; dueAt: number }[]): Promise<void>;
  /** The earliest re-check instant, if any. */
  nextDue(): Promise<number | undefined>;
  /** Removes and returns up to `limit` re-checks due at `now`, earliest first. */
  takeDue(now: number, limit: number): Promise<{ profileId: string; dueAt: number }[]>;
}

/** One profile's RFM scores (`rfm_scores`). */
export interface RfmRow {
  profileId: string;
  lastAt: number;
  frequency: number;
  monetary: number;
  r: number;
  f: number;
  m: number;
  segment: string;
  computedAt: number;
  settingsVersion: number;
}

/** RFM scores, rewritten as a whole by each run of the `rfm` job. Person-owned, by profile. */
export interface RfmStore {
  /** Replaces every row with those a compiled run selects (`compileRfm`); returns how many. */
  replace(query: CompiledAudience): Promise<number>;
  get(profileIds: readonly string[]): Promise<RfmRow[]>;
  /** Profiles per (r, f) cell and segment. */
  grid(): Promise<{ r: number; f: number; segment: string; profiles: number }[]>;
  /** The last run's time and settings version, if a run stored anything. */
  lastRun(): Promise<{ computedAt: number; settingsVersion: number } | undefined>;
}
