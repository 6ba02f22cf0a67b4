import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUDIENCE_KEY } from './audience-definitions.js';
import { describe, describeStages, PROBE_EVERY, probeLatency, summary } from './audience-latency.js';
import type { AudiencesReport, GenerateReport } from './audiences-child.js';
import { runJsonChild } from './child.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const SEED = 1;

/**
 * Issue 5's audience benchmark, on 1,000,000 × scale profiles and about 10,000,000 × scale events in the embedded
 * store (a SQLite file in a temporary directory), for the issue's definition (`EXAMPLE_AUDIENCE`: plan gold, at least 2
 * `Order Completed` with total > 50 in the last 30 days, not in audience X; X: `churn_risk` is `high`):
 * 1. the store, written through the storage ports by `audiences-child.js generate` (data mix there);
 * 2. the latency baseline, no audience defined: `tessera serve` on that directory (`serve-child.js`), background
 *    ingest at 5,000 events/s from a process of its own (`background-child.js`, on the existing people: 100-event
 *    requests spread evenly, one every 20 ms), and, once the pipeline keeps up with it, one probe every 100 ms for
 *    20 s × scale (at least 100 probes): an `Order Completed` (total 120) of a prepared gold profile
 *    (one qualifying order already), timed from sending `/v1/track` until the event is in the profile's timeline
 *    (`GET /v1/profiles/{id}/events`);
 * 3. `audiences-child.js audiences`: X and the audience saved, recomputed in full (`recomputeAudience`), X first
 *    (trait only: the recomputation baseline), a second recomputation with nothing changed, then its parts alone (the
 *    members' select; the re-checks' select, and its upsert in a transaction rolled back) with the query plans, then
 *    `preview` (5,000-profile sample estimate; exact count), of X's definition too;
 * 4. event-to-membership latency: as 2 with the audiences defined, on other prepared profiles, until the profile's
 *    `audience.entered` change is read from `GET /v1/changes` (its event in the timeline too), with the probe's
 *    stages (answered, its batch started, read) to tell where a slow probe waited. The incremental
 *    evaluation runs in the batch that stores the event (same transaction, same commit): the ratio to 2 is what
 *    audiences add to the pipeline's latency.
 */
