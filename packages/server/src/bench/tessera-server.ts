import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild } from './child.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Node's flags for a benchmarked server, as `npm start` runs one: a young generation of 64 MB semi-spaces for the main
 * thread, which parses and checks every tracking call (README, configuration; docs/performance.md, session 13).
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=64'];

/**
 * `tessera serve` on `dataDir` for the benchmarks (`serve-child.js`, its own process): its port, write key and admin
 * token, a keep-alive HTTP client to it (`call`, with the `basic` and `bearer` authorisations), its metrics, and stop.
 */
export async function startTessera(dataDir: string) {
  let info = { port: 0, writeKey: '', token: '' };
  const child = await startChild(
    [...SERVER_NODE_FLAGS, path.join(here, 'serve-child.js')],
    { TESSERA_DATA_DIR: dataDir, TESSERA_MAX_BACKLOG: '100000000' },
    (l) => {
      if (!l.startsWith('{')) return false;
      info = JSON.parse(l);
      return true;
    },
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  /** One request, its body sent as JSON; answers the status and the body text. */
  const call = (method: string, url: string, auth: string, body?: unknown) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: info.port,
          path: url,
          method,
          agent,
          headers: { authorization: auth, ...(body ? { 'content-type': 'application/json' } : {}) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
          });
          res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.once('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });
  const metrics = async () => {
    const text = await (await fetch(`http://127.0.0.1:${info.port}/metrics`)).text();
    const v = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 'NaN');
    const byThread = (name: string) => {
      const values: Record<string, number> = {};
      for (const [, thread, seconds] of text.matchAll(new RegExp(`^${name}\\{thread="(\\w+)"\\} (\\S+)`, 'gm')))
        values[thread] = Number(seconds);
      return values;
    };
    return {
      stored: v('tessera_events_stored_total'),
      backlog: v('tessera_pipeline_backlog_events'),
      threads: byThread('tessera_thread_cpu_seconds'),
      waits: byThread('tessera_thread_wait_seconds'),
    };
  };
  const stop = async () => {
    agent.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
  return {
    child,
    pid: child.pid as number,
    ...info,
    basic: `Basic ${Buffer.from(`${info.writeKey}:`).toString('base64')}`,
    bearer: `Bearer ${info.token}`,
    call,
    metrics,
    stop,
  };
}
