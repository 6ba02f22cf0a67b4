import { toPublicId } from '@tessera/protocol';
import { AUDIENCE_KEY } from './audience-definitions.js';
import { cpuSeconds, peakRssMb, startBackgroundLoad } from './child.js';
import { bucketQuantile, describeBatches, histogramSince, readHistogram } from './histogram.js';
import { startTessera } from './tessera-server.js';

/**
 * The audience bench's latency phases (`audiences.ts`, steps 2 and 4): a server on the bench's store, a background
 * load, and probes timed until their event is stored and their audience entry is on the change bus.
 */

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
/** Background ingest during the latency probes, events/s. */
const BACKGROUND_RATE = 5000;
/** One probe every PROBE_EVERY ms. */
export const PROBE_EVERY = 100;
/** A probe not seen after this long counts as lost. */
const PROBE_TIMEOUT = 30_000;
/** Longest wait for the pipeline to keep up with the background load before the probes. */
const SETTLE_TIMEOUT = 60_000;
/** How long the backlog left by a phase may take to drain. */
const DRAIN_TIMEOUT = 120_000;

export interface LatencyRun {
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

export function summary(lat: number[]) {
  const sorted = [...lat].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  return { p50: q(0.5), p99: q(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

export function describe(lat: number[], run: LatencyRun): string {
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
export function describeStages(stages: LatencyRun['stages']): string {
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
export async function probeLatency(
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

    const background = startBackgroundLoad(info.port, info.writeKey, people, BACKGROUND_RATE);
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
    const bg = await background.stop();
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
