import type { IdentityStore } from './ports.js';

/** A remembered decision about two profiles, as they are now (survivors). `a < b`. */
export interface PairDecision {
  a: string;
  b: string;
  /** `accepted`: the same person (merge them whatever their score); `rejected`: never merge them. */
  decision: 'accepted' | 'rejected';
  /** `review` or `unmerge`. */
  origin: string;
  decidedAt: number;
}

/**
 * The decisions people took about pairs of profiles (review accepts and rejects, unmerges), for a matcher run: each
 * side resolved to its survivor now, the latest decision per pair. With `survivorIds`, the decisions about pairs of
 * those survivors (decisions recorded under any id of their families count); without, every decision. Pairs whose
 * sides are one profile now are left out.
 */
export async function loadMatchDecisions(
  identities: IdentityStore,
  survivorIds?: readonly string[],
): Promise<PairDecision[]> {
  let ids: string[] | undefined;
  if (survivorIds) {
    ids = [];
    for (const s of new Set(survivorIds)) ids.push(...(await identities.family(s)));
  }
  const rows = await identities.matchDecisions(ids);
  const once = new Map(rows.map((r) => [r.id, r]));
  const resolved = await identities.resolve([...new Set([...once.values()].flatMap((r) => [r.profileId, r.otherId]))]);
  const wanted = survivorIds ? new Set(survivorIds) : undefined;
  const latest = new Map<string, PairDecision & { id: string }>();
  for (const r of once.values()) {
    const x = resolved.get(r.profileId) ?? r.profileId;
    const y = resolved.get(r.otherId) ?? r.otherId;
    if (x === y || (wanted && (!wanted.has(x) || !wanted.has(y)))) continue;
    const [a, b] = x < y ? [x, y] : [y, x];
    const key = `${a} ${b}`;
    const held = latest.get(key);
    if (held && (held.decidedAt > r.decidedAt || (held.decidedAt === r.decidedAt && held.id > r.id))) continue;
    latest.set(key, { a, b, decision: r.decision, origin: r.origin, decidedAt: r.decidedAt, id: r.id });
  }
  return [...latest.values()].map(({ id: _id, ...d }) => d);
}
