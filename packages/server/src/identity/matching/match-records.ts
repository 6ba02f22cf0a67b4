import type { FieldComparison, MatchConfig, MatchEvidence } from '@tessera/protocol';
import { TesseraError } from '../../errors.js';
import { blockingKeys, candidatePairs } from './blocking.js';
import { clusterPairs } from './cluster.js';
import { compileComparator, MISSING } from './compare.js';
import { countPatterns, estimateM, estimateU } from './estimate.js';
import { combineWeights, FieldColumn, groupIndex, levelLabel, type ResolvedConfig, resolveField } from './fields.js';
import { inferBlocking, inferConfig } from './infer.js';
import type { MatchModel, MatchOptions, MatchPhase, MatchRecord, MatchResult, ScoredPair } from './types.js';

/** Fills in a configuration's defaults; blocking rules are inferred from the data when absent. */
export function resolveConfig(
  config: MatchConfig,
  records: readonly MatchRecord[],
  side?: Uint8Array,
  maxClusterSize?: number,
): ResolvedConfig {
  const fields = config.fields.map(resolveField);
  const names = new Set<string>();
  for (const f of fields) {
    if (names.has(f.name)) throw new TesseraError('invalid_request', `field "${f.name}" is configured twice`);
    names.add(f.name);
    for (const l of f.levels)
      if (l.type === 'swapped' && !config.fields.some((g) => g.name === l.with))
        throw new TesseraError(
          'invalid_request',
          `field "${f.name}": level "swapped" names "${l.with}", which is not a configured field`,
        );
  }
  const review = config.thresholds?.review ?? 0.5;
  const autoMerge = config.thresholds?.autoMerge ?? 0.9;
  if (review > autoMerge) throw new TesseraError('invalid_request', 'thresholds: review must not exceed autoMerge');
  if (fields.length > 31) throw new TesseraError('invalid_request', 'at most 31 fields');
  if ((config.blocking?.length ?? 0) > 32) throw new TesseraError('invalid_request', 'at most 32 blocking rules');
  const resolved: ResolvedConfig = {
    fields,
    blocking: config.blocking ?? [],
    thresholds: { autoMerge, review },
    maxBlockSize: config.maxBlockSize ?? 1000,
    clustering: {
      maxClusterSize: Math.min(config.clustering?.maxClusterSize ?? 50, maxClusterSize ?? Number.POSITIVE_INFINITY),
      minLinkProbability: config.clustering?.minLinkProbability ?? review,
    },
    em: {
      maxIterations: config.em?.maxIterations ?? 50,
      uSampleSize: config.em?.uSampleSize ?? 1_000_000,
      seed: config.em?.seed ?? 1,
    },
  };
  if (resolved.blocking.length === 0) resolved.blocking = inferBlocking(resolved, records, side);
  return resolved;
}

/** The configuration as it ran (defaults filled in), in the protocol's shape. */
function asConfig(c: ResolvedConfig): MatchConfig {
  return {
    fields: c.fields.map((f) => ({
      name: f.name,
      kind: f.kind,
      levels: f.levels,
      tf: f.tf,
      ...(f.group ? { group: f.group } : {}),
    })),
    blocking: c.blocking,
    thresholds: c.thresholds,
    maxBlockSize: c.maxBlockSize,
    clustering: c.clustering,
    em: c.em,
  };
}

/**
 * Probabilistic record matching (DESIGN §4, docs/identity-matching.md): blocking → comparison levels → u from random
 * pairs, m and λ by EM → a match probability per candidate pair (term-frequency adjusted) → clustering with
 * guards. Pure: reads records, returns clusters, merge and review pairs, and the model that explains them.
 */
