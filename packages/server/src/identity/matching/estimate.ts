import { createSeededRandom } from '../../seeded-random.js';
import { MISSING } from './compare.js';
import { combineWeights } from './fields.js';

/**
 * u (the probability of each level among non-matching pairs) from random record pairs: every pair when there are no
 * more than `sampleSize`, else `sampleSize` pairs drawn at random (matches among them are too rare to matter).
 * `levelsPerField[f]` is the number of levels of field f, "else" included (MISSING excluded).
 */
export function estimateU(
  n: number,
  comparators: readonly ((i: number, j: number) => number)[],
  levelsPerField: readonly number[],
  opts: { sampleSize: number; seed: number; side?: Uint8Array },
): number[][] {
  const counts = levelsPerField.map((l) => new Float64Array(l + 1));
  const visit = (i: number, j: number) => {
    for (let f = 0; f < comparators.length; f++) counts[f][comparators[f](i, j)]++;
  };
  const side = opts.side;
  if (side) {
    const left: number[] = [];
    const right: number[] = [];
    for (let i = 0; i < n; i++) (side[i] === 0 ? left : right).push(i);
    const total = left.length * right.length;
    if (total <= opts.sampleSize) {
      for (const i of left) for (const j of right) visit(i, j);
    } else {
      const rnd = createSeededRandom(opts.seed).next;
      for (let k = 0; k < opts.sampleSize; k++)
        visit(left[Math.floor(rnd() * left.length)], right[Math.floor(rnd() * right.length)]);
    }
  } else {
    const total = (n * (n - 1)) / 2;
    if (total <= opts.sampleSize) {
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) visit(i, j);
    } else {
      const rnd = createSeededRandom(opts.seed).next;
      for (let k = 0; k < opts.sampleSize; ) {
        const i = Math.floor(rnd() * n);
        const j = Math.floor(rnd() * n);
        if (i === j) continue;
        visit(i, j);
        k++;
      }
    }
  }
  return counts.map((c) => {
    let present = 0;
    for (let l = 1; l < c.length; l++) present += c[l];
    // A level never seen among random pairs gets half an observation: rare, not impossible.
    return Array.from(c, (x, l) => (l === MISSING ? 0 : Math.max(x, 0.5) / Math.max(present, 1)));
  });
}

export interface EmResult {
  /** Expected number of matches among the candidate pairs. */
  matches: number;
  m: number[][];
  iterations: number;
}

/**
 * Fellegi-Sunter m (probability of each level among matches) by expectation-maximisation over the candidate pairs'
 * comparison patterns, u fixed. Blocking makes candidate pairs agree on the fields of the rules that produced them,
 * matches or not, so a pair's forced fields take no part in its estimation (neither in the E step nor in m), and
 * the share of matches is estimated per set of free fields (pairs of different rules differ in it).
 */
