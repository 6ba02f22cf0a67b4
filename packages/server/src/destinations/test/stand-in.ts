import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: unknown;
}

export type StandInHandler = (
  call: RecordedCall,
) =>
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | Promise<{ status: number; headers?: Record<string, string>; body?: unknown }>;

/**
 * A local HTTP server standing in for a vendor API in tests (127.0.0.1, a free port): it records every call and
 * answers what `handler` returns (a JSON body unless `body` is a string).
 */
export async function startStandIn(handler: StandInHandler) {
  const calls: RecordedCall[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const call = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body, json };
      calls.push(call);
      try {
        const answer = await handler(call);
        const text =
          answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
        res.writeHead(answer.status, {
          ...(typeof answer.body === 'object' ? { 'content-type': 'application/json' } : {}),
          ...answer.headers,
        });
        res.end(text);
      } catch (e) {
        res.writeHead(500);
        res.end(String(e));
      }
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
