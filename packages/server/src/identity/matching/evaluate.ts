export interface PairwiseScore {
  truePairs: number;
  predictedPairs: number;
  truePositives: number;
  precision: number;
  recall: number;
  f1: number;
}

/**
 * Pairwise precision, recall and F1 of a clustering against the true entities: a pair counts when both records are
 * in one cluster (predicted) or one entity (true). Linking two files (`side`), only pairs across the files count.
 * Records whose truth is null count as entities of their own.
 */
export function pairwiseScore(
  cluster: ArrayLike<number | string>,
  truth: ArrayLike<string | null>,
  side?: Uint8Array,
): PairwiseScore {
  const n = cluster.length;
  if (truth.length !== n) throw new Error('cluster and truth lengths differ');
  const count = (key: (i: number) => string) => {
    const groups = new Map<string, [number, number]>();
    for (let i = 0; i < n; i++) {
      const k = key(i);
      let g = groups.get(k);
      if (!g) {
        g = [0, 0];
        groups.set(k, g);
      }
      g[side ? side[i] : 0]++;
    }
    let pairs = 0;
    for (const [a, b] of groups.values()) pairs += side ? a * b : (a * (a - 1)) / 2;
    return pairs;
  };
  const entity = (i: number) => truth[i] ?? `\u0000${i}`;
  const truePairs = count(entity);
  const predictedPairs = count((i) => String(cluster[i]));
  const truePositives = count((i) => `${cluster[i]}\u0001${entity(i)}`);
  const precision = predictedPairs === 0 ? 1 : truePositives / predictedPairs;
  const recall = truePairs === 0 ? 1 : truePositives / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { truePairs, predictedPairs, truePositives, precision, recall, f1 };
}
