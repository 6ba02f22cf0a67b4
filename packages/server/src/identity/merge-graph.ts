import type { IdentityStore, MergeRow, UnmergeRow } from './ports.js';

/**
 * The merge graph of profile ids (DESIGN §4): `merges` rows are its edges (merged id → the survivor of that merge),
 * never changed; an unmerge undoes an edge by a row of its own. `profile_redirects` is the flattened current view of
 * the edges that hold; the functions here read the edges themselves, for what redirects cannot tell: when each id
 * joined, which edges hold at a past time, what was merged into what.
 */

/** The current family of a survivor as a tree: each member's parent is the survivor of the merge that holds it. */
export interface FamilyTree {
  rootId: string;
  /** The root first, then every id redirected to it. */
  ids: string[];
  /** Member → the merge that holds it in the family: the latest one not undone. */
  parentOf: Map<string, MergeRow>;
  /** Merges touching the family, oldest first (undone ones too). */
  merges: MergeRow[];
  /** Unmerges touching the family, oldest first. */
  unmerges: UnmergeRow[];
}

/** Merge id → the unmerge that undid it. */
export function undoneBy(unmerges: readonly UnmergeRow[]): Map<string, UnmergeRow> {
  return new Map(unmerges.map((u) => [u.mergeId, u]));
}

/** The family of `rootId` (a survivor) with the merges that hold it together. */
export async function loadFamilyTree(identities: IdentityStore, rootId: string): Promise<FamilyTree> {
  const ids = await identities.family(rootId);
  const members = new Set(ids);
  const merges = await identities.merges(ids);
  const unmerges = await identities.unmerges(ids);
  const undone = undoneBy(unmerges);
  const parentOf = new Map<string, MergeRow>();
  // Oldest first: a later merge of the same id (after an unmerge) replaces the earlier one.
  for (const m of merges)
    if (members.has(m.mergedId) && members.has(m.survivorId) && !undone.has(m.id)) parentOf.set(m.mergedId, m);
  return { rootId, ids, parentOf, merges, unmerges };
}

/**
 * For each member of the tree under `fromId` (`fromId` itself included), the valid time from which its observations
 * count for `fromId`: `-Infinity` for `fromId`, else the latest valid time of the merges on its path up to `fromId`
 * (an id joins when every merge between them holds). Members cut off by `cut` (merge ids), and their subtrees, are
 * left out; so is a member whose path does not reach `fromId`.
 */
export function joinTimes(tree: FamilyTree, fromId: string, cut: ReadonlySet<string> = new Set()): Map<string, number> {
  const out = new Map<string, number>([[fromId, Number.NEGATIVE_INFINITY]]);
  const timeOf = (id: string, seen: Set<string>): number | undefined => {
    const known = out.get(id);
    if (known !== undefined) return known;
    const m = tree.parentOf.get(id);
    // No merge holds it (a family written before merges were recorded): it counts from the start.
    if (!m) return id === tree.rootId ? undefined : fromId === tree.rootId ? Number.NEGATIVE_INFINITY : undefined;
    if (cut.has(m.id) || seen.has(id)) return undefined;
    seen.add(id);
    const above = timeOf(m.survivorId, seen);
    return above === undefined ? undefined : Math.max(above, m.validAt);
  };
  for (const id of tree.ids) {
    const t = timeOf(id, new Set());
    if (t !== undefined) out.set(id, t);
  }
  return out;
}

/** `id` and every member whose path to the root passes through it, not crossing a merge of `cut`. */
export function subtreeOf(tree: FamilyTree, id: string, cut: ReadonlySet<string> = new Set()): string[] {
  return [...joinTimes(tree, id, cut).keys()];
}

/**
 * Every id connected to `start` by merges (undone ones included), with those merges and their unmerges: the ids a
 * profile was, or is, merged with. Stops growing at `maxIds`.
 */
export async function loadMergeGraph(
  identities: IdentityStore,
  start: readonly string[],
  maxIds = 10_000,
): Promise<{ ids: string[]; merges: MergeRow[]; unmerges: UnmergeRow[] }> {
  const ids = new Set(start);
  const merges = new Map<string, MergeRow>();
  let frontier = [...ids];
  while (frontier.length > 0 && ids.size < maxIds) {
    const next: string[] = [];
    for (const m of await identities.merges(frontier)) {
      merges.set(m.id, m);
      for (const id of [m.survivorId, m.mergedId])
        if (!ids.has(id)) {
          ids.add(id);
          next.push(id);
        }
    }
    frontier = next;
  }
  const sorted = [...merges.values()].sort((a, b) => a.mergedAt - b.mergedAt || (a.id < b.id ? -1 : 1));
  return { ids: [...ids], merges: sorted, unmerges: await identities.unmerges([...ids]) };
}

/**
 * Merged id → the merge that holds it as valid at `asOf` (event time) and as known at `knownAt` (record time);
 * each defaults to now. A merge holds when it is valid and recorded by then and not undone by an unmerge recorded
 * by `knownAt`.
 */
export function mergesHolding(
  merges: readonly MergeRow[],
  unmerges: readonly UnmergeRow[],
  at: { asOf?: number; knownAt?: number },
): Map<string, MergeRow> {
  const undone = undoneBy(unmerges);
  const out = new Map<string, MergeRow>();
  for (const m of merges) {
    if (at.asOf !== undefined && m.validAt > at.asOf) continue;
    if (at.knownAt !== undefined && m.mergedAt > at.knownAt) continue;
    const u = undone.get(m.id);
    if (u && (at.knownAt === undefined || u.unmergedAt <= at.knownAt)) continue;
    const held = out.get(m.mergedId);
    if (!held || m.mergedAt >= held.mergedAt) out.set(m.mergedId, m);
  }
  return out;
}
