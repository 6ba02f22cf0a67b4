import { toPublicId } from '@tessera/protocol';
import { newUuid } from '../ids.js';
import type { Storage, Stores } from '../storage/storage.js';
import { writeTransaction } from '../storage/write-transaction.js';
import type { GoldenRecords } from './golden-records.js';
import { checkLimits, mergeGuard, survivorOrder } from './identity-limits.js';
import { type FamilyTree, joinTimes, loadFamilyTree } from './merge-graph.js';
import type { IdentityRow } from './ports.js';
import type { IdentityRules } from './rules.js';

export interface MergeProfilesInput {
  /** Profile ids as stored (a merged one stands for its survivor). */
  profileIds: readonly string[];
  /** Recorded with each merge: `probabilistic` (the matcher's auto-merge), `review_accept`… */
  rule: string;
  /** Recorded with each merge, with public profile ids; a probabilistic merge puts its `MatchEvidence` in `match`. */
  evidence: unknown;
  /** Processing (record) time. */
  now: number;
  /** Valid (event) time from which the profiles are one; windowed limits count from it. */
  validAt: number;
  settingsVersion: number;
  rules: IdentityRules;
}

/** Why a merge is refused: an identity limit or guard (DESIGN §4), or an id that names no profile. */
export type MergeRefusal =
  | 'limit_exceeded'
  | 'max_profiles_per_merge'
  | 'max_identifiers_per_profile'
  | 'unknown_profile';

export type MergeProfilesResult =
  | {
      ok: true;
      survivorId: string;
      /** Survivors merged into `survivorId` now (empty when the ids were one profile already). */
      merged: string[];
      /** Traits of the survivor whose current value changed. */
      changedTraits: string[];
    }
  | { ok: false; reason: MergeRefusal; evidence: Record<string, unknown> };

/**
 * Merges profiles outside the pipeline (the matcher's auto-merge, an accepted review), in one write transaction
 * (see {@link mergeProfilesIn}).
 */
export function mergeProfiles(
  deps: { storage: Storage; golden: GoldenRecords },
  input: MergeProfilesInput,
): Promise<MergeProfilesResult> {
  return writeTransaction(deps.storage, (tx) => mergeProfilesIn(tx, deps.golden, input));
}

/**
 * Merges the survivors of `profileIds` inside transaction `tx`, under the limits identity resolution applies to an
 * event (DESIGN §4): the joined families must not raise a type's identifier count above both its limit (counting
 * those first seen within its window of `validAt`) and what one of them already holds, nor join more than
 * `maxProfilesPerMerge` profiles or more than `maxIdentifiersPerProfile` identifiers. Refused, it writes nothing and
 * returns the reason and its evidence. Else the survivor is the profile created first (then the smallest id); the
 * others are redirected to it, one `merges` row each records `rule` and `evidence`, the survivor's golden record is
 * rebuilt with the merged families' observations (valid from `validAt`), and the outbox gets `profile.merged` and
 * `profile.traits_changed`. In cluster mode the profile rows are locked first (in id order; again after a merge
 * that committed meanwhile), as a worker's batch does.
 */
export async function mergeProfilesIn(
  tx: Stores,
  golden: GoldenRecords,
  input: MergeProfilesInput,
): Promise<MergeProfilesResult> {
  const ids = [...new Set(input.profileIds)];
  const found = new Set((await tx.profiles.get(ids)).map((p) => p.id));
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0)
    return refuse('unknown_profile', { profileIds: missing.map((id) => toPublicId('profile', id)) });
  const survivors = await lockSurvivors(tx, ids);
  if (survivors.length === 1) return { ok: true, survivorId: survivors[0], merged: [], changedTraits: [] };

  const trees = new Map<string, FamilyTree>();
  const held: IdentityRow[][] = [];
  for (const s of survivors) {
    const tree = await loadFamilyTree(tx.identities, s);
    trees.set(s, tree);
    held.push(await tx.identities.ofProfiles(tree.ids));
  }
  const profileIds = survivors.map((id) => toPublicId('profile', id));
  const check = checkLimits(input.rules, held, [], input.validAt);
  if (check.violating.length > 0)
    return refuse('limit_exceeded', { profileIds, violating: check.violating, counts: check.counts });
  const guard = mergeGuard(input.rules, survivors.length, check.identifiers);
  if (guard) return refuse(guard.reason, { profileIds, ...guard.evidence });

  const [survivor, ...losers] = (await tx.profiles.get(survivors)).sort(survivorOrder).map((p) => p.id);
  const members = joinTimes(trees.get(survivor) as FamilyTree, survivor);
  const affectedIds: string[] = [];
  for (const loser of losers) {
    for (const [id, t] of joinTimes(trees.get(loser) as FamilyTree, loser)) {
      members.set(id, Math.max(t, input.validAt));
      affectedIds.push(id);
    }
  }
  await tx.identities.redirect(losers, survivor, input.now, input.validAt);
  for (const loser of losers) {
    await tx.identities.recordMerge({
      id: newUuid(),
      survivorId: survivor,
      mergedId: loser,
      mergedAt: input.now,
      validAt: input.validAt,
      rule: input.rule,
      evidence: input.evidence,
      eventId: null,
      settingsVersion: input.settingsVersion,
    });
  }
  const changedTraits = await golden.rederive(tx, {
    profileId: survivor,
    members,
    affectedIds,
    from: input.validAt,
    now: input.now,
  });
  const change = (kind: string, payload: Record<string, unknown>) => ({
    id: newUuid(),
    kind,
    profileId: survivor,
    payload,
    createdAt: input.now,
  });
  // Audiences: the scheduler's next re-check closes the merged ids' stays and evaluates the survivor.
  await tx.memberships.recheckBy([survivor, ...losers].map((profileId) => ({ profileId, dueAt: input.now })));
  await tx.changes.publish([
    ...losers.map((mergedId) => change('profile.merged', { survivorId: survivor, mergedId, rule: input.rule })),
    ...(changedTraits.length > 0
      ? [change('profile.traits_changed', { profileId: survivor, traits: changedTraits })]
      : []),
  ]);
  return { ok: true, survivorId: survivor, merged: losers, changedTraits };
}

function refuse(reason: MergeRefusal, evidence: Record<string, unknown>): MergeProfilesResult {
  return { ok: false, reason, evidence };
}

/**
 * The survivors of `ids`, their profile rows locked (nothing to lock where the store has a single writer): after
 * waiting for a row, a survivor may have been merged away meanwhile, so the ids are resolved again until every
 * survivor is locked.
 */
export async function lockSurvivors(tx: Stores, ids: readonly string[]): Promise<string[]> {
  const locked = new Set<string>();
  for (;;) {
    const survivors = [...new Set((await tx.identities.resolve(ids)).values())];
    const todo = survivors.filter((s) => !locked.has(s));
    if (todo.length === 0) return survivors;
    await tx.profiles.lock(todo);
    for (const s of todo) locked.add(s);
  }
}
