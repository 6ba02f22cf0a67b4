import pino from 'pino';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';

/** A cheap scrypt cost for tests that create users (the default takes half a second per hash). */
export const TEST_PASSWORD_COST = { N: 1024, r: 8, p: 1 };

export interface TestApp {
  app: App;
  writeKey: string;
  sourceId: string;
  token: string;
  /** Sends calls through `/v1/batch` with the write key and returns the parsed answer. */
  send(calls: unknown[], writeKey?: string): Promise<{ status: number; body: any }>;
  /** GET with the admin token. */
  get(url: string): Promise<{ status: number; body: any }>;
}

/** A fresh app on in-memory SQLite with one source and an admin token; the pipeline is driven by `app.drain()`. */
export async function createTestApp(): Promise<TestApp> {
  const app = await createApp(loadConfig({}, { logLevel: 'silent' }), {
    memory: true,
    pipeline: false,
    logger: pino({ level: 'silent' }),
    passwordCost: TEST_PASSWORD_COST,
  });
  const { source, writeKey } = await app.sources.create({ name: 'web' });
  const { token } = await app.tokens.create('test admin', ['admin']);
  const basic = (k: string) => `Basic ${Buffer.from(`${k}:`).toString('base64')}`;
  return {
    app,
    writeKey,
    sourceId: source.id,
    token,
    async send(calls, key = writeKey) {
      const res = await app.http.inject({
        method: 'POST',
        url: '/v1/batch',
        headers: { authorization: basic(key), 'content-type': 'application/json' },
        payload: { batch: calls },
      });
      return { status: res.statusCode, body: res.json() };
    },
    async get(url) {
      const res = await app.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      return { status: res.statusCode, body: res.json() };
    },
  };
}
