import { expect } from 'vitest';
import type { App } from '../app.js';

/** In-process requests to an app (`app.http.inject`) for tests. */

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked by the tests' assertions
export type Json = any;

/** A management request to `app` with Bearer `token`: its status and JSON body. */
export function callAs(app: App, token: string) {
  return async (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json }> => {
    const r = await app.http.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(body ? { payload: body as object } : {}),
    });
    return { status: r.statusCode, body: r.json() };
  };
}

/** Tracking calls to `app` through `/v1/batch` with a write key; 200 expected; the answer. */
export async function sendAs(app: App, writeKey: string, calls: unknown[]): Promise<Json> {
  const r = await app.http.inject({
    method: 'POST',
    url: '/v1/batch',
    headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
    payload: { batch: calls },
  });
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
}