export function estimateM(
  patterns: { gammas: Uint8Array[]; free: number[]; counts: number[] },
  u: readonly (readonly number[])[],
  levelsPerField: readonly number[],
  opts: { maxIterations: number; groupOf?: Int32Array; groups?: number },
): EmResult {
  const F = levelsPerField.length;
  const groupOf = opts.groupOf ?? new Int32Array(F).fill(-1);
  const groupCount = opts.groups ?? 0;
  const ratios = new Float64Array(F);
  const scratch = new Float64Array(groupCount * 2);
  const P = patterns.counts.length;
  // Initial m: agreement levels likely among matches, "else" unlikely.
  let m = levelsPerField.map((L) => {
    const raw = Array.from({ length: L + 1 }, (_, l) => (l === MISSING ? 0 : l === L ? 0.05 : 0.5 ** l));
    const sum = raw.reduce((s, x) => s + x, 0);
    return raw.map((x) => x / sum);
  });
  const freeSets = [...new Set(patterns.free)];
  const freeGroup = patterns.free.map((f) => freeSets.indexOf(f));
  let lambda = freeSets.map(() => 0.1);
  let iterations = 0;
  let matches = 0;
  const post = new Float64Array(P);
  for (; iterations < opts.maxIterations; iterations++) {
    // E step.
    const matched = new Float64Array(freeSets.length);
    const total = new Float64Array(freeSets.length);
    for (let p = 0; p < P; p++) {
      const g = patterns.gammas[p];
      const free = patterns.free[p];
      const k = freeGroup[p];
      for (let f = 0; f < F; f++) {
        const l = g[f];
        ratios[f] = l === MISSING || !(free & (1 << f)) ? 0 : Math.log(m[f][l] / u[f][l]);
      }
      const logit = Math.log(lambda[k] / (1 - lambda[k])) + combineWeights(ratios, groupOf, groupCount, scratch);
      const pm = 1 / (1 + Math.exp(-logit));
      post[p] = pm;
      matched[k] += pm * patterns.counts[p];
      total[k] += patterns.counts[p];
    }
    // M step.
    const next = levelsPerField.map((L) => new Float64Array(L + 1));
    for (let p = 0; p < P; p++) {
      const g = patterns.gammas[p];
      const w = post[p] * patterns.counts[p];
      const free = patterns.free[p];
      for (let f = 0; f < F; f++) if (g[f] !== MISSING && free & (1 << f)) next[f][g[f]] += w;
    }
    const nextM = next.map((c, f) => {
      let sum = 0;
      for (let l = 1; l < c.length; l++) sum += c[l];
      // A field no free pair informs keeps its previous m.
      if (sum === 0) return m[f];
      return monotone(
        Array.from(c, (x, l) => (l === MISSING ? 0 : Math.max(x / sum, 1e-6))),
        u[f],
      );
    });
    const nextLambda = freeSets.map((_, k) => Math.min(Math.max(matched[k] / Math.max(total[k], 1), 1e-9), 1 - 1e-9));
    matches = matched.reduce((s, x) => s + x, 0);
    let delta = 0;
    for (let k = 0; k < freeSets.length; k++) delta = Math.max(delta, Math.abs(nextLambda[k] - lambda[k]));
    for (let f = 0; f < F; f++)
      for (let l = 1; l < m[f].length; l++) delta = Math.max(delta, Math.abs(nextM[f][l] - m[f][l]));
    m = nextM;
    lambda = nextLambda;
    if (delta < 1e-6) {
      iterations++;
      break;
    }
  }
  return { matches, m, iterations };
}

/**
 * Levels are configured best first, so a level's Bayes factor m / u must not exceed the one before it. Where EM's m
 * breaks that order (few matches, odd data), the offending levels are pooled: they share one factor, m kept in
 * total (pool-adjacent-violators).
 */
export function monotone(m: readonly number[], u: readonly number[]): number[] {
  const out = [...m];
  // Blocks of adjacent levels [from, to] with their pooled m and u.
  const blocks: { from: number; to: number; m: number; u: number }[] = [];
  for (let l = 1; l < m.length; l++) {
    blocks.push({ from: l, to: l, m: m[l], u: u[l] });
    while (blocks.length > 1) {
      const last = blocks[blocks.length - 1];
      const prev = blocks[blocks.length - 2];
      if (last.m / last.u <= prev.m / prev.u) break;
      blocks.splice(blocks.length - 2, 2, { from: prev.from, to: last.to, m: prev.m + last.m, u: prev.u + last.u });
    }
  }
  for (const b of blocks) if (b.from !== b.to) for (let l = b.from; l <= b.to; l++) out[l] = (u[l] * b.m) / b.u;
  return out;
}

/**
 * Comparison patterns of the candidate pairs, counted: EM runs over distinct patterns, not pairs. `freeOf(rules)`
 * gives the fields the pair's blocking rules leave free (bit f set: some satisfied rule does not use field f).
 */
export function countPatterns(
  gamma: Uint8Array,
  count: number,
  F: number,
  rules: Uint32Array,
  freeOf: (rules: number) => number,
): { gammas: Uint8Array[]; free: number[]; counts: number[] } {
  const index = new Map<string, number>();
  const gammas: Uint8Array[] = [];
  const free: number[] = [];
  const counts: number[] = [];
  for (let k = 0; k < count; k++) {
    const g = gamma.subarray(k * F, k * F + F);
    const fm = freeOf(rules[k]);
    let key = String(fm);
    for (let f = 0; f < F; f++) key += String.fromCharCode(65 + g[f]);
    let p = index.get(key);
    if (p === undefined) {
      p = gammas.length;
      index.set(key, p);
      gammas.push(g.slice());
      free.push(fm);
      counts.push(0);
    }
    counts[p]++;
  }
  return { gammas, free, counts };
}
