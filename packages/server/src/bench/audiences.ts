import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AudienceDefinition, toPublicId } from '@tessera/protocol';
import type { AudiencesReport, GenerateReport } from './audiences-child.js';
import { cpuSeconds, peakRssMb, runJsonChild } from './child.js';
import { bucketQuantile, describeBatches, histogramSince, readHistogram } from './histogram.js';
import { startTessera } from './tessera-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const SEED = 1;
/** Background ingest during the latency probes, events/s. */
const BACKGROUND_RATE = 5000;
/** One probe every PROBE_EVERY ms. */
const PROBE_EVERY = 100;
/** A probe not seen after this long counts as lost. */
const PROBE_TIMEOUT = 30_000;
/** Longest wait for the pipeline to keep up with the background load before the probes. */
const SETTLE_TIMEOUT = 60_000;
/** How long the backlog left by a phase may take to drain. */
const DRAIN_TIMEOUT = 120_000;
/** The key of the issue's example audience in the bench (it names X). */
export const AUDIENCE_KEY = 'gold-buyers';
/** Audience X: a trait-only audience that overlaps the gold buyers (churn risk is drawn apart from the plan). */
export const X_DEFINITION: AudienceDefinition = {
  type: 'trait',
  key: 'churn_risk',
  compare: { op: 'equals', value: 'high' },
};

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

interface LatencyRun {
  /** Latencies (ms) of the probes: event in the timeline, `audience.entered` change read; lost probes apart. */
  stored: number[];
  member: number[];
  /** Per probe read in time, ms after its send: answered, its batch started (the change's `createdAt`), read. */
  stages: { acked: number; started: number; member: number }[];
  lost: number;
  sent: number;
  seconds: number;
  backlog: number;
  drainSeconds: number;
  /** `GET /v1/personalize` latencies (ms), measured once the probes are done (the `member` phase only). */
  personalize?: number[];
  /** Events/s the pipeline stored during the probes. */
  storedRate: number;
  /** The pipeline's batches during the probes (`tessera_pipeline_batch_seconds`). */
  batches: string;
  serverCpu: number;
  probeSeconds: number;
  /** From the background load's start until the backlog settled, before the probes. */
  settleSeconds: number;
  peakMb: number;
}