export async function audiencesBench(scale: number): Promise<void> {
  const profiles = Math.max(10_000, Math.round(1_000_000 * scale));
  const probes = Math.max(100, Math.round((20_000 * scale) / PROBE_EVERY));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-audiences-'));
  try {
    const { report: g, cached } = await audienceStore(dataDir, profiles, probes);
    console.log(
      `audience store${cached ? ` (copied from ${cached}, written earlier)` : ''}: ${fmt(g.profiles)} profiles (${fmt(g.gold)} gold, ${fmt(g.churnHigh)} churn_risk high) + ${fmt(2 * probes)} probe profiles, ${fmt(g.events)} track events (${fmt(g.orders)} Order Completed) over 90 days, written through the storage ports in ${g.seconds.toFixed(1)} s = ${fmt(g.events / g.seconds)} events/s; ${fmt(g.dbMb)} MB file, peak RSS ${fmt(g.peakMb)} MB`,
    );
    const probe = (j: number) => ({ userId: `bench-probe-${j}`, profileId: g.probes[j] });
    const base = await probeLatency(
      dataDir,
      Array.from({ length: probes }, (_, j) => probe(j)),
      false,
      profiles,
      true,
    );
    const baseline = summary(base.stored);
    console.log(
      `audience baseline, no audience defined: event → stored (in the profile's timeline) ${describe(base.stored, base)}`,
    );

    const r = await runJsonChild<AudiencesReport>([path.join(here, 'audiences-child.js'), 'audiences', dataDir]);
    console.log(
      `audience recompute X (churn_risk = 'high', trait only; the baseline): ${fmt(r.x.members)} members in ${sec(r.x.ms)}`,
    );
    console.log(
      `audience recompute ${AUDIENCE_KEY} (EXAMPLE_AUDIENCE: gold, ≥ 2 orders > 50 in 30 days, not in X): ${fmt(r.audience.members)} members in ${sec(r.audience.ms)} = × ${(r.audience.ms / r.x.ms).toFixed(1)} X; again with nothing changed ${sec(r.again.ms)} (${r.again.entered} entered, ${r.again.exited} exited)  (target < 10 s)`,
    );
    console.log(
      `audience recompute, its statements alone: members' select ${sec(r.selectMs)}; the one-pass select a recomputation runs (members + re-check instants) ${sec(r.rechecksMs)} (${fmt(r.rows)} profiles pass the time-independent conjuncts, ${fmt(r.rechecks)} with a re-check)`,
    );
    console.log(`audience plan of the members' select: ${plan(r.plans.select)}`);
    console.log(`audience plan of the one-pass select: ${plan(r.plans.rechecks)}`);
    const p = r.preview;
    console.log(
      `audience preview: estimate ${fmt(p.count)} (95 % ${fmt(p.low)} – ${fmt(p.high)}; ${fmt(p.matched)} of ${fmt(p.sampled)} sampled) in ${p.ms} ms  (target < 1 s); exact ${fmt(r.exact.count)} in ${r.exact.ms} ms; X's trait-only preview ${r.previewX.ms} ms, exact ${r.previewX.exactMs} ms`,
    );

    const run = await probeLatency(
      dataDir,
      Array.from({ length: probes }, (_, j) => probe(probes + j)),
      true,
      profiles,
      false,
    );
    const m = summary(run.member);
    console.log(
      `audience event → membership (its audience.entered change read) ${describe(run.member, run)}  (target p99 < 50 ms)`,
    );
    console.log(`audience event → membership by stage: ${describeStages(run.stages)}`);
    const s = summary(run.stored);
    console.log(
      `audience event → stored (timeline), same probes, same commit: p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms; event → membership / baseline event → stored: p50 × ${(m.p50 / baseline.p50).toFixed(2)}, p99 × ${(m.p99 / baseline.p99).toFixed(2)}`,
    );
    if (run.personalize) {
      const q = summary(run.personalize);
      console.log(
        `personalize GET /v1/personalize (read key, 2 traits and 1 audience allowed) ${fmt(run.personalize.length)} requests one at a time, right after the load (the pipeline still draining its backlog): p50 ${q.p50.toFixed(2)} ms, p99 ${q.p99.toFixed(2)} ms, max ${q.max.toFixed(2)} ms  (target p99 < 10 ms)`,
      );
    }
    console.log(
      `memory   audiences: server peak RSS ${fmt(base.peakMb)} MB without audiences, ${fmt(run.peakMb)} MB with; children: generation ${fmt(g.peakMb)} MB, recomputation + preview ${fmt(r.peakMb)} MB`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Writes the bench's store into `dataDir`. With `TESSERA_BENCH_AUDIENCE_CACHE` set (a directory; for iterating on the
 * pipeline, off by default), the first run keeps a copy of the fresh store there and later runs copy it instead of
 * writing it again, for up to 12 hours: its events' times are relative to when it was written, so an older copy would
 * shift the 30-day window.
 */
async function audienceStore(
  dataDir: string,
  profiles: number,
  probes: number,
): Promise<{ report: GenerateReport; cached?: string }> {
  const cacheRoot = process.env.TESSERA_BENCH_AUDIENCE_CACHE;
  const cache = cacheRoot ? path.resolve(cacheRoot, `audiences-${profiles}-${probes}-${SEED}`) : undefined;
  const reportFile = cache && path.join(cache, 'report.json');
  if (cache && reportFile && existsSync(reportFile)) {
    const kept = JSON.parse(readFileSync(reportFile, 'utf8')) as { at: number; report: GenerateReport };
    if (Date.now() - kept.at < 12 * 3_600_000) {
      cpSync(path.join(cache, 'store'), dataDir, { recursive: true });
      return { report: kept.report, cached: cache };
    }
  }
  const at = Date.now();
  const report = await runJsonChild<GenerateReport>([
    '--max-old-space-size=8192',
    path.join(here, 'audiences-child.js'),
    'generate',
    dataDir,
    String(profiles),
    String(probes),
    String(SEED),
  ]);
  if (cache && reportFile) {
    rmSync(cache, { recursive: true, force: true });
    mkdirSync(cache, { recursive: true });
    cpSync(dataDir, path.join(cache, 'store.tmp'), { recursive: true });
    renameSync(path.join(cache, 'store.tmp'), path.join(cache, 'store'));
    writeFileSync(reportFile, JSON.stringify({ at, report }));
  }
  return { report };
}

/** The table accesses of a plan (`SCAN` / `SEARCH` of a table or an index), in order. */
function plan(lines: string[]): string {
  return lines.filter((l) => /^(SCAN|SEARCH) /.test(l) && !/CONSTANT ROW|^SCAN (v|u)\d/.test(l)).join('; ');
}
