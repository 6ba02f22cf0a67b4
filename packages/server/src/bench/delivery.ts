import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cpuSeconds, peakRssMb, startBackgroundLoad } from './child.js';
import { startTessera } from './tessera-server.js';

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
/** Background ingest during the loaded latency probes, events/s. */
const BACKGROUND_RATE = 5000;
const PROBE_EVERY = 100;

interface Receiver {
  url: string;
  /** Messages received per path. */
  count(pathName: string): number;
  /** Latency (ms) of each probe received: receipt time − the probe's `sentAt` property. */
  probes: Map<string, number>;
  close(): Promise<void>;
}

/** The local webhook receiver: counts messages per path, times probes (`properties.probe`, `properties.sentAt`). */
async function startReceiver(): Promise<Receiver> {
  const counts = new Map<string, number>();
  const probes = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        batch: { event?: { properties?: { probe?: string; sentAt?: number } } }[];
      };
      const p = req.url ?? '/';
      counts.set(p, (counts.get(p) ?? 0) + body.batch.length);
      for (const m of body.batch) {
        const props = m.event?.properties;
        if (props?.probe && props.sentAt && !probes.has(props.probe)) probes.set(props.probe, now - props.sentAt);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: (p) => counts.get(p) ?? 0,
    probes,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function summary(lat: number[]) {
  const sorted = [...lat].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  return { p50: q(0.5), p99: q(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`delivery bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Issue 6's delivery benchmark, embedded (`tessera serve` on a SQLite file, `serve-child.js`), against a local
 * webhook receiver in this process:
 * 1. throughput: 100,000 × scale `Bench Load` events ingested while their destination is disabled (routed, waiting),
 *    then the destination is enabled and timed until the receiver has every message: deliveries/s (batches of 100,
 *    the default);
 * 2. event-to-delivery latency, idle (the baseline of the same run): one `Bench Probe` track every 100 ms, timed
 *    from sending `/v1/track` until the receiver holds it;
 * 3. the same under 5,000 events/s of background ingest (`background-child.js`, another process; `Page Viewed`,
 *    not subscribed), for 20 s × scale (at least 100 probes). Target p99 < 200 ms.
 */
export async function deliveryBench(scale: number): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-delivery-'));
  const receiver = await startReceiver();
  const server = await startTessera(dataDir);
  const info = server;
  const { basic, bearer } = server;
  const call = (method: string, url: string, body: unknown, auth: string) => server.call(method, url, auth, body);
  const api = async (method: string, url: string, body?: unknown) => {
    const r = await call(method, url, body, bearer);
    if (r.status > 299) throw new Error(`${method} ${url}: ${r.status} ${r.body}`);
    return JSON.parse(r.body);
  };
  const hook = (name: string, p: string, names: string[], enabled = true) =>
    api('POST', '/v1/destinations', {
      name,
      type: 'webhook',
      config: { url: `${receiver.url}${p}` },
      subscription: { events: { names } },
      purpose: null,
      enabled,
    });
  let background: ReturnType<typeof startBackgroundLoad> | undefined;
  try {
    // 1. Throughput.
    const total = Math.max(10_000, Math.round(100_000 * scale));
    const load = await hook('bench throughput', '/load', ['Bench Load'], false);
    let n = 0;
    const sender = async () => {
      while (n < total) {
        const calls = [];
        for (let i = 0; i < 500 && n < total; i++, n++)
          calls.push({
            type: 'track',
            event: 'Bench Load',
            userId: `bench-user-${n % 5000}`,
            messageId: `load-${n}`,
            properties: { n },
          });
        const r = await call('POST', '/v1/batch', { batch: calls }, basic);
        if (r.status !== 200) throw new Error(`ingest: ${r.status} ${r.body}`);
      }
    };
    await Promise.all([sender(), sender(), sender(), sender()]);
    await until(
      'the load routed',
      async () => (await api('GET', `/v1/destinations/${load.id}`)).counts.pending >= total,
      600_000,
    );
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    await api('PATCH', `/v1/destinations/${load.id}`, { enabled: true });
    await until('every message delivered', () => receiver.count('/load') >= total, 600_000);
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `delivery throughput: ${fmt(total)} queued messages to a local webhook in ${seconds.toFixed(1)} s = ${fmt(total / seconds)} deliveries/s (batches of 100, 2 loops); server CPU ${(cpuSeconds(server.pid) - cpu0).toFixed(1)} s`,
    );
    await api('DELETE', `/v1/destinations/${load.id}`);

    // 2 and 3. Latency, idle then under background ingest.
    await hook('bench latency', '/probe', ['Bench Probe']);
    let probeN = 0;
    const probe = async () => {
      const id = `probe-${probeN++}`;
      const r = await call(
        'POST',
        '/v1/track',
        {
          event: 'Bench Probe',
          userId: `bench-probe-${probeN % 50}`,
          messageId: id,
          properties: { probe: id, sentAt: Date.now() },
        },
        basic,
      );
      if (r.status !== 200) throw new Error(`probe: ${r.status} ${r.body}`);
      return id;
    };
    const phase = async (count: number) => {
      const ids: string[] = [];
      const start = Date.now();
      for (let i = 0; i < count; i++) {
        ids.push(await probe());
        const wait = start + (i + 1) * PROBE_EVERY - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await until('the probes', () => ids.every((id) => receiver.probes.has(id)), 120_000).catch(() => {});
      const lat = ids.flatMap((id) => (receiver.probes.has(id) ? [receiver.probes.get(id) as number] : []));
      return { lat, lost: ids.length - lat.length };
    };
    await phase(20); // warm-up
    const idle = await phase(100);
    const probes = Math.max(100, Math.round((20_000 * scale) / PROBE_EVERY));
    background = startBackgroundLoad(info.port, info.writeKey, 10_000, BACKGROUND_RATE);
    await new Promise((r) => setTimeout(r, 2000)); // the background reaches its rate
    const cpu1 = cpuSeconds(server.pid);
    const t1 = performance.now();
    const loaded = await phase(probes);
    const probeSeconds = (performance.now() - t1) / 1000;
    const bg = await background.stop();
    const i = summary(idle.lat);
    const l = summary(loaded.lat);
    console.log(
      `delivery event → webhook, idle: ${idle.lat.length} probes${idle.lost ? ` (${idle.lost} lost)` : ''}: p50 ${i.p50} ms, p99 ${i.p99} ms, max ${i.max} ms`,
    );
    console.log(
      `delivery event → webhook under ${fmt(bg.sent / bg.seconds)} events/s background ingest: ${loaded.lat.length} probes${loaded.lost ? ` (${loaded.lost} lost)` : ''}: p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms; ratio to idle p50 × ${(l.p50 / i.p50).toFixed(2)}, p99 × ${(l.p99 / i.p99).toFixed(2)}; server CPU ${(cpuSeconds(server.pid) - cpu1).toFixed(1)} s over ${probeSeconds.toFixed(1)} s  (target p99 < 200 ms)`,
    );
    console.log(`memory   delivery: server peak RSS ${fmt(peakRssMb(server.pid))} MB`);
  } finally {
    background?.kill();
    await server.stop();
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