export function matchRecords(
  records: readonly MatchRecord[],
  configOrAuto: MatchConfig | 'auto',
  opts: MatchOptions = {},
): MatchResult {
  const timings: Record<MatchPhase, number> = { blocking: 0, estimating: 0, comparing: 0, clustering: 0 };
  let t = performance.now();
  const lap = (phase: MatchPhase) => {
    const now = performance.now();
    timings[phase] += now - t;
    t = now;
  };
  const n = records.length;
  const config = resolveConfig(configOrAuto === 'auto' ? inferConfig(records) : configOrAuto, records, opts.side);
  const scorer = buildScorer(config, records);
  const F = scorer.fields.length;

  const keys = blockingKeys(config.blocking, scorer.column, n);
  const pairs = candidatePairs(keys, n, {
    maxBlockSize: config.maxBlockSize,
    side: opts.side,
    onProgress: (d, total) => opts.onProgress?.('blocking', d, total),
  });
  lap('blocking');

  // Comparison vectors of every candidate pair.
  const gamma = new Uint8Array(pairs.count * F);
  for (let k = 0; k < pairs.count; k++) {
    const i = pairs.a[k];
    const j = pairs.b[k];
    for (let f = 0; f < F; f++) gamma[k * F + f] = scorer.comparators[f](i, j);
    if ((k & 0xfffff) === 0) opts.onProgress?.('comparing', k, pairs.count);
  }
  lap('comparing');

  const levelsPerField = scorer.fields.map((f) => f.levels.length + 1);
  const u = estimateU(n, scorer.sampling, levelsPerField, {
    sampleSize: config.em.uSampleSize,
    seed: config.em.seed,
    side: opts.side,
  });
  const used = config.blocking.map((rule) => {
    let bits = 0;
    for (const k of rule) {
      const f = scorer.fields.findIndex((x) => x.name === k.field);
      if (f >= 0) bits |= 1 << f;
    }
    return bits;
  });
  const all = (1 << F) - 1;
  const freeCache = new Map<number, number>();
  const freeOf = (rules: number) => {
    let free = freeCache.get(rules);
    if (free === undefined) {
      free = 0;
      for (let r = 0; r < used.length; r++) if (rules & (1 << r)) free |= all & ~used[r];
      freeCache.set(rules, free);
    }
    return free;
  };
  const patterns = countPatterns(gamma, pairs.count, F, pairs.rules, freeOf);
  opts.onProgress?.('estimating', 0, 1);
  const { groupOf, groups } = groupIndex(scorer.fields);
  const em = estimateM(patterns, u, levelsPerField, { maxIterations: config.em.maxIterations, groupOf, groups });
  // The prior of scoring is that of two random records: the matches EM expects among the candidates, over every
  // possible pair (blocking is assumed to keep nearly all matches).
  const possible = opts.side ? countSides(opts.side) : (n * (n - 1)) / 2;
  const lambda = Math.min(Math.max(em.matches, 1) / Math.max(possible, 1), 0.5);
  const model: MatchModel = {
    lambda,
    emIterations: em.iterations,
    config: asConfig(config),
    fields: scorer.fields.map((f, fi) => ({
      name: f.name,
      kind: f.kind,
      tf: f.tf,
      levels: [...f.levels.map(levelLabel), 'else'].map((label, l) => ({ label, m: em.m[fi][l + 1], u: u[fi][l + 1] })),
    })),
  };
  scorer.setModel(model);
  lap('estimating');

  const scored: ScoredPair[] = [];
  for (let k = 0; k < pairs.count; k++) {
    const w = scorer.weightOf(gamma.subarray(k * F, k * F + F), pairs.a[k]);
    const p = probability(w);
    if (p >= config.thresholds.review) scored.push({ a: pairs.a[k], b: pairs.b[k], probability: p, weight: w });
  }
  lap('comparing');

  opts.onProgress?.('clustering', 0, scored.length);
  const { cluster, merged, review } = clusterPairs(n, scored, {
    autoMerge: config.thresholds.autoMerge,
    maxClusterSize: config.clustering.maxClusterSize,
    minLinkProbability: config.clustering.minLinkProbability,
    score: (i, j) => probability(scorer.weight(i, j)),
    cannotLink: opts.cannotLink,
    mustLink: opts.mustLink,
  });
  lap('clustering');
  opts.onProgress?.('clustering', scored.length, scored.length);

  let clusters = 0;
  for (let i = 0; i < n; i++) clusters = Math.max(clusters, cluster[i] + 1);
  return {
    cluster,
    merged,
    review,
    model,
    stats: {
      records: n,
      candidatePairs: pairs.count,
      skippedBlocks: pairs.skippedBlocks,
      autoMerged: merged.length,
      review: review.length,
      clusters,
      timings,
    },
  };
}

function countSides(side: Uint8Array): number {
  let left = 0;
  for (let i = 0; i < side.length; i++) if (side[i] === 0) left++;
  return left * (side.length - left);
}

/** 2^w / (1 + 2^w): a log2 match weight (prior included) as a probability. */
export function probability(weight: number): number {
  return 1 / (1 + 2 ** -weight);
}

