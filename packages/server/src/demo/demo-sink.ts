import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The receiver of the demo's webhooks (`tessera demo`), on 127.0.0.1: `POST /ok` accepts and counts the messages,
 * `POST /reject` refuses them for good (HTTP 422 with an error body, as a receiver that does not know a field
 * would), so the failing destination fills its dead-letter queue. Its port changes with each run; the demo points
 * its destinations at it again.
 */
export async function startDemoSink() {
  let accepted = 0;
  let refused = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let count = 0;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { batch?: unknown[] };
        count = Array.isArray(body.batch) ? body.batch.length : 1;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":"body is not JSON"}');
        return;
      }
      if (req.method === 'POST' && req.url === '/ok') {
        accepted += count;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"received":${count}}`);
        return;
      }
      refused += count;
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end('{"error":"unknown field: audience.key (this demo receiver refuses every message)"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    okUrl: `${url}/ok`,
    rejectUrl: `${url}/reject`,
    counts: () => ({ accepted, refused }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
