/**
 * `/openapi.json` (DESIGN §9, STYLE #6): every route declares its schemas, so the document lists every route with a
 * summary, tags, security, parameters and its answers. And since response schemas also serialise the answers
 * (fast-json-stringify drops undeclared fields and coerces declared ones), the answers of a populated app are
 * checked field for field against what the handlers produced.
 */
import { fromPublicId } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMatchReview } from '../identity/review-queue.js';
import type { IngestWriter } from '../ingest/ingest-writer.js';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { createHttpServer } from './create-http-server.js';

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document and JSON answers, checked by the assertions
type Json = any;

const MANAGEMENT: [string, string][] = [
  ['post', '/v1/sources'],
  ['get', '/v1/sources'],
  ['post', '/v1/sources/{id}/rotate-key'],
  ['post', '/v1/sources/{id}/calls'],
  ['put', '/v1/sources/{id}/mapping'],
  ['get', '/v1/sources/{id}/quarantine'],
  ['post', '/v1/sources/{id}/quarantine/{qid}/replay'],
  ['get', '/v1/profiles'],
  ['get', '/v1/profiles/{id}'],
  ['get', '/v1/profiles/by/{type}/{value}'],
  ...['events', 'identities', 'history', 'merges', 'accounts'].map((r): [string, string] => [
    'get',
    `/v1/profiles/{id}/${r}`,
  ]),
  ['get', '/v1/settings/survivorship'],
  ['put', '/v1/settings/survivorship'],
  ['get', '/v1/settings/survivorship/versions'],
  ['post', '/v1/profiles/{id}/unmerge'],
  ['get', '/v1/profiles/{id}/explain'],
  ['get', '/v1/identity/review'],
  ['post', '/v1/identity/review/{id}/accept'],
  ['post', '/v1/identity/review/{id}/reject'],
  ['post', '/v1/identity/dedupe'],
  ['post', '/v1/identity/rebuild'],
  ['get', '/v1/settings/identity-matching'],
  ['put', '/v1/settings/identity-matching'],
  ['get', '/v1/audiences'],
  ['post', '/v1/audiences'],
  ['post', '/v1/audiences/preview'],
  ['get', '/v1/audiences/{key}'],
  ['patch', '/v1/audiences/{key}'],
  ['delete', '/v1/audiences/{key}'],
  ['get', '/v1/audiences/{key}/versions'],
  ['post', '/v1/audiences/{key}/recompute'],
  ['get', '/v1/audiences/{key}/members'],
  ['get', '/v1/profiles/{id}/audiences'],
  ['get', '/v1/changes'],
  ['get', '/v1/computed-traits'],
  ['get', '/v1/computed-traits/{key}'],
  ['put', '/v1/computed-traits/{key}'],
  ['delete', '/v1/computed-traits/{key}'],
  ['get', '/v1/profiles/{id}/computed-traits'],
  ['get', '/v1/settings/rfm'],
  ['put', '/v1/settings/rfm'],
  ['get', '/v1/rfm'],
  ['get', '/v1/sources/{id}/personalization'],
  ['put', '/v1/sources/{id}/personalization'],
  ['post', '/v1/sources/{id}/read-key'],
  ['get', '/v1/destination-types'],
  ['get', '/v1/destinations'],
  ['post', '/v1/destinations'],
  ['get', '/v1/destinations/{id}'],
  ['patch', '/v1/destinations/{id}'],
  ['delete', '/v1/destinations/{id}'],
  ['post', '/v1/destinations/{id}/test'],
  ['get', '/v1/destinations/{id}/stats'],
  ['get', '/v1/destinations/{id}/deliveries'],
  ['get', '/v1/destinations/{id}/deliveries/{deliveryId}'],
  ['get', '/v1/destinations/{id}/dlq'],
  ['post', '/v1/destinations/{id}/dlq/replay'],
  ['get', '/v1/settings/pressure'],
  ['put', '/v1/settings/pressure'],
  ['get', '/v1/profiles/{id}/pressure'],
  ['post', '/v1/privacy/requests'],
  ['get', '/v1/privacy/requests'],
  ['get', '/v1/privacy/requests/{id}'],
  ['get', '/v1/profiles/{id}/consents'],
  ['post', '/v1/profiles/{id}/consents'],
  ['get', '/v1/settings/consent-purposes'],
  ['put', '/v1/settings/consent-purposes'],
  ['get', '/v1/settings/retention'],
  ['put', '/v1/settings/retention'],
  ['delete', '/v1/sessions/current'],
  ['get', '/v1/me'],
  ['post', '/v1/users'],
  ['get', '/v1/users'],
  ['patch', '/v1/users/{id}'],
  ['post', '/v1/tokens'],
  ['get', '/v1/tokens'],
  ['delete', '/v1/tokens/{id}'],
  ['get', '/v1/audit-log'],
  ['get', '/v1/sources/{id}/debugger'],
  ['get', '/v1/stats/overview'],
  ['get', '/v1/audiences/{key}/sizes'],
  ['get', '/v1/profiles/{id}/deliveries'],
  ['get', '/v1/settings/pii-classes'],
  ['put', '/v1/settings/pii-classes'],
];
const TRACKING: [string, string][] = [
  ...['track', 'identify', 'page', 'screen', 'group', 'alias', 'batch'].map((r): [string, string] => [
    'post',
    `/v1/${r}`,
  ]),
  ...['t', 'i', 'p', 's', 'g', 'a', 'b'].map((r): [string, string] => ['post', `/v1/${r}`]),
];
const EXPECTED: [string, string][] = [
  ...TRACKING,
  ['get', '/v1/personalize'],
  ['get', '/v1/projects/{writeKey}/settings'],
  ['post', '/v1/webhooks/{sourceId}'],
  ['post', '/v1/sessions'],
  ...MANAGEMENT,
  ['get', '/healthz'],
  ['get', '/metrics'],
];
const TAGS = [
  'tracking',
  'webhooks',
  'sources',
  'profiles',
  'settings',
  'audiences',
  'destinations',
  'privacy',
  'identity',
  'access',
  'operations',
];
const QUERY: Record<string, string[]> = {
  'get /v1/profiles': ['q', 'limit', 'cursor'],
  'get /v1/profiles/{id}': ['asOf', 'knownAt'],
  'get /v1/profiles/{id}/events': ['type', 'event', 'name', 'from', 'to', 'limit', 'cursor'],
  'get /v1/profiles/{id}/history': ['trait'],
  'get /v1/sources/{id}/quarantine': ['status', 'limit', 'cursor'],
  'get /v1/settings/survivorship/versions': ['limit', 'cursor'],
  'get /v1/identity/review': ['status', 'limit', 'cursor'],
  'get /v1/audiences/{key}/members': ['limit', 'cursor', 'format'],
  'get /v1/profiles/{id}/audiences': ['history'],
  'get /v1/changes': ['after', 'kind', 'limit'],
  'get /v1/personalize': ['userId', 'anonymousId'],
  'get /v1/destinations/{id}/deliveries': ['status', 'limit', 'cursor'],
  'get /v1/destinations/{id}/dlq': ['limit', 'cursor'],
  'get /v1/profiles/{id}/pressure': ['channel'],
  'get /v1/privacy/requests': ['limit'],
  'get /v1/audit-log': ['limit', 'cursor', 'actor', 'profile', 'action', 'since'],
  'get /v1/sources/{id}/debugger': ['after', 'limit'],
  'get /v1/stats/overview': ['days'],
  'get /v1/audiences/{key}/sizes': ['days'],
  'get /v1/profiles/{id}/deliveries': ['limit'],
};