function summary(lat: number[]) {
  const sorted = [...lat].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  return { p50: q(0.5), p99: q(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

function describe(lat: number[], run: LatencyRun): string {
  const s = summary(lat);
  return (
    `${lat.length} probes${run.lost ? ` (${run.lost} lost)` : ''}: p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms, ` +
    `under ${fmt(run.sent / run.seconds)} events/s background ingest (another process; probes from ${run.settleSeconds.toFixed(1)} s after its start, once the backlog stayed under ${fmt(BACKGROUND_RATE / 10)} for 1 s), pipeline ${fmt(run.storedRate)} events/s stored meanwhile (${run.batches}), backlog ${fmt(run.backlog)} at the end${Number.isNaN(run.drainSeconds) ? '' : ` (drained in ${run.drainSeconds.toFixed(1)} s)`}, server CPU ${run.serverCpu.toFixed(1)} s over ${run.probeSeconds.toFixed(1)} s`
  );
}

/**
 * Where a probe's time went: the answer to its `POST /v1/track`, the start of the batch that processed it (the
 * server's wall clock; ms resolution) and the read of its change, as quantiles and for the five slowest probes.
 */
function describeStages(stages: LatencyRun['stages']): string {
  const q = (f: (s: LatencyRun['stages'][number]) => number) => {
    const s = summary(stages.map(f));
    return `p50 ${s.p50.toFixed(1)}, p99 ${s.p99.toFixed(1)}`;
  };
  const slowest = [...stages]
    .sort((a, b) => b.member - a.member)
    .slice(0, 5)
    .map((s) => `${s.acked.toFixed(0)} / ${s.started.toFixed(0)} / ${s.member.toFixed(0)}`);
  return (
    `answered ${q((s) => s.acked)} ms; batch started ${q((s) => s.started)} ms; ` +
    `batch start → change read ${q((s) => s.member - s.started)} ms; slowest (answered / batch started / read, ms): ${slowest.join(', ')}`
  );
}

/** The table accesses of a plan (`SCAN` / `SEARCH` of a table or an index), in order. */
function plan(lines: string[]): string {
  return lines.filter((l) => /^(SCAN|SEARCH) /.test(l) && !/CONSTANT ROW|^SCAN (v|u)\d/.test(l)).join('; ');
}

type Wait = 'stored' | 'member';

/**
 * `tessera serve` on `dataDir` (`serve-child.js`), background ingest at 5,000 events/s, and the probes, one every
 * 100 ms: each sends one `Order Completed` (total 120) for its profile. Two pollers, one request at a time each, 2 ms
 * between rounds: one reads the timeline of each probe's profile until its event is there (`stored`), the other
 * `GET /v1/changes?kind=audience.entered` (whole pages back to back until caught up) for the probes' entries
 * (`member`). Both run in both phases, so that they load the server alike. Once the probes are done, the
 * background stops; with `drain`, the backlog it left is processed before the server stops (so that the next phase
 * starts without it).
 */
async function probeLatency(
  dataDir: string,
  probes: { userId: string; profileId: string }[],
  member: boolean,
  people: number,
  drain: boolean,
): Promise<LatencyRun> {
  const server = await startTessera(dataDir);
  const info = server;
  let polling = true;
  try {
    const { call, basic, bearer } = server;

    // Probes waiting, by profile (public id): for their event in the timeline, for their audience entry.
    const waiting: Record<Wait, Map<string, { messageId: string; resolve: (at: number) => void }>> = {
      stored: new Map(),
      member: new Map(),
    };
    // The `createdAt` of each probe's `audience.entered` change: when its batch started (wall clock, ms).
    const batchStarted = new Map<string, number>();
    const found = (wait: Wait, id: string, at: number) => {
      const w = waiting[wait].get(id);
      waiting[wait].delete(id);
      w?.resolve(at);
    };
    // One request at a time per poller, 2 ms apart: the polling load is the same whatever the latency.
    let entriesCaughtUp = false;
    const pollEntries = async () => {
      let after = '0';
      while (polling) {
        const res = await call('GET', `/v1/changes?kind=audience.entered&after=${after}&limit=1000`, bearer);
        if (res.status !== 200) throw new Error(`GET /v1/changes answered ${res.status}: ${res.body}`);
        const at = performance.now();
        const page = JSON.parse(res.body) as {
          items: { profileId: string; createdAt: string }[];
          nextCursor: string | null;
        };
        for (const c of page.items) {
          if (waiting.member.has(c.profileId)) batchStarted.set(c.profileId, Date.parse(c.createdAt));
          found('member', c.profileId, at);
        }
        if (page.nextCursor !== null) after = page.nextCursor;
        if (page.items.length < 1000) {
          entriesCaughtUp = true;
          await sleep(2);
        }
      }
    };
    const pollTimelines = async () => {
      while (polling) {
        for (const [id, w] of [...waiting.stored]) {
          const url = `/v1/profiles/${id}/events?event=${encodeURIComponent('Order Completed')}&limit=1`;
          const res = await call('GET', url, bearer);
          if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${res.body}`);
          const at = performance.now();
          const items = (JSON.parse(res.body) as { items: { messageId: string }[] }).items;
          if (items.some((e) => e.messageId === w.messageId)) found('stored', id, at);
        }
        await sleep(2);
      }
    };
    const pollers = [pollEntries(), pollTimelines()];
    const seen = (wait: Wait, id: string, messageId: string) =>
      new Promise<number>((resolve) => {
        const timer = setTimeout(() => found(wait, id, Number.NaN), PROBE_TIMEOUT);
        waiting[wait].set(id, {
          messageId,
          resolve: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        });
      });

    let bg = { sent: 0, seconds: 1 };
    const background = spawn(
      process.execPath,
      [
        path.join(here, 'background-child.js'),
        String(info.port),
        info.writeKey,
        String(people),
        String(BACKGROUND_RATE),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const backgroundDone = new Promise<void>((resolve) => {
      let out = '';
      background.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      background.once('exit', () => {
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) bg = JSON.parse(line);
        resolve();
      });
    });
    const metric = async (name: string) => {
      const res = await call('GET', '/metrics', bearer);
      return Number(new RegExp(`^${name} (\\S+)`, 'm').exec(res.body)?.[1] ?? 'NaN');
    };
    const backlogNow = () => metric('tessera_pipeline_backlog_events');
    // The probes measure the latency under the load, not the server's start: a cold server (its page cache, the JIT)
    // falls behind the load for its first second or so and catches up after. So they wait until the backlog has
    // stayed under a tenth of a second's load for a second.
    const settleStarted = performance.now();
    for (let calm = 0; calm < 10 && performance.now() - settleStarted < SETTLE_TIMEOUT; ) {
      await sleep(100);
      calm = (await backlogNow()) <= BACKGROUND_RATE / 10 ? calm + 1 : 0;
    }
    const settleSeconds = (performance.now() - settleStarted) / 1000;
    while (!entriesCaughtUp) await sleep(50);

    const probeOnce = async (p: { userId: string; profileId: string }, k: number) => {
      const id = toPublicId('profile', p.profileId);
      const messageId = `probe-${member ? 'member' : 'stored'}-${k}`;
      const stored = seen('stored', id, messageId);
      const entered = member ? seen('member', id, messageId) : Promise.resolve(Number.NaN);
      const t0 = performance.now();
      const wall0 = Date.now();
      const sent = await call('POST', '/v1/track', basic, {
        userId: p.userId,
        event: 'Order Completed',
        messageId,
        properties: { order_id: messageId, total: 120, currency: 'EUR' },
        timestamp: new Date().toISOString(),
      });
      if (sent.status !== 200) throw new Error(`probe /v1/track answered ${sent.status}: ${sent.body}`);
      const acked = performance.now() - t0;
      const read = (await entered) - t0;
      const started = batchStarted.get(id);
      return {
        stored: (await stored) - t0,
        member: read,
        stages: { acked, started: started === undefined ? Number.NaN : started - wall0, member: read },
      };
    };

    const PHASES = ['read', 'steps', 'write', 'audiences', 'outbox', 'commit'];
    const batches = async () => {
      const text = (await call('GET', '/metrics', bearer)).body;
      return {
        all: readHistogram(text, 'tessera_pipeline_batch_seconds'),
        phases: PHASES.map((phase) => readHistogram(text, 'tessera_pipeline_phase_seconds', { phase })),
      };
    };
    const stored0 = await metric('tessera_events_stored_total');
    const batches0 = await batches();
    const c0 = cpuSeconds(server.pid as number);
    const started = performance.now();
    const results = await Promise.all(
      probes.map(async (p, k) => {
        await sleep(started + k * PROBE_EVERY - performance.now());
        return probeOnce(p, k);
      }),
    );
    const probeSeconds = (performance.now() - started) / 1000;
    const serverCpu = cpuSeconds(server.pid as number) - c0;
    const storedRate = ((await metric('tessera_events_stored_total')) - stored0) / probeSeconds;
    const batches1 = await batches();
    const batchesMeanwhile = histogramSince(batches0.all, batches1.all);
    const phases = PHASES.map((phase, i) => {
      const h = histogramSince(batches0.phases[i], batches1.phases[i]);
      const p99 = bucketQuantile(h, 0.99);
      return `${phase} ${h.count > 0 ? ((h.sum / h.count) * 1000).toFixed(1) : '-'} ms (p99 ${Number.isFinite(p99) ? `≤ ${p99 * 1000}` : '>'})`;
    });
    background.kill('SIGTERM');
    await backgroundDone;
    polling = false;
    await Promise.all(pollers);
    const personalize = member ? await personalizeLatency(call, bearer, probes) : undefined;
    // What the load left is processed before the server stops, so that the next phase starts without it.
    const backlog = await backlogNow();
    const d0 = performance.now();
    while (drain && (await backlogNow()) > 0 && performance.now() - d0 < DRAIN_TIMEOUT) await sleep(200);
    const drainSeconds = drain ? (performance.now() - d0) / 1000 : Number.NaN;
    const done = (x: number) => !Number.isNaN(x);
    return {
      stored: results.map((r) => r.stored).filter(done),
      member: results.map((r) => r.member).filter(done),
      stages: results.map((r) => r.stages).filter((r) => done(r.member) && done(r.started)),
      lost: results.filter((r) => !done(r.stored) || (member && !done(r.member))).length,
      sent: bg.sent,
      seconds: bg.seconds,
      backlog,
      drainSeconds,
      storedRate,
      serverCpu,
      probeSeconds,
      settleSeconds,
      personalize,
      batches: `${describeBatches(batchesMeanwhile)}; mean by phase: ${phases.join(', ')}`,
      peakMb: peakRssMb(server.pid as number),
    };
  } finally {
    polling = false;
    await server.stop();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * Gives the first source a read key allowing `plan`, `churn_risk` and the audience, then times `GET
 * /v1/personalize` for each probe's user id in turn (2,000 requests, keep-alive), as a website would call it.
 */
async function personalizeLatency(
  call: (method: string, url: string, auth: string, body?: unknown) => Promise<{ status: number; body: string }>,
  bearer: string,
  probes: readonly { userId: string }[],
): Promise<number[]> {
  const sources = JSON.parse((await call('GET', '/v1/sources', bearer)).body) as { items: { id: string }[] };
  const setup = await call('PUT', `/v1/sources/${sources.items[0].id}/personalization`, bearer, {
    origins: ['https://shop.example'],
    traits: ['plan', 'churn_risk'],
    audiences: [AUDIENCE_KEY],
  });
  if (setup.status !== 200) throw new Error(`PUT personalization answered ${setup.status}: ${setup.body}`);
  const key = (JSON.parse(setup.body) as { readKey?: string }).readKey;
  if (!key) throw new Error('no read key answered');
  const out: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const t = performance.now();
    const res = await call('GET', `/v1/personalize?userId=${probes[i % probes.length].userId}&key=${key}`, '');
    out.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`GET /v1/personalize answered ${res.status}: ${res.body}`);
  }
  return out;
}