interface Scorer {
  fields: ResolvedConfig['fields'];
  comparators: ((i: number, j: number) => number)[];
  /** The same, without memory of value pairs (for random pairs). */
  sampling: ((i: number, j: number) => number)[];
  column: (name: string) => FieldColumn;
  setModel: (model: MatchModel) => void;
  /** Total log2 weight of a pair from its comparison vector (prior included). */
  weightOf: (gamma: ArrayLike<number>, i: number) => number;
  weight: (i: number, j: number) => number;
  explain: (i: number, j: number) => MatchEvidence;
}

/** Columns, comparators and (once the model is set) weights of a record set under a configuration. */
function buildScorer(config: ResolvedConfig, records: readonly MatchRecord[]): Scorer {
  const columns = new Map<string, FieldColumn>();
  for (const f of config.fields) columns.set(f.name, new FieldColumn(f, records));
  const column = (name: string) => {
    let c = columns.get(name);
    if (!c) {
      c = new FieldColumn({ name, kind: 'text', levels: [], tf: false }, records);
      columns.set(name, c);
    }
    return c;
  };
  const fields = config.fields;
  const cols = fields.map((f) => columns.get(f.name) as FieldColumn);
  const comparators = fields.map((f, fi) => compileComparator(cols[fi], f.levels, columns));
  // Random pairs rarely repeat a value pair: remembering their levels would cost more than it saves.
  const sampling = fields.map((f, fi) => compileComparator(cols[fi], f.levels, columns, { memo: false }));
  let weights: number[][] = [];
  let mExact: number[] = [];
  let prior = 0;
  /** `i` is one record of the pair: with `tf`, an exact level's weight depends on the value they share. */
  const { groupOf, groups } = groupIndex(fields);
  const perField = new Float64Array(fields.length);
  const scratch = new Float64Array(groups * 2);
  const weightOf = (gamma: ArrayLike<number>, i: number) => {
    for (let f = 0; f < gamma.length; f++) perField[f] = fieldWeight(f, gamma[f], i);
    return prior + combineWeights(perField, groupOf, groups, scratch);
  };
  /** A field's weight: log2(m / u), with u replaced by the value's term frequency when two values are equal. */
  const fieldWeight = (f: number, level: number, i: number) => {
    if (level === MISSING) return 0;
    if (level === 1 && fields[f].tf && fields[f].levels[0]?.type === 'exact') {
      const col = cols[f];
      return Math.log2(mExact[f] / Math.max(col.tf(col.ids[i]), 1 / Math.max(col.present, 1)));
    }
    return weights[f][level];
  };
  const gammaOf = (i: number, j: number) => comparators.map((c) => c(i, j));
  return {
    fields,
    comparators,
    sampling,
    column,
    setModel(model) {
      prior = Math.log2(model.lambda / (1 - model.lambda));
      weights = model.fields.map((f) => [0, ...f.levels.map((l) => Math.log2(l.m / l.u))]);
      mExact = model.fields.map((f) => f.levels[0].m);
    },
    weightOf,
    weight: (i, j) => weightOf(gammaOf(i, j), i),
    explain(i, j) {
      const gamma = gammaOf(i, j);
      const weights = fields.map((_, fi) => fieldWeight(fi, gamma[fi], i));
      // What each field added: within a group, only its strongest agreement and its strongest disagreement count.
      const counted = weights.map((w, fi) => {
        const g = groupOf[fi];
        if (g < 0) return w;
        const mates = weights.map((x, k) => (groupOf[k] === g ? x : 0));
        const pick = w > 0 ? Math.max(...mates) : Math.min(...mates);
        return w !== 0 && mates.indexOf(pick) === fi ? w : 0;
      });
      const comparisons: FieldComparison[] = fields.map((f, fi) => ({
        field: f.name,
        left: cols[fi].value(i),
        right: cols[fi].value(j),
        level:
          gamma[fi] === MISSING
            ? 'missing'
            : gamma[fi] > f.levels.length
              ? 'else'
              : levelLabel(f.levels[gamma[fi] - 1]),
        weight: round(weights[fi]),
        counted: round(counted[fi]),
        ...(f.group ? { group: f.group } : {}),
      }));
      const w = weightOf(gamma, i);
      return { probability: probability(w), weight: round(w), prior: round(prior), fields: comparisons };
    },
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Explains pairs under an estimated model: the evidence recorded with a probabilistic merge and shown in review.
 * `records` must be the record set the model was estimated on (term frequencies come from it).
 */
export function explainer(model: MatchModel, records: readonly MatchRecord[]): (a: number, b: number) => MatchEvidence {
  const config = resolveConfig(model.config, records);
  const scorer = buildScorer(config, records);
  scorer.setModel(model);
  return (a, b) => scorer.explain(a, b);
}
