import { toPublicId } from '@tessera/protocol';
import type { ChangeInput } from '../bus/ports.js';
import { TesseraError } from '../errors.js';
import { newUuid } from '../ids.js';
import type { Storage, Stores } from '../storage/storage.js';
import { writeTransaction } from '../storage/write-transaction.js';
import type { GoldenRecords } from './golden-records.js';
import { joinTimes, loadFamilyTree, subtreeOf } from './merge-graph.js';
import { lockSurvivors } from './merge-profiles.js';
import type { MergeRow, SplitPart, UnmergeRow } from './ports.js';

export interface UnmergeInput {
  /** Any id of the family (as stored): its survivor is the profile split. */
  profileId: string;
  /** Ids merged into that family (as stored) to split out; each takes along what was merged into it. */
  split: readonly string[];
  reason: string;
  /** Who asked: the API token (`tok_…`). */
  decidedBy: string;
  now: number;
  settingsVersion: number;
}

export interface UnmergeResult {
  /** The family that remains first (its root is the former survivor), then each part split out. */
  parts: { rootId: string; memberIds: string[] }[];
  unmerges: UnmergeRow[];
}

/** Splits merged ids out of a profile, in one write transaction, run again after a deadlock (see {@link unmergeProfilesIn}). */
export function unmergeProfiles(
  deps: { storage: Storage; golden: GoldenRecords },
  input: UnmergeInput,
): Promise<UnmergeResult> {
  return writeTransaction(deps.storage, (tx) => unmergeProfilesIn(tx, deps.golden, input));
}

/**
 * Unmerge (DESIGN §4: it writes overrides, it does not rewrite history). Each id of `split` is cut from the family
 * at the merge that holds it there; it becomes a survivor again with what was merged into it (redirects), so its
 * identifiers, and the events that arrive with them, resolve to it. Stored rows keep their profile ids: events,
 * identities and trait history written under the survivor while they were merged stay with the survivor. One
 * `unmerges` row per cut merge records who, when, why and the settings version (the `merges` row is kept), and the
 * pair is remembered as a `rejected` match decision. The golden record of each profile that lost members (the
 * survivor, and any id in between) is rebuilt from its remaining members' observations, its history corrected from
 * the cut merge's valid time on. The outbox gets `profile.unmerged` per part and `profile.traits_changed`.
 *
 * @throws TesseraError `not_merged` when an id of `split` is not merged into the family (or is its survivor).
 */
export async function unmergeProfilesIn(
  tx: Stores,
  golden: GoldenRecords,
  input: UnmergeInput,
): Promise<UnmergeResult> {
  const [survivor] = await lockSurvivors(tx, [input.profileId]);
  const tree = await loadFamilyTree(tx.identities, survivor);
  const cutMerges = new Map<string, MergeRow>();
  for (const id of new Set(input.split)) {
    const m = tree.parentOf.get(id);
    if (!m)
      throw new TesseraError(
        'not_merged',
        id === survivor
          ? `${toPublicId('profile', id)} is the survivor: name the ids merged into it`
          : `${toPublicId('profile', id)} is not merged into ${toPublicId('profile', survivor)}`,
        { details: { profileId: toPublicId('profile', id) } },
      );
    cutMerges.set(m.id, m);
  }
  const cut = new Set(cutMerges.keys());
  const parts: SplitPart[] = [...cutMerges.values()].map((m) => ({
    rootId: m.mergedId,
    memberIds: subtreeOf(tree, m.mergedId, cut).filter((id) => id !== m.mergedId),
  }));

  // Every id above a cut merge may have lost members: its subtree with the cuts is smaller than without.
  const rebuild: { id: string; members: Map<string, number>; removed: string[]; from: number }[] = [];
  const candidates = new Set<string>();
  for (const m of cutMerges.values())
    for (let id: string | undefined = m.survivorId; id && !candidates.has(id); id = tree.parentOf.get(id)?.survivorId)
      candidates.add(id);
  for (const id of candidates) {
    const before = joinTimes(tree, id);
    const after = joinTimes(tree, id, cut);
    const removed = [...before.keys()].filter((x) => !after.has(x));
    if (removed.length === 0) continue;
    const from = Math.min(...removed.map((x) => before.get(x) as number));
    rebuild.push({ id, members: after, removed, from });
  }

  await tx.identities.split(parts);
  const unmerges: UnmergeRow[] = [];
  for (const [i, m] of [...cutMerges.values()].entries()) {
    const row: UnmergeRow = {
      id: newUuid(),
      survivorId: m.survivorId,
      profileId: m.mergedId,
      mergeId: m.id,
      unmergedAt: input.now,
      reason: input.reason,
      decidedBy: input.decidedBy,
      settingsVersion: input.settingsVersion,
      evidence: {
        familyOf: toPublicId('profile', survivor),
        part: [parts[i].rootId, ...parts[i].memberIds].map((id) => toPublicId('profile', id)),
      },
    };
    await tx.identities.recordUnmerge(row);
    await tx.identities.recordMatchDecision({
      id: newUuid(),
      pair: [m.survivorId, m.mergedId],
      decision: 'rejected',
      origin: 'unmerge',
      refId: row.id,
      decidedAt: input.now,
      decidedBy: input.decidedBy,
    });
    unmerges.push(row);
  }
  const changes: ChangeInput[] = unmerges.map((u) => ({
    id: newUuid(),
    kind: 'profile.unmerged',
    profileId: u.profileId,
    payload: { profileId: u.profileId, survivorId: survivor, unmergeId: u.id },
    createdAt: input.now,
  }));
  for (const r of rebuild) {
    const traits = await golden.rederive(tx, {
      profileId: r.id,
      members: r.members,
      affectedIds: r.removed,
      from: r.from,
      now: input.now,
    });
    if (traits.length > 0)
      changes.push({
        id: newUuid(),
        kind: 'profile.traits_changed',
        profileId: r.id,
        payload: { profileId: r.id, traits },
        createdAt: input.now,
      });
  }
  await tx.changes.publish(changes);
  // Audiences: the scheduler's next re-check evaluates the survivor and every profile split back out.
  await tx.memberships.recheckBy(
    [survivor, ...rebuild.map((r) => r.id)].map((profileId) => ({ profileId, dueAt: input.now })),
  );
  const remaining = subtreeOf(tree, survivor, cut);
  return {
    parts: [
      { rootId: survivor, memberIds: remaining.filter((id) => id !== survivor) },
      ...parts.map((p) => ({ rootId: p.rootId, memberIds: [...p.memberIds] })),
    ],
    unmerges,
  };
}
