import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { streamNames } from '../cluster/jetstream.js';
import { createScratchSchema } from '../storage/postgres/scratch-schema.js';
import { cpuSeconds, startChild } from './child.js';
import { SERVER_NODE_FLAGS } from './tessera-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

type Load = (port: number, writeKey: string, seconds: number) => Promise<{ requests: number }>;

/**
 * Cluster mode on this machine's PostgreSQL and NATS (`TESSERA_BENCH_DATABASE_URL`, `TESSERA_BENCH_NATS_URL`): one
 * api process and 1, then 2, worker processes on a fresh schema and stream prefix. The api takes the ingest load
 * (acknowledged events/s = JetStream publish acks); the pipeline's throughput is the events the workers processed
 * from the start of the load until the consumer had nothing pending, over that time. CPU per process from /proc,
 * PostgreSQL's backends summed.
 */
export async function clusterBench(seconds: number, load: Load): Promise<void> {
  const dbUrl = process.env.TESSERA_BENCH_DATABASE_URL;
  const natsUrl = process.env.TESSERA_BENCH_NATS_URL;
  if (!dbUrl || !natsUrl) {
    console.log('cluster  skipped: set TESSERA_BENCH_DATABASE_URL and TESSERA_BENCH_NATS_URL');
    return;
  }
  const pg = (await import('pg')).default;
  for (const workers of [1, 2]) {
    const schema = await createScratchSchema(dbUrl, 'bench');
    const prefix = `BENCH${randomBytes(4).toString('hex').toUpperCase()}`;
    const env = (roles: string) => ({
      TESSERA_DATABASE_URL: schema.url,
      TESSERA_NATS_URL: natsUrl,
      TESSERA_NATS_PREFIX: prefix,
      TESSERA_ROLES: roles,
      TESSERA_MAX_BACKLOG: '100000000',
      TESSERA_DATA_DIR: undefined,
    });
    let info = { port: 0, writeKey: '' };
    const api = await startChild([...SERVER_NODE_FLAGS, path.join(here, 'serve-child.js')], env('api'), (l) => {
      if (!l.startsWith('{')) return false;
      info = JSON.parse(l);
      return true;
    });
    const workerProcs = [];
    for (let i = 0; i < workers; i++)
      workerProcs.push(
        await startChild([...SERVER_NODE_FLAGS, path.join(here, 'serve-child.js')], env('worker'), (l) =>
          l.startsWith('{'),
        ),
      );
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    const processed = async () =>
      Number((await client.query('select count(*) as n from processed_messages')).rows[0].n);
    const nc = await connect({ servers: natsUrl });
    const jsm = await jetstreamManager(nc);
    const names = streamNames(prefix);
    try {
      const pgCpu0 = postgresCpu();
      const apiCpu0 = cpuSeconds(api.pid as number);
      const wCpu0 = workerProcs.map((w) => cpuSeconds(w.pid as number));
      const started = Date.now();
      const t = await load(info.port, info.writeKey, seconds);
      const loadSeconds = (Date.now() - started) / 1000;
      const apiCpu = cpuSeconds(api.pid as number) - apiCpu0;
      const atLoadEnd = await processed();
      const deadline = Date.now() + 600_000;
      for (;;) {
        const c = await jsm.consumers.info(names.logStream, names.pipelineConsumer);
        if ((c.num_pending === 0 && c.num_ack_pending === 0) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const total = await processed();
      const allSeconds = (Date.now() - started) / 1000;
      const wCpu = workerProcs.map((w, i) => cpuSeconds(w.pid as number) - wCpu0[i]);
      const pgCpu = postgresCpu() - pgCpu0;
      console.log(
        `cluster  ${workers} worker${workers > 1 ? 's' : ''}: ${fmt((t.requests * 100) / seconds)} events/s acknowledged by 1 api (CPU ${apiCpu.toFixed(1)} s over ${loadSeconds.toFixed(1)} s); ` +
          `pipeline ${fmt(total / allSeconds)} events/s (${fmt(total)} events in ${allSeconds.toFixed(1)} s, ${fmt(atLoadEnd)} during the load); ` +
          `worker CPU ${wCpu.map((c) => c.toFixed(1)).join(' + ')} s, PostgreSQL CPU ${pgCpu.toFixed(1)} s`,
      );
    } finally {
      await client.end();
      for (const s of (await jsm.streams.names().next()).filter((n) => n.startsWith(prefix)))
        await jsm.streams.delete(s);
      await nc.close();
      for (const p of [api, ...workerProcs]) {
        p.kill('SIGTERM');
        await new Promise((r) => p.once('exit', r));
      }
      await schema.drop();
    }
  }
}

/** CPU seconds of every process named `postgres` (the server and its backends), from /proc. */
function postgresCpu(): number {
  let sum = 0;
  for (const pid of readdirNumbers('/proc')) {
    try {
      const stat = readText(`/proc/${pid}/stat`);
      if (!stat.includes('(postgres)')) continue;
      sum += cpuSeconds(pid);
    } catch {
      // gone
    }
  }
  return sum;
}

function readdirNumbers(dir: string): number[] {
  return readdirSync(dir)
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
