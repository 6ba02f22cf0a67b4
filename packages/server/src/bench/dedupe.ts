import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runJsonChild } from './child.js';
import type { DedupeChildReport } from './dedupe-child.js';
import type { DedupeStoreReport } from './dedupe-store-child.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const SEED = 1;

/**
 * Issue 4's dedupe benchmark: 1,000,000 × scale synthetic people (`synthetic-people.ts`: about 20 % of persons have 1
 * to 3 corrupted duplicates). Two child processes, each generating the same records from the seed (so each peak RSS
 * is its own and includes the records, the matcher's input):
 * - the baseline, exact keys (`exact-key-dedupe.ts`): one normalised e-mail, or given name + surname + birth date;
 * - the matcher, `matchRecords` with `PEOPLE_MATCH_CONFIG`: candidate pairs, matching + clustering time (wall clock
 *   and per phase), peak RSS.
 * Both are scored pairwise against the answer key; the matcher's time and F1 print as ratios to the baseline's. Then
 * the store-side application of the merges (`measureApplyMerges`).
 */
export async function dedupeBench(scale: number): Promise<void> {
  const n = Math.max(1000, Math.round(1_000_000 * scale));
  const exact = await runDedupeChild('exact', n);
  console.log(
    `dedupe   ${fmt(n)} synthetic people: ${fmt(exact.entities)} persons, ${fmt(exact.duplicates)} duplicates, ${fmt(exact.truePairs)} true pairs; generated in ${exact.generateSeconds.toFixed(1)} s, RSS ${fmt(exact.rssAfterGenerateMb)} MB with the records`,
  );
  console.log(
    `dedupe   baseline, exact keys (e-mail; given name + surname + birth date): ${exact.dedupeSeconds.toFixed(1)} s, ${scores(exact)}, peak RSS ${fmt(exact.peakMb)} MB`,
  );
  const m = await runDedupeChild('matcher', n);
  const s = m.stats;
  if (!s) throw new Error('the matcher child reported no stats');
  const phases = Object.entries(s.timings)
    .map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)} s`)
    .join(', ');
  console.log(
    `dedupe   matcher: ${fmt(s.candidatePairs)} candidate pairs (${s.skippedBlocks} blocks over maxBlockSize skipped${s.skippedBlocks ? `, largest ${fmt(s.largestSkipped)}` : ''}), ${fmt(s.autoMerged)} merged, ${fmt(s.review)} to review, ${fmt(s.clusters)} clusters, EM ${m.emIterations} iterations`,
  );
  console.log(
    `dedupe   matcher: matching + clustering ${m.dedupeSeconds.toFixed(1)} s wall (${phases}), peak RSS ${fmt(m.peakMb)} MB (${fmt(m.rssAfterGenerateMb)} MB with the records before matching)  (target < 300 s and < 4,096 MB)`,
  );
  console.log(`dedupe   matcher: ${scores(m)}`);
  console.log(
    `dedupe   matcher / baseline: time × ${(m.dedupeSeconds / exact.dedupeSeconds).toFixed(1)}, F1 × ${(m.f1 / exact.f1).toFixed(2)} (precision ${m.precision.toFixed(4)} / ${exact.precision.toFixed(4)}, recall ${m.recall.toFixed(4)} / ${exact.recall.toFixed(4)}), peak RSS × ${(m.peakMb / exact.peakMb).toFixed(2)}`,
  );
  console.log(`dedupe   applying merges: ${await measureApplyMerges(n)}`);
}

const scores = (r: DedupeChildReport) =>
  `precision ${r.precision.toFixed(4)}, recall ${r.recall.toFixed(4)}, F1 ${r.f1.toFixed(4)} (${fmt(r.predictedPairs)} pairs predicted)`;

/**
 * The store side: `dedupe-store-child.js` loads the n synthetic people as `identify` calls through the
 * pipeline into a fresh data directory, then runs `tessera identity dedupe`'s service, whose merges (each through
 * `mergeProfiles`, one transaction per group, golden record rebuilt) are timed apart from the matching.
 */
async function measureApplyMerges(n: number): Promise<string> {
  const records = n;
  const r = await runJsonChild<DedupeStoreReport>([
    path.join(here, 'dedupe-store-child.js'),
    String(records),
    String(SEED),
  ]);
  const perMerge = r.merged > 0 ? (r.applySeconds * 1000) / r.merged : Number.NaN;
  return (
    `${fmt(r.records)} records loaded through the pipeline in ${r.loadSeconds.toFixed(1)} s → ${fmt(r.profiles)} profiles; ` +
    `dedupe read ${r.scanSeconds.toFixed(1)} s, matched ${r.matchSeconds.toFixed(1)} s, applied ${fmt(r.merged)} merges ` +
    `(${r.refused} refused, ${fmt(r.queued)} review items) in ${r.applySeconds.toFixed(1)} s = ${perMerge.toFixed(2)} ms per merge; ` +
    `peak RSS ${fmt(r.peakMb)} MB`
  );
}

/** Runs `dedupe-child.js` and returns its report. A heap limit above the 4 GB target, so going over it shows. */
function runDedupeChild(mode: 'exact' | 'matcher', n: number): Promise<DedupeChildReport> {
  return runJsonChild([
    '--max-old-space-size=12288',
    path.join(here, 'dedupe-child.js'),
    mode,
    String(n),
    String(SEED),
  ]);
}
