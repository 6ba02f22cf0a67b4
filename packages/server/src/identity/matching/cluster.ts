import type { ReviewPair, ScoredPair } from './types.js';

export interface ClusterOptions {
  autoMerge: number;
  maxClusterSize: number;
  minLinkProbability: number;
  /** The match probability of any pair (compared on demand: pairs between two groups need not be candidates). */
  score: (i: number, j: number) => number;
  cannotLink?: (a: number, b: number) => string | undefined;
  mustLink?: readonly (readonly [number, number])[];
}

/**
 * Groups records from scored pairs, strongest first, with guards against chains of weak links: two groups join only
 * when the merged group stays within `maxClusterSize`, no pair between them is forbidden (`cannotLink`), and every
 * pair between them scores at least `minLinkProbability` — so A~B and B~C do not put A with C when A and C
 * plainly differ. A refused pair goes to review with the guard's name; pairs between the thresholds go to review
 * unless their records end up together anyway.
 */
export function clusterPairs(
  n: number,
  pairs: readonly ScoredPair[],
  opts: ClusterOptions,
): { cluster: Int32Array; merged: ScoredPair[]; review: ReviewPair[] } {
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (i: number): number => {
    let r = i;
    while (parent[r] !== r) r = parent[r];
    while (parent[i] !== r) {
      const next = parent[i];
      parent[i] = r;
      i = next;
    }
    return r;
  };
  const members = new Map<number, number[]>();
  const membersOf = (root: number) => members.get(root) ?? [root];
  const union = (ra: number, rb: number) => {
    const all = [...membersOf(ra), ...membersOf(rb)];
    const [keep, drop] = ra < rb ? [ra, rb] : [rb, ra];
    parent[drop] = keep;
    members.delete(drop);
    members.set(keep, all);
  };

  const merged: ScoredPair[] = [];
  const review: ReviewPair[] = [];
  for (const [x, y] of opts.mustLink ?? []) {
    const rx = find(x);
    const ry = find(y);
    if (rx === ry) continue;
    union(rx, ry);
    const p = opts.score(x, y);
    merged.push({ a: Math.min(x, y), b: Math.max(x, y), probability: p, weight: Math.log2(p / (1 - p)) });
  }

  const sorted = [...pairs].sort((p, q) => q.probability - p.probability || p.a - q.a || p.b - q.b);
  for (const pair of sorted) {
    if (pair.probability < opts.autoMerge) {
      review.push({ ...pair, reason: 'between_thresholds' });
      continue;
    }
    const ra = find(pair.a);
    const rb = find(pair.b);
    if (ra === rb) continue;
    const A = membersOf(ra);
    const B = membersOf(rb);
    const refusal = guard(A, B, pair, opts);
    if (refusal) {
      review.push({ ...pair, reason: refusal });
      continue;
    }
    union(ra, rb);
    merged.push(pair);
  }

  const cluster = new Int32Array(n);
  const numbers = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    let c = numbers.get(r);
    if (c === undefined) {
      c = numbers.size;
      numbers.set(r, c);
    }
    cluster[i] = c;
  }
  return { cluster, merged, review: review.filter((p) => cluster[p.a] !== cluster[p.b]) };
}

function guard(A: readonly number[], B: readonly number[], pair: ScoredPair, opts: ClusterOptions): string | undefined {
  if (A.length + B.length > opts.maxClusterSize) return 'max_cluster_size';
  for (const x of A) {
    for (const y of B) {
      const forbidden = opts.cannotLink?.(x, y);
      if (forbidden) return forbidden;
    }
  }
  if (A.length === 1 && B.length === 1) return undefined;
  for (const x of A) {
    for (const y of B) {
      if ((x === pair.a && y === pair.b) || (x === pair.b && y === pair.a)) continue;
      if (opts.score(x, y) < opts.minLinkProbability) return 'weak_link';
    }
  }
  return undefined;
}