/** Files for browsers, not API routes (`routes/browser-sdk.ts`): analytics.js, its chunks, the demo storefront. */
const BROWSER_FILES = ['/analytics.js/v1/{writeKey}/analytics.min.js', '/analytics-next/bundles/{file}', '/demo/store'];

/** `method path` of every API route, read from Fastify's route tree (HEAD, OPTIONS, `/openapi.json` and the web app left out). */
function registeredRoutes(app: FastifyInstance): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (.+) \(([^)]+)\)$/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 4;
    stack[depth] = (depth > 0 ? stack[depth - 1] : '') + m[2];
    const path = stack[depth].replace(/:(\w+)/g, '{$1}');
    for (const method of m[3].split(', ')) {
      // The web app's files (`web-app.ts`) are not API routes.
      if (
        method !== 'HEAD' &&
        method !== 'OPTIONS' &&
        !['/openapi.json', '/', '/*', '/assets/*'].includes(path) &&
        !BROWSER_FILES.includes(path)
      )
        out.push(`${method.toLowerCase()} ${path}`);
    }
  }
  return out.sort();
}

describe('/openapi.json', () => {
  let t: TestApp;
  let doc: Json;
  const op = (method: string, path: string): Json => doc.paths[path]?.[method];

  beforeAll(async () => {
    t = await createTestApp();
    const res = await t.app.http.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterAll(() => t.app.close());

  it('is OpenAPI 3 and documents exactly the registered routes', () => {
    expect(doc.openapi).toMatch(/^3\./);
    const documented = Object.entries(doc.paths as Json)
      .flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m} ${path}`))
      .sort();
    expect(documented).toEqual(registeredRoutes(t.app.http));
    expect(documented).toEqual(EXPECTED.map(([m, p]) => `${m} ${p}`).sort());
  });

  it.each(EXPECTED)('%s %s has a summary, a tag and a described success answer', (method, path) => {
    const o = op(method, path);
    expect(o.summary).toMatch(/\w/);
    expect(o.tags).toHaveLength(1);
    expect(TAGS).toContain(o.tags[0]);
    const ok = o.responses['200'] ?? o.responses['201'] ?? o.responses['204'];
    expect(ok?.description).toMatch(/\w/);
    if (o.responses['204']) return; // no content: sign-out, a revoked token
    const [type, media] = Object.entries(ok.content as Json)[0] as [string, Json];
    expect(type).toBe(path === '/metrics' ? 'text/plain' : 'application/json');
    expect(media.schema.type).toBe(path === '/metrics' ? 'string' : 'object');
  });

  it.each(MANAGEMENT)('%s %s needs a Bearer token and documents the error answers', (method, path) => {
    const o = op(method, path);
    expect(o.security).toEqual([{ bearer: [] }]);
    for (const status of ['400', '401', '403']) {
      const schema = o.responses[status]?.content['application/json'].schema;
      expect(schema?.properties.error.required, `${status}`).toEqual(['code', 'message', 'requestId']);
      expect(Object.keys(schema.properties.error.properties)).toEqual(['code', 'message', 'requestId', 'details']);
    }
    if (path.includes('{')) expect(o.responses['404']).toBeDefined();
  });

  it('tracking and webhook routes take a write key, document their body and do not validate it', () => {
    for (const [method, path] of [...TRACKING, ['post', '/v1/webhooks/{sourceId}']]) {
      const o = op(method, path);
      expect(o.security, path).toContainEqual({ writeKey: [] });
      expect(o.responses['401'], path).toBeDefined();
      expect(o.requestBody?.content['application/json'], path).toBeDefined();
    }
    expect(op('post', '/v1/track').requestBody.content['application/json'].schema.required).toEqual(['event']);
    expect(op('post', '/v1/batch').requestBody.content['application/json'].schema.required).toEqual(['batch']);
    // `?key=` of webhooks is documented as a security scheme (so not as a plain query parameter).
    expect(op('post', '/v1/webhooks/{sourceId}').security).toContainEqual({ webhookKeyQuery: [] });
    expect(doc.components.securitySchemes.webhookKeyQuery).toMatchObject({ type: 'apiKey', in: 'query', name: 'key' });
    expect(doc.components.securitySchemes.webhookKey).toMatchObject({ in: 'header', name: 'X-Tessera-Key' });
    expect(op('get', '/healthz').security).toEqual([]);
  });

  it('documents the path parameters and the query parameters where they apply', () => {
    for (const [method, path] of EXPECTED) {
      const params: Json[] = op(method, path).parameters ?? [];
      const names = (where: string) => params.filter((p) => p.in === where).map((p) => p.name);
      expect(names('path').sort(), path).toEqual([...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort());
      expect(names('query').sort(), `${method} ${path}`).toEqual([...(QUERY[`${method} ${path}`] ?? [])].sort());
      // Query strings are not coerced: every query parameter is a string, parsed by the handler.
      for (const p of params.filter((x) => x.in === 'query')) expect(p.schema.type, p.name).toBe('string');
    }
  });
});

const BASE = Date.UTC(2026, 0, 1, 12, 0);
const at = (min: number) => new Date(BASE + min * 60_000).toISOString();

/** Calls giving every kind of answer something to show: traits, consents, a merge, a decision, an account… */
const CALLS = [
  {
    type: 'identify',
    userId: 'u1',
    anonymousId: 'a1',
    messageId: 'm1',
    timestamp: at(0),
    traits: { email: 'jane@example.com', plan: 'free', nested: { list: [1, { deep: null }], flag: false } },
    context: { consent: { categoryPreferences: { newsletter: true } }, ip: '192.0.2.1', page: { path: '/' } },
  },
  { type: 'track', anonymousId: 'a2', messageId: 'm2', timestamp: at(1), event: 'Viewed', properties: { n: 9.5 } },
  { type: 'identify', anonymousId: 'a2', messageId: 'm3', timestamp: at(2), traits: { email: 'jane@example.com' } },
  { type: 'page', userId: 'u1', messageId: 'm4', timestamp: at(3), name: 'Home', properties: { path: '/' } },
  { type: 'group', userId: 'u1', messageId: 'm5', timestamp: at(4), groupId: 'acme', traits: { name: 'Acme' } },
  { type: 'identify', userId: 'u1', messageId: 'm6', timestamp: at(5), traits: { plan: 'pro', phone: '12345' } },
  { type: 'identify', userId: 'u1', messageId: 'm7', timestamp: at(-10), traits: { plan: 'trial' } },
  { type: 'track', userId: 'u1', messageId: 'm8', timestamp: at(6) },
];

const MAPPING = {
  type: 'track',
  event: { const: 'Points earned' },
  identifiers: { email: '$.customer.email' },
  properties: { points: { from: '$.points', type: 'number' } },
};

describe('answers through the response schemas', () => {
  let t: TestApp;
  let http: FastifyInstance;
  /** What the last management handler answered, before serialisation. */
  let sent: unknown;

  beforeAll(async () => {
    t = await createTestApp();
    // The same services behind a second server whose response filter records each answer before serialisation.
    http = await createHttpServer({
      logger: pino({ level: 'silent' }),
      storage: t.app.storage,
      writer: undefined as unknown as IngestWriter,
      metrics: t.app.metrics,
      sources: t.app.sources,
      tokens: t.app.tokens,
      ingest: t.app.ingest,
      profiles: t.app.profiles,
      identity: t.app.identity,
      survivorship: t.app.survivorship,
      users: t.app.users,
      audit: t.app.audit,
      pii: t.app.pii,
      consumer: 'openapi-test',
      filters: [
        (body) => {
          sent = body;
          return body;
        },
      ],
    });
  });
  afterAll(async () => {
    await http.close();
    await t.app.close();
  });

  async function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<Json> {
    sent = undefined;
    const auth = { authorization: `Bearer ${t.token}` };
    const res = await http.inject(
      payload === undefined
        ? { method, url, headers: auth }
        : { method, url, headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(payload) },
    );
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    // Nothing dropped, nothing coerced: the answer is the handler's value as JSON.stringify would write it.
    expect(res.json(), `${method} ${url}`).toEqual(JSON.parse(JSON.stringify(sent)));
    return res.json();
  }

  it('loses no field of any answer', async () => {
    const sent1 = await t.send(CALLS);
    expect(sent1).toEqual({
      status: 200,
      body: {
        success: true,
        accepted: 7,
        duplicates: 0,
        quarantined: [{ index: 7, messageId: 'm8', code: expect.any(String), reason: expect.any(String) }],
      },
    });
    await t.app.drain();

    const list = await call('GET', '/v1/profiles?limit=10');
    expect(list.items.length).toBeGreaterThan(0);
    const p = await call('GET', '/v1/profiles/by/user_id/u1');
    expect(p.consents).toHaveLength(1);
    await call('GET', `/v1/profiles/${p.id}?asOf=${encodeURIComponent(at(1))}&knownAt=${Date.now()}`);
    const events = await call('GET', `/v1/profiles/${p.id}/events?limit=2`);
    expect(events.nextCursor).not.toBeNull();
    await call('GET', `/v1/profiles/${p.id}/events?cursor=${events.nextCursor}&from=${at(-60)}&to=${at(60)}`);
    await call('GET', `/v1/profiles/${p.id}/events?type=page&event=Home`);
    await call('GET', `/v1/profiles/${p.id}/identities`);
    const history = await call('GET', `/v1/profiles/${p.id}/history`);
    expect(history.items.some((i: Json) => i.validTo !== null)).toBe(true);
    await call('GET', `/v1/profiles/${p.id}/history?trait=plan`);
    const merges = await call('GET', `/v1/profiles/${p.id}/merges`);
    expect(merges.items.length).toBeGreaterThan(0);
    expect(merges.decisions.length).toBeGreaterThan(0);
    const accounts = await call('GET', `/v1/profiles/${p.id}/accounts`);
    expect(accounts.items).toHaveLength(1);

    const created = await call('POST', '/v1/sources', { name: 'hook', kind: 'webhook', mapping: MAPPING });
    expect(created.writeKey).toMatch(/\w/);
    await call('POST', `/v1/sources/${created.id}/rotate-key`);
    await call('PUT', `/v1/sources/${created.id}/mapping`, { ...MAPPING, records: '$.items[*]' });
    await call('GET', '/v1/sources');
    const quarantine = await call('GET', `/v1/sources/${t.sourceId}/quarantine`);
    expect(quarantine.items).toHaveLength(1);
    const fixed = { ...CALLS[7], event: 'Fixed' };
    const replay = await call('POST', `/v1/sources/${t.sourceId}/quarantine/${quarantine.items[0].id}/replay`, {
      event: fixed,
    });
    expect(replay).toEqual({ replayed: true, success: true, accepted: 1, duplicates: 0, quarantined: [] });
    await call('GET', `/v1/sources/${t.sourceId}/quarantine?status=replayed&limit=1`);

    expect((await call('GET', '/v1/settings/survivorship')).version).toBe(0);
    await call('PUT', '/v1/settings/survivorship', {
      default: { rule: 'most_recent' },
      traits: { email: { rule: 'source_priority', sources: ['web', 'hook'] }, plan: { rule: 'most_frequent' } },
    });
    const versions = await call('GET', '/v1/settings/survivorship/versions?limit=1');
    expect(versions.nextCursor).not.toBeNull();
    await call('GET', `/v1/settings/survivorship/versions?cursor=${versions.nextCursor}`);
    const golden = await call('GET', `/v1/profiles/${p.id}`);
    expect(golden.traitSources.email).toMatchObject({ rule: 'source_priority', settingsVersion: 1 });
    await call('GET', `/v1/profiles/${p.id}?asOf=${encodeURIComponent(at(3))}&knownAt=${Date.now()}`);
    await call('GET', '/v1/profiles?limit=10');
  });

  it('loses no field of the identity answers (review, unmerge, explain, merges)', async () => {
    await t.send([
      { type: 'identify', userId: 'rv1', messageId: 'rv1', timestamp: at(0), traits: { name: 'Ann' } },
      { type: 'identify', anonymousId: 'rv2', messageId: 'rv2', timestamp: at(1), traits: { name: 'Anne' } },
      { type: 'identify', anonymousId: 'rv3', messageId: 'rv3', timestamp: at(2), traits: { name: 'Anna' } },
    ]);
    await t.app.drain();
    const id = async (type: string, value: string) => (await call('GET', `/v1/profiles/by/${type}/${value}`)).id;
    const [a, b, c] = [await id('user_id', 'rv1'), await id('anonymous_id', 'rv2'), await id('anonymous_id', 'rv3')];
    const match = {
      probability: 0.7,
      weight: 2.5,
      fields: [{ field: 'name', left: 'ann', right: 'anne', level: 'jaro_winkler>=0.92', weight: 2.5, counted: 2.5 }],
    };
    for (const other of [b, c])
      await openMatchReview(t.app.storage.identities, {
        leftId: fromPublicId('profile', a) as string,
        rightId: fromPublicId('profile', other) as string,
        match,
        reason: 'between_thresholds',
        now: Date.now(),
      });
    const open = await call('GET', '/v1/identity/review?limit=1');
    expect(open.items[0].comparison).toEqual(match.fields);
    await call('GET', `/v1/identity/review?cursor=${open.nextCursor}`);
    const accepted = await call('POST', `/v1/identity/review/${open.items[0].id}/accept`);
    expect(accepted.merge.mergedIds).toEqual([b]);
    const rest = await call('GET', '/v1/identity/review');
    await call('POST', `/v1/identity/review/${rest.items[0].id}/reject`);
    await call('GET', '/v1/identity/review?status=accepted');
    const explained = await call('GET', `/v1/profiles/${b}/explain`);
    expect(explained.edges[0].match).toEqual(match);
    const split = await call('POST', `/v1/profiles/${a}/unmerge`, { profileIds: [b], reason: 'checked by phone' });
    expect(split.parts).toHaveLength(2);
    expect((await call('GET', `/v1/profiles/${a}/merges`)).unmerges).toHaveLength(1);
    expect((await call('GET', `/v1/profiles/${a}/explain`)).edges[0].unmerged.reason).toBe('checked by phone');
  });

  it('keeps the error body, details included', async () => {
    const res = await t.send([{ type: 'track', userId: 'u1' }]);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: {
        code: 'no_valid_events',
        message: expect.any(String),
        requestId: expect.any(String),
        details: { quarantined: [{ index: 0, messageId: null, code: expect.any(String), reason: expect.any(String) }] },
      },
    });
    const missing = await t.get('/v1/profiles/prof_00000000-0000-7000-8000-000000000000');
    expect(missing).toEqual({
      status: 404,
      body: { error: { code: 'not_found', message: 'no such profile', requestId: expect.any(String) } },
    });
  });

  it('answers /healthz and /metrics as before', async () => {
    expect((await t.get('/healthz')).body).toEqual({ status: 'ok', backlog: expect.any(Number) });
    const metrics = await t.app.http.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/^# HELP /m);
  });
});
