import type { MatchConfig, MatchEvidence } from '@tessera/protocol';

/** One record to match: column (or trait / identifier type) → value. Empty strings count as missing. */
export type MatchRecord = Readonly<Record<string, string | null | undefined>>;

export interface MatchOptions {
  /**
   * Linking two files: `side[i]` is 0 or 1 for record i, and only records of different sides are compared.
   * Absent: deduplication of one set.
   */
  side?: Uint8Array;
  /**
   * Pairs that must never be merged (a person rejected them in review, or merging them would break an identity
   * limit): the pair is still scored, and goes to review instead of being merged.
   */
  cannotLink?: (a: number, b: number) => string | undefined;
  /** Pairs a person accepted in review: merged whatever their score. */
  mustLink?: readonly (readonly [number, number])[];
  /** Caps the configuration's `clustering.maxClusterSize` (the store passes its `maxProfilesPerMerge`). */
  maxClusterSize?: number;
  /** Progress of the long phases (blocking, comparing, clustering), for a progress bar. */
  onProgress?: (phase: MatchPhase, done: number, total: number) => void;
}

export type MatchPhase = 'blocking' | 'estimating' | 'comparing' | 'clustering';

/** A compared pair above the review threshold. `a < b` are record indexes. */
export interface ScoredPair {
  a: number;
  b: number;
  probability: number;
  /** Total log2 match weight (prior included). */
  weight: number;
}

export interface ReviewPair extends ScoredPair {
  /** Why it is not merged: `between_thresholds`, `max_cluster_size`, `weak_link` (a pair between the two groups scores below `minLinkProbability`), or a `cannotLink` reason. */
  reason: string;
}

export interface LevelModel {
  /** "exact", "jaro_winkler>=0.92", …, "else". */
  label: string;
  /** P(level | match), estimated by EM. */
  m: number;
  /** P(level | non-match), estimated on random pairs. */
  u: number;
}

export interface FieldModel {
  name: string;
  kind: string;
  levels: LevelModel[];
  tf: boolean;
}

/** The estimated Fellegi-Sunter model: enough to score any pair again (review queue, `/explain`). */
export interface MatchModel {
  /** Prior probability that two random records match: the matches EM expects among the candidates over all pairs. */
  lambda: number;
  fields: FieldModel[];
  /** The configuration used, with defaults filled in (and inferred, for `auto`). */
  config: MatchConfig;
  emIterations: number;
}

export interface MatchStats {
  records: number;
  candidatePairs: number;
  /** Blocks larger than `maxBlockSize`, skipped: rule index, key, size. */
  skippedBlocks: { rule: number; key: string; size: number }[];
  autoMerged: number;
  review: number;
  clusters: number;
  /** Milliseconds per phase. */
  timings: Record<MatchPhase, number>;
}

export interface MatchResult {
  /** `cluster[i]`: the cluster of record i, numbered from 0; a record alone has its own cluster. */
  cluster: Int32Array;
  /** Pairs merged (auto-merge threshold reached and the clustering guards passed, or `mustLink`). */
  merged: ScoredPair[];
  /** Pairs for a person to decide. */
  review: ReviewPair[];
  model: MatchModel;
  stats: MatchStats;
}

/** The evidence of one pair under a model (recorded with a probabilistic merge, shown in review and `/explain`). */
export type ExplainPair = (a: MatchRecord, b: MatchRecord) => MatchEvidence;
