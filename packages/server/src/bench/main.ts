import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { cpuSeconds, peakRssMb, startChild } from './child.js';

/**
 * `npm run bench [-- --only NAME --scale F]`. Prints figures and ratios measured in the same run:
 * - ingest: acknowledged events/s through /v1/batch (autocannon, 32 connections, 100-event batches, 8 s × scale)
 *   against Tessera and against a bare node:http server that only parses the JSON; ratio and CPU per process;
 * - pipeline: events/s the pipeline processed during and after that load;
 * - lookup: GET /v1/profiles/by/user_id/… p50 / p99 over the profiles the run created;
 * - peak RSS of the server.
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

function batchTemplate(size: number): string {
  const calls = [];
  for (let i = 0; i < size; i++) {
    calls.push({
      type: i % 10 === 0 ? 'identify' : 'track',
      messageId: `__R__-${i}`,
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
): Promise<{ requests: number; errors: number; non2xx: number }> {
  const template = batchTemplate(100);
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
    requests: [{ setupRequest: (req) => ({ ...req, body: template.replaceAll('__R__', String(++n)) }) }],
  });
  return { requests: result['2xx'], errors: result.errors, non2xx: result.non2xx };
}

async function main() {
  const seconds = Math.max(1, Math.round(8 * scale));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
  console.log(`Tessera benchmark (scale ${scale}, ${os.cpus().length} cores, node ${process.version})`);
  try {
    if (!only || only === 'ingest' || only === 'pipeline' || only === 'lookup') {
      const baseline = await startChild([path.join(here, 'bare-server.js'), '18799'], {}, (l) => l.trim() === '18799');
      const c0 = cpuSeconds(baseline.pid as number);
      const b = await load(18799, 'x', seconds);
      const bareCpu = cpuSeconds(baseline.pid as number) - c0;
      baseline.kill();

      let info = { port: 0, writeKey: '', token: '' };
      const server = await startChild(
        [path.join(here, 'serve-child.js')],
        { TESSERA_DATA_DIR: dataDir, TESSERA_MAX_BACKLOG: '100000000' },
        (l) => {
          if (!l.startsWith('{')) return false;
          info = JSON.parse(l);
          return true;
        },
      );
      const pid = server.pid as number;
      const s0 = cpuSeconds(pid);
      const started = Date.now();
      const t = await load(info.port, info.writeKey, seconds);
      const loadSeconds = (Date.now() - started) / 1000;
      const serverCpu = cpuSeconds(pid) - s0;
      const ackEps = (t.requests * 100) / seconds;
      const bareEps = (b.requests * 100) / seconds;
      console.log(
        `ingest   tessera: ${fmt(ackEps)} events/s acknowledged (${t.requests} requests, ${t.non2xx} non-2xx, ${t.errors} errors), server CPU ${serverCpu.toFixed(1)} s over ${loadSeconds.toFixed(1)} s`,
      );
      console.log(`ingest   bare node:http JSON.parse: ${fmt(bareEps)} events/s, CPU ${bareCpu.toFixed(1)} s`);
      console.log(`ingest   ratio tessera / bare: ${(ackEps / bareEps).toFixed(2)}  (target ≥ 100,000 events/s)`);

      const metrics = async () => {
        const text = await (await fetch(`http://127.0.0.1:${info.port}/metrics`)).text();
        const v = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 'NaN');
        return { stored: v('tessera_events_stored_total'), backlog: v('tessera_pipeline_backlog_events') };
      };
      const m0 = await metrics();
      const p0 = Date.now();
      let m = m0;
      const deadline = p0 + 120_000 * Math.max(1, scale);
      while (m.backlog > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        m = await metrics();
      }
      const drainSeconds = (Date.now() - p0) / 1000;
      const processed = m.stored - m0.stored;
      console.log(
        `pipeline ${fmt(m0.stored)} events stored during the ${loadSeconds.toFixed(1)} s load = ${fmt(m0.stored / loadSeconds)} events/s (sharing the process with ingest)`,
      );
      console.log(
        `pipeline ${fmt(m.stored)} events stored in total; after the load ${fmt(processed)} more in ${drainSeconds.toFixed(1)} s = ${fmt(processed / Math.max(drainSeconds, 0.001))} events/s; backlog left ${fmt(m.backlog)}  (target ≥ 30,000 events/s)`,
      );

      const headers = { authorization: `Bearer ${info.token}` };
      const lat: number[] = [];
      const users = Math.max(1, Math.min(t.requests, 5000));
      for (let i = 0; i < 2000 * Math.max(scale, 0.1); i++) {
        const u = `user-${1 + Math.floor(Math.random() * users)}-${Math.floor(Math.random() * 20)}`;
        const s = performance.now();
        const res = await fetch(`http://127.0.0.1:${info.port}/v1/profiles/by/user_id/${u}`, { headers });
        await res.arrayBuffer();
        lat.push(performance.now() - s);
      }
      lat.sort((a, b2) => a - b2);
      const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
      console.log(
        `lookup   ${lat.length} look-ups: p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms (idle server, ${fmt(m.stored)} events stored; target p99 < 5 ms with 1 M profiles under load: not measured yet)`,
      );
      console.log(`memory   server peak RSS ${peakRssMb(pid).toFixed(0)} MB`);
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
