import { pairwiseScore } from '../identity/matching/evaluate.js';
import { matchRecords } from '../identity/matching/match-records.js';
import type { MatchPhase, MatchStats } from '../identity/matching/types.js';
import { peakRssMb } from './child.js';
import { exactKeyClusters } from './exact-key-dedupe.js';
import { PEOPLE_MATCH_CONFIG } from './people-match-config.js';
import { generateSyntheticPeople, toMatchRecords } from './synthetic-people.js';

/**
 * One side of the dedupe benchmark, in a process of its own so that its peak RSS is its own:
 * `node dedupe-child.js exact|matcher N SEED`. Generates the N synthetic people, deduplicates them (exact keys, or
 * `matchRecords`), scores the clusters against the answer key and prints one JSON line (`DedupeChildReport`).
 * Phase changes of the matcher go to stderr.
 */
export interface DedupeChildReport {
  records: number;
  entities: number;
  duplicates: number;
  generateSeconds: number;
  /** RSS once the records are built. */
  rssAfterGenerateMb: number;
  /** Wall clock of the deduplication call alone. */
  dedupeSeconds: number;
  /** Peak RSS when the deduplication returned (before scoring). */
  peakMb: number;
  clusters: number;
  precision: number;
  recall: number;
  f1: number;
  truePairs: number;
  predictedPairs: number;
  /** Matcher only. */
  stats?: Omit<MatchStats, 'skippedBlocks'> & { skippedBlocks: number; largestSkipped: number };
  emIterations?: number;
}

const [mode, nArg, seedArg] = process.argv.slice(2);
const n = Number(nArg);
const started = performance.now();
const people = generateSyntheticPeople(n, { seed: Number(seedArg ?? '1') });
const records = toMatchRecords(people);
const generateSeconds = (performance.now() - started) / 1000;
const rssAfterGenerateMb = process.memoryUsage().rss / 2 ** 20;

let cluster: Int32Array;
let extra: Pick<DedupeChildReport, 'stats' | 'emIterations'> = {};
const t0 = performance.now();
if (mode === 'exact') cluster = exactKeyClusters(records);
else if (mode === 'matcher') {
  let phase = '';
  const result = matchRecords(records, PEOPLE_MATCH_CONFIG, {
    onProgress: (p: MatchPhase) => {
      if (p === phase) return;
      phase = p;
      process.stderr.write(`dedupe   matcher: ${p} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    },
  });
  cluster = result.cluster;
  const { skippedBlocks, ...stats } = result.stats;
  extra = {
    stats: {
      ...stats,
      skippedBlocks: skippedBlocks.length,
      largestSkipped: Math.max(0, ...skippedBlocks.map((b) => b.size)),
    },
    emIterations: result.model.emIterations,
  };
} else throw new Error(`unknown mode "${mode}": exact or matcher`);
const dedupeSeconds = (performance.now() - t0) / 1000;
const peakMb = peakRssMb(process.pid);

const score = pairwiseScore(cluster, Array.from(people.entity, String));
let clusters = 0;
for (let i = 0; i < n; i++) clusters = Math.max(clusters, cluster[i] + 1);
const report: DedupeChildReport = {
  records: n,
  entities: people.entities,
  duplicates: n - people.entities,
  generateSeconds,
  rssAfterGenerateMb,
  dedupeSeconds,
  peakMb,
  clusters,
  precision: score.precision,
  recall: score.recall,
  f1: score.f1,
  truePairs: score.truePairs,
  predictedPairs: score.predictedPairs,
  ...extra,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
