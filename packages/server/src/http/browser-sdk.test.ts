/**
 * The browser SDK path (issue 8) in-process: the CDN settings document analytics.js reads, the analytics.js bundle
 * and its chunks served from node_modules, CORS of the tracking API for pages on other origins, and the demo
 * storefront (only when the server runs as `tessera demo`).
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { escapeHtml, scriptLiteral } from '../demo/storefront-page.js';
import { createTestApp, TEST_PASSWORD_COST, type TestApp } from '../test/test-app.js';

const UMD = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@segment/analytics-next/package.json')),
  'dist',
  'umd',
);
const CHUNK = readdirSync(UMD).find((n) => /^ajs-destination\.bundle\.[0-9a-f]+\.js$/.test(n)) as string;
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

describe('browser SDK path (tessera serve)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.app.close());

  it('answers the CDN settings document of a write key, pointing analytics.js at this host', async () => {
    const res = await t.app.http.inject({
      method: 'GET',
      url: `/v1/projects/${t.writeKey}/settings`,
      headers: { host: 'cdp.example.test:8080', origin: 'https://shop.example.test' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    const doc = res.json();
    expect(doc.integrations).toEqual({
      'Segment.io': {
        apiKey: t.writeKey,
        apiHost: 'cdp.example.test:8080/v1',
        protocol: 'http',
        unbundledIntegrations: [],
        addBundledMetadata: true,
        maybeBundledConfigIds: {},
        versionSettings: { version: '4.4.7', componentTypes: ['browser'] },
      },
    });
    expect(doc).toMatchObject({
      plan: { track: { __default: { enabled: true } } },
      edgeFunction: {},
      analyticsNextEnabled: true,
      middlewareSettings: {},
      enabledMiddleware: {},
      metrics: { sampleRate: 0, host: 'cdp.example.test:8080/v1' },
      legacyVideoPluginsEnabled: false,
      remotePlugins: [],
    });
    // The only key in the document is the one asked for.
    expect(res.body.match(/wk_[A-Za-z0-9_-]+/g)).toEqual([t.writeKey]);
  });

  it('answers 404 not_found for an unknown or rotated write key, and refuses a Host it cannot copy', async () => {
    const unknown = await t.app.http.inject({ method: 'GET', url: '/v1/projects/wk_nope/settings' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('not_found');
    expect(unknown.body).not.toContain('wk_nope');
    const { writeKey } = await t.app.sources.create({ name: 'rotated' });
    expect((await t.app.http.inject({ method: 'GET', url: `/v1/projects/${writeKey}/settings` })).statusCode).toBe(200);
    const { writeKey: next } = await t.app.sources.rotateKey('rotated');
    const old = await t.app.http.inject({ method: 'GET', url: `/v1/projects/${writeKey}/settings` });
    expect(old.statusCode).toBe(404);
    expect(old.json().error.code).toBe('not_found');
    const fresh = await t.app.http.inject({ method: 'GET', url: `/v1/projects/${next}/settings` });
    expect(fresh.json().integrations['Segment.io'].apiKey).toBe(next);
    const bad = await t.app.http.inject({
      method: 'GET',
      url: `/v1/projects/${next}/settings`,
      headers: { host: 'evil.test/"><script>' },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('answers CORS preflights of the tracking API and accepts what analytics.js sends (text/plain, key in body)', async () => {
    for (const p of ['/v1/t', '/v1/p', '/v1/i', '/v1/b', '/v1/track', '/v1/batch']) {
      const pre = await t.app.http.inject({
        method: 'OPTIONS',
        url: p,
        headers: {
          origin: 'https://shop.example.test',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      expect(pre.statusCode, p).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe('*');
      expect(pre.headers['access-control-allow-methods']).toBe('POST');
      expect(pre.headers['access-control-allow-headers']).toContain('authorization');
      expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
    }
    const call = { anonymousId: 'anon-cors', messageId: 'cors-1', properties: { path: '/' } };
    const sent = await t.app.http.inject({
      method: 'POST',
      url: '/v1/p',
      headers: {
        origin: 'https://shop.example.test',
        authorization: basic(t.writeKey),
        'content-type': 'text/plain',
      },
      payload: JSON.stringify({ ...call, type: 'page', writeKey: t.writeKey }),
    });
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json()).toMatchObject({ success: true, accepted: 1 });
    expect(sent.headers['access-control-allow-origin']).toBe('*');
    // The write key in the body alone is enough (no Authorization header).
    const bodyKey = await t.app.http.inject({
      method: 'POST',
      url: '/v1/t',
      headers: { origin: 'https://shop.example.test', 'content-type': 'text/plain' },
      payload: JSON.stringify({ anonymousId: 'anon-cors', event: 'X', messageId: 'cors-2', writeKey: t.writeKey }),
    });
    expect(bodyKey.statusCode, bodyKey.body).toBe(200);
    // Auth is not weakened: an unknown key is still refused, readable by the page (CORS on errors too).
    const refused = await t.app.http.inject({
      method: 'POST',
      url: '/v1/t',
      headers: {
        origin: 'https://shop.example.test',
        authorization: basic('wk_unknown'),
        'content-type': 'text/plain',
      },
      payload: JSON.stringify({ anonymousId: 'a', event: 'X' }),
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe('*');
  });

  it('serves analytics.js and its chunks from node_modules, with cache headers and gzip', async () => {
    const standalone = await t.app.http.inject({
      method: 'GET',
      url: `/analytics.js/v1/${t.writeKey}/analytics.min.js`,
    });
    expect(standalone.statusCode).toBe(200);
    expect(standalone.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(standalone.headers['cache-control']).toBe('public, max-age=3600');
    expect(standalone.body).toContain('analytics-next/bundles/');
    const chunk = await t.app.http.inject({ method: 'GET', url: `/analytics-next/bundles/${CHUNK}` });
    expect(chunk.statusCode).toBe(200);
    expect(chunk.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(chunk.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const gz = await t.app.http.inject({
      method: 'GET',
      url: `/analytics-next/bundles/${CHUNK}`,
      headers: { 'accept-encoding': 'gzip, deflate, br' },
    });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString('utf8')).toBe(chunk.body);
    const again = await t.app.http.inject({
      method: 'GET',
      url: `/analytics-next/bundles/${CHUNK}`,
      headers: { 'if-none-match': String(chunk.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    const map = await t.app.http.inject({ method: 'GET', url: `/analytics-next/bundles/${CHUNK}.map` });
    expect(map.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it.each([
    '/analytics-next/bundles/..%2Fpackage.json',
    '/analytics-next/bundles/..%2F..%2F..%2Fpackage.json',
    '/analytics-next/bundles/%2E%2E%2F%2E%2E%2Fpackage.json',
    '/analytics-next/bundles/../../package.json',
    '/analytics-next/bundles/..%5C..%5Cpackage.json',
    '/analytics-next/bundles/standalone.js.gz',
    '/analytics-next/bundles/.hidden.js',
    '/analytics-next/bundles/%2Fetc%2Fpasswd',
  ])('refuses %s', async (url) => {
    const res = await t.app.http.inject({ method: 'GET', url, headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('"version"');
  });

  it('answers 404 at /demo/store when not running as tessera demo, even to a browser', async () => {
    for (const accept of ['text/html,application/xhtml+xml', 'application/json']) {
      const res = await t.app.http.inject({ method: 'GET', url: '/demo/store', headers: { accept } });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
  });
});

describe('demo storefront (tessera demo)', () => {
  let app: App;
  let key: string | undefined;
  beforeAll(async () => {
    app = await createApp(loadConfig({}, { logLevel: 'silent' }), {
      memory: true,
      pipeline: false,
      logger: pino({ level: 'silent' }),
      passwordCost: TEST_PASSWORD_COST,
      storefront: { writeKey: () => key },
    });
  });
  afterAll(() => app.close());

  it('answers 503 until the demo knows its key, then the page with the key and a nonce-based CSP', async () => {
    const early = await app.http.inject({ method: 'GET', url: '/demo/store' });
    expect(early.statusCode).toBe(503);
    expect(early.headers['retry-after']).toBeDefined();
    key = (await app.sources.create({ name: 'website' })).writeKey;
    const res = await app.http.inject({ method: 'GET', url: '/demo/store', headers: { accept: 'text/html' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const csp = String(res.headers['content-security-policy']);
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1] as string;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(res.body).toContain(`var WRITE_KEY = "${key}";`);
    expect(res.body).toContain('analytics._cdn = TESSERA;');
    expect(res.body).toContain("analytics.track('Order Completed'");
    // Every inline script and style carries the nonce; nothing is loaded from an absolute URL.
    expect([...res.body.matchAll(/<(script|style)\b[^>]*>/g)].every((m) => m[0].includes(`nonce="${nonce}"`))).toBe(
      true,
    );
    expect(res.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    const other = await app.http.inject({ method: 'GET', url: '/demo/store' });
    expect(/'nonce-([^']+)'/.exec(String(other.headers['content-security-policy']))?.[1]).not.toBe(nonce);
  });

  it('escapes what it injects', () => {
    expect(scriptLiteral('</script><script>alert(1)</script>')).toBe(
      '"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"',
    );
    expect(scriptLiteral('a\u2028b&')).toBe('"a\\u2028b\\u0026"');
    expect(escapeHtml(`"<a href='x'>&`)).toBe('&quot;&lt;a href=&#39;x&#39;&gt;&amp;');
  });
});
