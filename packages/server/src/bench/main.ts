import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { audiencesBench } from './audiences.js';
import { batchBench } from './batch.js';
import { cpuSeconds, peakRssMb, startBackgroundLoad, startChild } from './child.js';
import { clusterBench } from './cluster.js';
import { dedupeBench } from './dedupe.js';
import { deliveryBench } from './delivery.js';
import { lookupFixture } from './lookup-fixture.js';
import { startTessera } from './tessera-server.js';

/**
 * `npm run bench [-- --only NAME --scale F]`. Prints figures and ratios measured in the same run:
 * - ingest: acknowledged events/s through /v1/batch (autocannon, 32 connections, 100-event batches, 8 s × scale,
 *   after a warm-up load of the same length, also printed) against Tessera and against a bare node:http server that
 *   only parses the JSON; ratio and CPU per process;
 * - pipeline: events/s the pipeline processed during and after that load, then the same after a load whose message
 *   ids are random uuid v4s, as the SDKs send them;
 * - batch: the pipeline's own cost in process, µs an event over five runs, and promises an event (bench/batch.ts);
 * - lookup: GET /v1/profiles/by/user_id/… p50 / p99 among 1,000,000 × scale profiles: idle, under a background
 *   ingest of 5,000 events/s (the target), and during the ingest load above (no target);
 * - peak RSS of the server;
 * - cluster: ingest and pipeline throughput of cluster mode with 1 and 2 workers, CPU per process (bench/cluster.ts);
 * - dedupe: matching + clustering of 1,000,000 × scale synthetic people against an exact-key baseline (bench/dedupe.ts);
 * - audiences: full recomputation, preview and event-to-membership latency of issue 5's example audience over
 *   1,000,000 × scale profiles and 10,000,000 × scale events, against trait-only and no-audience baselines
 *   (bench/audiences.ts).
 * - delivery: deliveries/s to a local webhook, and event-to-delivery latency idle and under 5,000 events/s of
 *   background ingest (bench/delivery.ts).
 */
const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = arg('only');
const scale = Number(arg('scale') ?? '1');
const here = path.dirname(fileURLToPath(import.meta.url));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Where a load with SDK message ids puts a fresh uuid v4 in the batch template (`batchTemplate(size, true)`). */
const NEW_UUID = '__U__';

/**
 * A request of `size` calls; `__R__` is replaced by the request's number. Message ids are `<request>-<index>` (close
 * together in a B-tree), or, with `sdkIds`, {@link NEW_UUID}: a random uuid v4 each, as the Segment and RudderStack
 * SDKs send them.
 */
function batchTemplate(size: number, sdkIds = false): string {
  const calls = [];
  for (let i = 0; i < size; i++) {
    calls.push({
      type: i % 10 === 0 ? 'identify' : 'track',
      messageId: sdkIds ? NEW_UUID : `__R__-${i}`,
      userId: `user-__R__-${i % 20}`,
      event: 'Product Viewed',
      traits: i % 10 === 0 ? { email: `user__R__${i}@example.com`, plan: 'pro' } : undefined,
      properties: { sku: `SKU-${i}`, price: 19.99, currency: 'EUR' },
      timestamp: new Date().toISOString(),
      context: { library: { name: 'bench', version: '1' }, ip: '127.0.0.1' },
    });
  }
  return JSON.stringify({ batch: calls });
}

async function load(
  port: number,
  writeKey: string,
  seconds: number,
  /** Prefixed to the requests' numbers in message and user ids, so that a second load sends new calls. */
  round = '',
  /** Random uuid v4 message ids (see `batchTemplate`). */
  sdkIds = false,
): Promise<{ requests: number; errors: number; non2xx: number }> {
  const template = batchTemplate(100, sdkIds);
  const body = (n: number) => {
    const text = template.replaceAll('__R__', `${round}${n}`);
    return sdkIds ? text.split(NEW_UUID).reduce((out, part) => `${out}${randomUUID()}${part}`) : text;
  };
  let n = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v1/batch`,
    connections: 32,
    duration: seconds,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
    },
    requests: [{ setupRequest: (req) => ({ ...req, body: body(++n) }) }],
  });
  return { requests: result['2xx'], errors: result.errors, non2xx: result.non2xx };
}

/** How much each thread's figure grew between two readings of `/metrics`, largest first. */
function grownBy(from: Record<string, number>, to: Record<string, number>): (readonly [string, number])[] {
  return Object.entries(to)
    .map(([thread, s]) => [thread, s - (from[thread] ?? 0)] as const)
    .sort((a, b) => b[1] - a[1]);
}

/**
 * The CPU each of the server's threads used between two readings of `/metrics`, in seconds and in µs per event (of
 * `events`), busiest first: which thread a build made cheaper, in figures less moved by a noisy machine than rates.
 */
function cpuSplit(from: Record<string, number>, to: Record<string, number>, events: number): string {
  const used = grownBy(from, to);
  if (used.length === 0) return 'not available (no /proc)';
  return used
    .map(
      ([thread, s]) =>
        `${thread} ${s.toFixed(1)} s (${events > 0 ? ((s * 1e6) / events).toFixed(1) : '-'} µs an event)`,
    )
    .join(', ');
}

/**
 * How long each named thread of the server waited for a core between two readings of `/metrics` (its run-queue
 * delay), in seconds and as a share of the `seconds` between them, longest first: time a thread was ready but the
 * machine's cores were taken, by the load generator or by the server's other threads. `omit` leaves out a thread the
 * caller reports on its own line.
 */
function waitSplit(from: Record<string, number>, to: Record<string, number>, seconds: number, omit?: string): string {
  const waited = grownBy(from, to).filter(([thread]) => thread !== omit);
  if (waited.length === 0) return 'not available (no schedstat)';
  return waited.map(([thread, s]) => `${thread} ${s.toFixed(2)} s (${((100 * s) / seconds).toFixed(0)} %)`).join(', ');
}

/**
 * The same load once an identifier has been erased: from then on every call's identifiers are hashed and looked up in
 * the suppression list, before the append and in the pipeline (docs/privacy.md), as on any install that has had a
 * data-subject request. The erased identifier is nobody's: nothing is dropped, only checked.
 */
async function afterAnErasure(server: Awaited<ReturnType<typeof startTessera>>, seconds: number) {
  const made = await server.call('POST', '/v1/privacy/requests', server.bearer, {
    type: 'erase',
    identifier: { type: 'email', value: 'erased@bench.invalid' },
  });
  if (made.status !== 201) throw new Error(`the erasure answered ${made.status}: ${made.body}`);
  const { id } = JSON.parse(made.body) as { id: string };
  // Nobody holds the identifier (`not_found`): it is suppressed all the same.
  let status = 'running';
  for (const deadline = Date.now() + 120_000; status === 'running' && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 200));
    const view = await server.call('GET', `/v1/privacy/requests/${id}`, server.bearer);
    status = (JSON.parse(view.body) as { status: string }).status;
  }
  if (status !== 'not_found' && status !== 'completed') throw new Error(`the erasure ended ${status}`);
  const m0 = await server.metrics();
  const t = await load(server.port, server.writeKey, seconds, 'e');
  const m1 = await server.metrics();
  console.log(
    `ingest   after an erasure (one hash on the suppression list): ${fmt((t.requests * 100) / seconds)} events/s acknowledged (${t.non2xx} non-2xx, ${t.errors} errors); CPU by thread during the load: ${cpuSplit(m0.threads, m1.threads, t.requests * 100)}`,
  );
}

/**
 * The same load again with the message ids real SDKs send (a random uuid v4 each), then the drain, on the store the
 * loads before filled. A unique index on such ids takes a random page for each key, where the `<request>-<index>` ids
 * of the other loads share pages (docs/performance.md, session 20); the embedded store keeps them in two levels
 * (docs/architecture.md, "De-duplication keys in two levels"), and this drain measures what they still cost.
 */
async function withSdkMessageIds(server: Awaited<ReturnType<typeof startTessera>>, seconds: number) {
  const before = await untilDrained(server, 120_000 * Math.max(1, scale));
  const t = await load(server.port, server.writeKey, seconds, 'u', true);
  const m0 = await server.metrics();
  console.log(
    `ingest   with random message ids (uuid v4, as the SDKs send): ${fmt((t.requests * 100) / seconds)} events/s acknowledged (${t.non2xx} non-2xx, ${t.errors} errors); CPU by thread during the load: ${cpuSplit(before.threads, m0.threads, t.requests * 100)}`,
  );
  const p0 = Date.now();
  const m = await untilDrained(server, 240_000 * Math.max(1, scale));
  const drainSeconds = (Date.now() - p0) / 1000;
  const processed = m.stored - m0.stored;
  console.log(
    `pipeline after that load: ${fmt(processed)} more in ${drainSeconds.toFixed(1)} s = ${fmt(processed / Math.max(drainSeconds, 0.001))} events/s; backlog left ${fmt(m.backlog)}; store ${fmt(m.stored)} events; CPU by thread: ${cpuSplit(m0.threads, m.threads, processed)}`,
  );
}

/** Reads the server's `/metrics` every 500 ms until its pipeline has no backlog or `ms` have passed; the last reading. */
async function untilDrained(server: Awaited<ReturnType<typeof startTessera>>, ms: number) {
  const deadline = Date.now() + ms;
  let m = await server.metrics();
  while (m.backlog > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    m = await server.metrics();
  }
  return m;
}

const quantile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

async function ingestAndPipeline(seconds: number) {
  const baseline = await startChild([path.join(here, 'bare-server.js'), '18799'], {}, (l) => l.trim() === '18799');
  await load(18799, 'x', seconds, 'w');
  const c0 = cpuSeconds(baseline.pid as number);
  const b = await load(18799, 'x', seconds);
  const bareCpu = cpuSeconds(baseline.pid as number) - c0;
  baseline.kill();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
  const server = await startTessera(dataDir);
  try {
    // A fresh process spends its first seconds compiling its hot code (V8's optimising compiler, on helper threads):
    // that load is printed, and the one measured against the target comes after it, on both servers, once the
    // pipeline has stored the first one (so the measured load starts with no backlog, as on a fresh server).
    const cold = await load(server.port, server.writeKey, seconds, 'w');
    const before = await untilDrained(server, 120_000 * Math.max(1, scale));
    const s0 = cpuSeconds(server.pid);
    const started = Date.now();
    const t = await load(server.port, server.writeKey, seconds);
    const loadSeconds = (Date.now() - started) / 1000;
    const serverCpu = cpuSeconds(server.pid) - s0;
    const ackEps = (t.requests * 100) / seconds;
    const bareEps = (b.requests * 100) / seconds;
    console.log(
      `ingest   tessera, first ${seconds} s of a fresh server (warm-up, not the figure): ${fmt((cold.requests * 100) / seconds)} events/s acknowledged (${cold.non2xx} non-2xx, ${cold.errors} errors)`,
    );
    console.log(
      `ingest   tessera, the next ${seconds} s: ${fmt(ackEps)} events/s acknowledged (${t.requests} requests, ${t.non2xx} non-2xx, ${t.errors} errors), server CPU ${serverCpu.toFixed(1)} s over ${loadSeconds.toFixed(1)} s (every thread: main, log, writer, checkpointer, garbage collection, compilation)`,
    );
    console.log(
      `ingest   bare node:http JSON.parse, after the same warm-up: ${fmt(bareEps)} events/s, CPU ${bareCpu.toFixed(1)} s`,
    );
    console.log(`ingest   ratio tessera / bare: ${(ackEps / bareEps).toFixed(2)}  (target ≥ 100,000 events/s)`);
    const m0 = await server.metrics();
    console.log(`ingest   CPU by thread during the load: ${cpuSplit(before.threads, m0.threads, t.requests * 100)}`);
    console.log(`ingest   waiting for a core during the load: ${waitSplit(before.waits, m0.waits, loadSeconds)}`);
    const beside = m0.stored - before.stored;
    console.log(
      `pipeline ${fmt(beside)} events stored during the ${loadSeconds.toFixed(1)} s load = ${fmt(beside / loadSeconds)} events/s (writer thread, beside the load)`,
    );
    const p0 = Date.now();
    const m = await untilDrained(server, 120_000 * Math.max(1, scale));
    const drainSeconds = (Date.now() - p0) / 1000;
    const processed = m.stored - m0.stored;
    console.log(
      `pipeline after the load: ${fmt(processed)} more in ${drainSeconds.toFixed(1)} s = ${fmt(processed / Math.max(drainSeconds, 0.001))} events/s; backlog left ${fmt(m.backlog)}  (target ≥ 30,000 events/s)`,
    );
    console.log(`pipeline CPU by thread after the load: ${cpuSplit(m0.threads, m.threads, processed)}`);
    await withSdkMessageIds(server, seconds);
    await afterAnErasure(server, seconds);
    console.log(`memory   ingest server peak RSS ${peakRssMb(server.pid).toFixed(0)} MB`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function lookups(seconds: number) {
  const people = Math.max(1000, Math.round(1_000_000 * scale));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-lookup-'));
  const cacheDir = path.resolve(here, '../../../../.bench-cache');
  try {
    const fx = await lookupFixture(cacheDir, people, dataDir);
    console.log(
      `lookup   fixture: ${fmt(people)} profiles (${fx.built ? 'built' : 'cached'}, ${fx.seconds.toFixed(1)} s)`,
    );
    const server = await startTessera(dataDir);
    try {
      const headers = { authorization: `Bearer ${server.token}` };
      // A server in service is warm: 2,000 look-ups first (JIT, SQLite's page cache), not counted.
      const warmUp = Math.max(200, Math.round(2000 * Math.min(1, scale)));
      await lookupLatencies(server.port, headers, people, warmUp);
      // The same look-ups on the idle server, to tell the load's share of the tail from the client's.
      const idle = (await lookupLatencies(server.port, headers, people, 1000)).sort((x, y) => x - y);
      console.log(
        `lookup   idle: 1000 look-ups p50 ${quantile(idle, 0.5).toFixed(2)} ms, p99 ${quantile(idle, 0.99).toFixed(2)} ms`,
      );
      // Background ingest: 5,000 events/s from a process of its own, on existing people.
      const background = startBackgroundLoad(server.port, server.writeKey, people, 5000);
      await new Promise((r) => setTimeout(r, 1000)); // let the background load settle
      const count = Math.max(500, Math.round(5000 * Math.min(1, scale * 4)));
      const w0 = await server.metrics();
      const lat = await lookupLatencies(server.port, headers, people, count);
      const m = await server.metrics();
      const bg = await background.stop();
      lat.sort((a, b2) => a - b2);
      console.log(
        `lookup   ${lat.length} look-ups by user_id among ${fmt(people)} profiles: p50 ${quantile(lat, 0.5).toFixed(2)} ms, p99 ${quantile(lat, 0.99).toFixed(2)} ms, under ${fmt(bg.sent / bg.seconds)} events/s background ingest (another process) (backlog ${fmt(m.backlog)} at the end)  (target p99 < 5 ms)`,
      );
      // Where a tail comes from: the main thread, which answers the look-ups, ready to run while both cores were taken.
      const mainWait = (m.waits.main ?? Number.NaN) - (w0.waits.main ?? Number.NaN);
      const inLookups = lat.reduce((a, x) => a + x, 0) / 1000;
      if (Number.isFinite(mainWait))
        console.log(
          `lookup   meanwhile the main thread waited for a core ${(mainWait * 1000).toFixed(0)} ms (${((mainWait * 1e6) / lat.length).toFixed(0)} µs a look-up on average, ${((100 * mainWait) / inLookups).toFixed(0)} % of the time); the other threads: ${waitSplit(w0.waits, m.waits, inLookups, 'main')}`,
        );
      // The same look-ups while the ingest bench's load saturates the server: no target, what an application reading
      // profiles sees during a burst of traffic (ingest's chunks take turns with the reads, ingest/turns.ts).
      const settle = Math.min(1000, seconds * 250);
      const burst = load(server.port, server.writeKey, seconds, 'burst');
      await new Promise((r) => setTimeout(r, settle));
      const during: number[] = [];
      for (const until = Date.now() + seconds * 1000 - 2 * settle; Date.now() < until; )
        during.push(...(await lookupLatencies(server.port, headers, people, 10)));
      const b = await burst;
      during.sort((x, y) => x - y);
      console.log(
        `lookup   during the ingest load (32 connections, ${fmt((b.requests * 100) / seconds)} events/s acknowledged): ${during.length} look-ups p50 ${quantile(during, 0.5).toFixed(2)} ms, p99 ${quantile(during, 0.99).toFixed(2)} ms`,
      );
      console.log(`memory   look-up server peak RSS ${peakRssMb(server.pid).toFixed(0)} MB`);
      lookupAgent.destroy();
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Sequential look-ups of random bench people; latencies in ms, as measured by the client. */
async function lookupLatencies(
  port: number,
  headers: Record<string, string>,
  people: number,
  count: number,
): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < count; i++) {
    const u = `bench-user-${Math.floor(Math.random() * people)}`;
    const s = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: `/v1/profiles/by/user_id/${u}`, agent: lookupAgent, headers }, (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
        })
        .once('error', reject);
    });
    if (status !== 200) throw new Error(`look-up answered ${status}`);
    lat.push(performance.now() - s);
  }
  return lat;
}

/** One kept-alive connection, as an application server holds to its CDP (node:http: less client CPU than fetch). */
const lookupAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });

async function main() {
  const seconds = Math.max(1, Math.round(8 * scale));
  // The servers it starts inherit the environment: `TESSERA_PIPELINE_POLICY=idle npm run bench` measures that policy.
  const policy = process.env.TESSERA_PIPELINE_POLICY || 'normal';
  console.log(
    `Tessera benchmark (scale ${scale}, ${os.cpus().length} cores, node ${process.version}, pipeline thread policy ${policy})`,
  );
  if (!only || only === 'ingest' || only === 'pipeline') await ingestAndPipeline(seconds);
  if (!only || only === 'batch') await batchBench(scale);
  if (!only || only === 'lookup') await lookups(seconds);
  if (!only || only === 'cluster') await clusterBench(seconds, load);
  if (!only || only === 'dedupe') await dedupeBench(scale);
  if (!only || only === 'audiences') await audiencesBench(scale);
  if (!only || only === 'delivery') await deliveryBench(scale);
}

await main();
