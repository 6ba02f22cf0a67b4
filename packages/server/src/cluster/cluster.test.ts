import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { fromPublicId } from '@tessera/protocol';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { startStandIn } from '../destinations/test/stand-in.js';
import { lockBatch } from '../pipeline/lock-batch.js';
import { processEntries } from '../pipeline/process-batch.js';
import { pipelineSteps } from '../pipeline/steps/index.js';
import { instanceSecret } from '../privacy/instance-secret.js';
import { eraseZoe, loadPerson, needles, OTHER, sendAgain } from '../privacy/test/erasure-scenario.js';
import { createTestSchema, testDatabaseUrl } from '../test/databases.js';
import { natsServerInstalled, startPrivateNats, testNatsUrl } from '../test/nats.js';
import { tcpProxy } from '../test/tcp-proxy.js';
import { createTestApp } from '../test/test-app.js';
import { decodeLogMessage, encodeLogMessage, logPosition, streamNames } from './jetstream.js';

describe('cluster: log messages', () => {
  it('round-trip their entries, rejections and odd characters included', () => {
    const entries = [
      { sourceId: 's1', messageId: 'm1', receivedAt: 1, payload: '{"type":"track","event":"Zoë ✓ \\n"}' },
      {
        sourceId: 's1',
        messageId: 'm2',
        receivedAt: 2,
        payload: '{"x":1}',
        rejection: { code: 'schema_invalid', reason: '/event: Expected string' },
      },
    ];
    expect(decodeLogMessage(encodeLogMessage(entries))).toEqual([{ ...entries[0], rejection: null }, entries[1]]);
    expect(() => decodeLogMessage(Buffer.from('no newline'))).toThrow();
  });

  it('give increasing positions by stream sequence, then index', () => {
    expect(logPosition(1, 0)).toBeLessThan(logPosition(1, 499));
    expect(logPosition(1, 65_535)).toBeLessThan(logPosition(2, 0));
  });
});

const dbUrl = testDatabaseUrl();
const natsUrl = testNatsUrl();
const skip = !dbUrl ? 'TESSERA_TEST_DATABASE_URL is not set' : !natsUrl ? 'TESSERA_TEST_NATS_URL is not set' : '';
if (skip) console.log(`cluster suites skipped: ${skip}`);
const suite = skip ? describe.skip : describe;
const silent = pino({ level: 'silent' });
const basic = (k: string) => `Basic ${Buffer.from(`${k}:`).toString('base64')}`;

/** A cluster node on its own PostgreSQL schema and JetStream prefix (shared by the nodes of one test). */
async function node(env: { url: string; nats: string; prefix: string; roles: string }): Promise<App> {
  return createApp(
    loadConfig(
      {
        TESSERA_DATABASE_URL: env.url,
        TESSERA_NATS_URL: env.nats,
        TESSERA_NATS_PREFIX: env.prefix,
        TESSERA_ROLES: env.roles,
        TESSERA_NATS_ACK_WAIT_MS: '2000',
        TESSERA_PIPELINE_BATCH: '200',
      },
      { port: 0, logLevel: 'silent' },
    ),
    { logger: silent },
  );
}

async function deleteStreams(nats: string, prefix: string) {
  const nc = await connect({ servers: nats });
  const jsm = await jetstreamManager(nc);
  const names = streamNames(prefix);
  for (const s of [names.logStream, names.changeStream]) await jsm.streams.delete(s).catch(() => undefined);
  await nc.close();
}

async function streamMessages(nats: string, stream: string): Promise<number> {
  const nc = await connect({ servers: nats });
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  await nc.close();
  return info.state.messages;
}

async function post(app: App, writeKey: string, calls: unknown[]) {
  const res = await app.http.inject({
    method: 'POST',
    url: '/v1/batch',
    headers: { authorization: basic(writeKey), 'content-type': 'application/json' },
    payload: { batch: calls },
  });
  return { status: res.statusCode, headers: res.headers, body: res.json() };
}

async function get(app: App, token: string, url: string) {
  const res = await app.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, body: res.json() };
}

suite('cluster mode (PostgreSQL + NATS JetStream)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });
  async function setup(roles: string[]) {
    const schema = await createTestSchema(dbUrl as string);
    const prefix = `T${randomBytes(5).toString('hex').toUpperCase()}`;
    cleanups.push(
      () => schema.drop(),
      () => deleteStreams(natsUrl as string, prefix),
    );
    const apps: App[] = [];
    for (const r of roles) {
      const app = await node({ url: schema.url, nats: natsUrl as string, prefix, roles: r });
      apps.push(app);
      cleanups.push(() => app.close());
    }
    const { writeKey } = await apps[0].sources.create({ name: 'web' });
    const { token } = await apps[0].tokens.create('admin', ['admin']);
    return { apps, writeKey, token, prefix, schema };
  }

  it('cluster: one node with every role ingests through JetStream, resolves, and relays the outbox', async () => {
    const { apps, writeKey, token, prefix } = await setup(['api,worker,scheduler']);
    const [app] = apps;
    const calls = [
      { type: 'page', anonymousId: 'a1', name: 'Home', messageId: 'c1', timestamp: '2026-11-01T10:00:00.000Z' },
      {
        type: 'identify',
        userId: 'u1',
        anonymousId: 'a1',
        traits: { email: ' Jane@Example.COM ', plan: 'pro' },
        messageId: 'c2',
        timestamp: '2026-11-01T10:01:00.000Z',
      },
      { type: 'track', userId: 'u1', event: 'Bought', messageId: 'c3', timestamp: '2026-11-01T10:02:00.000Z' },
      { type: 'alias', previousId: 'a2', userId: 'u1', messageId: 'c4', timestamp: '2026-11-01T10:03:00.000Z' },
    ];
    const first = await post(app, writeKey, calls);
    expect(first).toMatchObject({ status: 200, body: { accepted: 4, duplicates: 0 } });
    await app.drain();
    const profile = await get(app, token, '/v1/profiles/by/email/jane@example.com');
    expect(profile.status).toBe(200);
    expect(profile.body.traits).toMatchObject({ plan: 'pro' });
    expect(profile.body.identities).toEqual([
      { type: 'anonymous_id', value: 'a1' },
      { type: 'anonymous_id', value: 'a2' },
      { type: 'email', value: 'jane@example.com' },
      { type: 'user_id', value: 'u1' },
    ]);
    const again = await post(app, writeKey, calls);
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 4 });
    await app.drain();
    const events = await get(app, token, `/v1/profiles/${profile.body.id}/events`);
    expect(events.body.items.map((e: { messageId: string }) => e.messageId).sort()).toEqual(['c1', 'c2', 'c3', 'c4']);
    // Every outbox row went to the change stream, and none is left in the table.
    expect(await app.storage.changes.take(10)).toEqual([]);
    expect(await streamMessages(natsUrl as string, streamNames(prefix).changeStream)).toBeGreaterThanOrEqual(4);
    expect(await app.storage.jobs.lastRun('partitions')).toBeDefined();
  });

  it('cluster: a refused call delivered twice at once (past the ack wait) is quarantined once', async () => {
    const { apps } = await setup(['worker']);
    const [worker] = apps;
    const [source] = await worker.sources.list();
    const sourceId = fromPublicId('source', source.id) as string;
    const entries = (position: number) => [
      {
        position,
        sourceId,
        messageId: 'refused-1',
        receivedAt: Date.now(),
        payload: '{"type":"track"}',
        rejection: { code: 'schema_invalid', reason: '/event: required' },
      },
    ];
    const steps = pipelineSteps(instanceSecret({ secret: randomBytes(32).toString('hex'), dataDir: '.' }));
    // Two transactions of two workers on the same message, started together.
    const outcomes = await Promise.all(
      [1, 2].map((position) =>
        processEntries(worker.storage, steps, entries(position), {
          prepare: (tx, rules) => lockBatch(tx, entries(position), rules),
        }),
      ),
    );
    expect(outcomes.map((o) => o.duplicates).sort()).toEqual([0, 1]);
    expect(await worker.storage.quarantine.list(sourceId, { status: 'open', limit: 10 })).toHaveLength(1);
  });

  it('cluster: a worker-only node refuses ingest with 503, and a redelivered message changes nothing', async () => {
    const { apps, writeKey, token } = await setup(['api', 'worker']);
    const [api, worker] = apps;
    const refused = await post(worker, writeKey, [{ type: 'track', userId: 'u', event: 'E' }]);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    const calls = [{ type: 'identify', userId: 'u9', traits: { email: 'u9@example.com' }, messageId: 'r1' }];
    expect((await post(api, writeKey, calls)).status).toBe(200);
    // The same message published twice (a retry the api could not tell was stored): processed once.
    await api.ingest.accept(await api.sources.get('web'), calls);
    await worker.drain();
    const p = await get(api, token, '/v1/profiles/by/user_id/u9');
    const events = await get(api, token, `/v1/profiles/${p.body.id}/events`);
    expect(events.body.items).toHaveLength(1);
  });

  it.skipIf(!natsServerInstalled())(
    'cluster: NATS unreachable answers 503 with Retry-After, never 200; ingest resumes when it is back',
    async () => {
      const nats = await startPrivateNats();
      cleanups.push(() => nats.remove());
      const schema = await createTestSchema(dbUrl as string);
      cleanups.push(() => schema.drop());
      const app = await node({ url: schema.url, nats: nats.url, prefix: 'OUTAGE', roles: 'api,worker' });
      cleanups.push(() => app.close());
      const { writeKey } = await app.sources.create({ name: 'web' });
      const call = (id: string) => [{ type: 'track', userId: 'u1', event: 'E', messageId: id }];
      expect((await post(app, writeKey, call('before'))).status).toBe(200);
      await nats.stop();
      const during = await post(app, writeKey, call('during'));
      expect(during.status).toBe(503);
      expect(during.body.error.code).toBe('unavailable');
      expect(Number(during.headers['retry-after'])).toBeGreaterThan(0);
      await nats.restart();
      let after = 0;
      for (let i = 0; i < 50 && after !== 200; i++) {
        after = (await post(app, writeKey, call(`after-${i}`))).status;
        if (after !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(after).toBe(200);
      await app.drain();
      expect(await app.storage.processed.existing((await app.sources.get('web')).id, ['before', 'during'])).toEqual(
        new Set(['before']),
      );
    },
    30_000,
  );

  it('cluster: a request near the 500 KB limit is split into messages NATS accepts', async () => {
    const { apps, writeKey, token, prefix } = await setup(['api,worker']);
    const [app] = apps;
    const calls = Array.from({ length: 6000 }, (_, i) => ({ type: 'track', userId: `s${i % 50}`, event: 'E' }));
    const body = JSON.stringify({ batch: calls });
    expect(body.length).toBeLessThan(500 * 1024);
    const res = await post(app, writeKey, calls);
    expect(res.body).toMatchObject({ accepted: 6000 });
    expect(await streamMessages(natsUrl as string, streamNames(prefix).logStream)).toBeGreaterThan(1);
    await app.drain();
    const p = await get(app, token, '/v1/profiles/by/user_id/s7');
    const events = await get(app, token, `/v1/profiles/${p.body.id}/events?limit=1000`);
    expect(events.body.items).toHaveLength(120);
  });

  it('cluster: a message that fails on its own is set aside after repeated deliveries; the others go through', async () => {
    const { apps, writeKey, token, prefix } = await setup(['api', 'worker']);
    const [api, worker] = apps;
    // Not a message the api would write: its source id is not a UUID, which PostgreSQL refuses every time.
    const nc = await connect({ servers: natsUrl as string });
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    await js.publish(
      streamNames(prefix).logSubject,
      encodeLogMessage([
        {
          sourceId: 'not-a-uuid',
          messageId: 'bad',
          receivedAt: Date.now(),
          payload:
            '{"type":"track","userId":"x","event":"E","timestamp":"2026-11-01T00:00:00.000Z","receivedAt":"2026-11-01T00:00:00.000Z","messageId":"bad"}',
        },
      ]),
    );
    await nc.close();
    expect((await post(api, writeKey, [{ type: 'track', userId: 'good', event: 'E', messageId: 'g1' }])).status).toBe(
      200,
    );
    const deadline = Date.now() + 40_000;
    let pending = 1;
    const admin = await connect({ servers: natsUrl as string });
    const jsm = await jetstreamManager(admin);
    while (pending > 0 && Date.now() < deadline) {
      await worker.drain();
      const c = await jsm.consumers.info(streamNames(prefix).logStream, streamNames(prefix).pipelineConsumer);
      pending = c.num_pending + c.num_ack_pending;
      if (pending > 0) await new Promise((r) => setTimeout(r, 500));
    }
    await admin.close();
    expect(pending).toBe(0);
    const p = await get(api, token, '/v1/profiles/by/user_id/good');
    expect(p.status).toBe(200);
  }, 60_000);

  it('cluster: PostgreSQL cut off: the api keeps accepting, the worker pauses and resumes, nothing is lost', async () => {
    const schema = await createTestSchema(dbUrl as string);
    cleanups.push(() => schema.drop());
    const target = new URL(dbUrl as string);
    const proxy = await tcpProxy(target.hostname, Number(target.port || 5432));
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(schema.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const prefix = `T${randomBytes(5).toString('hex').toUpperCase()}`;
    cleanups.push(() => deleteStreams(natsUrl as string, prefix));
    const app = await node({ url: viaProxy.toString(), nats: natsUrl as string, prefix, roles: 'api,worker' });
    cleanups.push(() => app.close());
    const { writeKey } = await app.sources.create({ name: 'web' });
    const { token } = await app.tokens.create('admin', ['admin']);
    await app.sources.warm();
    expect((await post(app, writeKey, [{ type: 'track', userId: 'before', event: 'E', messageId: 'b1' }])).status).toBe(
      200,
    );
    await proxy.cut();
    const during = await post(app, writeKey, [
      { type: 'identify', userId: 'during', traits: { email: 'during@example.com' }, messageId: 'd1' },
      { type: 'track', userId: 'during', event: 'E', messageId: 'd2' },
    ]);
    expect(during.status).toBe(200);
    expect(during.body.accepted).toBe(2);
    await new Promise((r) => setTimeout(r, 2000)); // the worker fails against the cut store and hands batches back
    await proxy.restore();
    let found = 0;
    for (let i = 0; i < 60 && found !== 2; i++) {
      const p = await get(app, token, '/v1/profiles/by/user_id/during');
      if (p.status === 200) found = (await get(app, token, `/v1/profiles/${p.body.id}/events`)).body.items.length;
      if (found !== 2) await new Promise((r) => setTimeout(r, 500));
    }
    expect(found).toBe(2);
    expect((await get(app, token, '/v1/profiles/by/email/during@example.com')).status).toBe(200);
  }, 60_000);

  it('cluster: a key rotated on one api node is refused by the others at once, the new key accepted', async () => {
    const { apps, writeKey } = await setup(['api', 'api']);
    const [a, b] = apps;
    const call = (id: string) => [{ type: 'track', userId: 'u', event: 'E', messageId: id }];
    expect((await post(b, writeKey, call('k1'))).status).toBe(200); // b now holds the key in memory
    const { writeKey: rotated } = await a.sources.rotateKey('web');
    let oldRefused = false;
    let newAccepted = false;
    for (let i = 0; i < 40 && !(oldRefused && newAccepted); i++) {
      oldRefused = (await post(b, writeKey, call(`k2-${i}`))).status === 401;
      newAccepted = (await post(b, rotated, call(`k3-${i}`))).status === 200;
      if (!(oldRefused && newAccepted)) await new Promise((r) => setTimeout(r, 100));
    }
    expect({ oldRefused, newAccepted }).toEqual({ oldRefused: true, newAccepted: true });
  });

  it('cluster: an erasure on one api node is suppressed by another at once, over the bus, with its store cut off', async () => {
    const { apps, writeKey, token, prefix, schema } = await setup(['api']);
    const [a] = apps;
    // b reaches PostgreSQL through a proxy, cut before the erasure: only the change bus can tell it.
    const target = new URL(dbUrl as string);
    const proxy = await tcpProxy(target.hostname, Number(target.port || 5432));
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(schema.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const b = await node({ url: viaProxy.toString(), nats: natsUrl as string, prefix, roles: 'api' });
    cleanups.push(() => b.close());
    const call = (id: string) => [
      { type: 'identify', userId: `gone-${id}`, traits: { email: 'Gone@Example.com' }, messageId: id },
    ];
    expect((await post(b, writeKey, call('s1'))).status).toBe(200); // b holds the key in memory
    const suppressedAtIngest = async () =>
      (await b.metrics.suppressed.get()).values.find((v) => v.labels.where === 'ingest')?.value ?? 0;
    expect(await suppressedAtIngest()).toBe(0);
    await proxy.cut();
    const request = await a.http.inject({
      method: 'POST',
      url: '/v1/privacy/requests',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: { type: 'erase', identifier: { type: 'email', value: 'gone@example.com' } },
    });
    expect(request.statusCode).toBe(201);
    await a.privacy.settled(request.json().id);
    let suppressed = 0;
    for (let i = 0; i < 40 && suppressed === 0; i++) {
      const res = await post(b, writeKey, call(`s2-${i}`));
      expect(res.status).toBe(200); // acknowledged like any call: the sender learns nothing
      suppressed = await suppressedAtIngest();
      if (suppressed === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(suppressed).toBe(1);
  });

  it('cluster: two workers on overlapping identities give the partition and traits of the embedded pipeline', async () => {
    const { apps, writeKey, token } = await setup(['api', 'worker', 'worker']);
    const [api, w1, w2] = apps;
    const batches = overlappingBatches(120, 40);
    const embedded = await createTestApp();
    cleanups.push(() => embedded.app.close());
    for (const b of batches) {
      expect((await post(api, writeKey, b)).status).toBe(200);
      expect((await embedded.send(b)).status).toBe(200);
    }
    await embedded.app.drain();
    // Both workers pull from the shared consumer at once; drain until nothing is pending.
    await Promise.all([w1.drain(), w2.drain()]);
    await w1.drain();
    const clusterView = await canonical((u) => get(api, token, u), 120);
    const embeddedView = await canonical((u) => embedded.get(u), 120);
    expect(clusterView.partition).toEqual(embeddedView.partition);
    expect(clusterView.traits).toEqual(embeddedView.traits);
  });

  it('cluster: two workers route the change stream to a webhook and deliver each event once; a replay reaches it', async () => {
    const receiver = await startStandIn((c) => ({ status: c.path === '/fail' ? 422 : 200 }));
    cleanups.push(() => receiver.close());
    const { apps, writeKey } = await setup(['api', 'worker', 'worker']);
    const [api, w1, w2] = apps;
    const hook = await api.destinations.create(
      {
        name: 'hook',
        type: 'webhook',
        config: { url: `${receiver.url}/ok`, batchSize: 25 },
        subscription: { events: { names: ['Order Completed'] } },
        purpose: null,
      },
      'test',
    );
    const failing = await api.destinations.create(
      {
        name: 'failing',
        type: 'webhook',
        config: { url: `${receiver.url}/fail` },
        subscription: { events: { names: ['Order Completed'] } },
        purpose: null,
      },
      'test',
    );
    // The workers reload destinations every 5 s; here at once.
    await Promise.all([w1.activation?.refresh(), w2.activation?.refresh()]);
    const calls = Array.from({ length: 200 }, (_, i) => ({
      type: 'track',
      event: i % 4 === 3 ? 'Page Viewed' : 'Order Completed',
      userId: `buyer-${i % 17}`,
      messageId: `order-${i}`,
    }));
    for (let i = 0; i < calls.length; i += 50)
      expect((await post(api, writeKey, calls.slice(i, i + 50))).status).toBe(200);
    const received = () =>
      receiver.calls
        .filter((c) => c.path === '/ok')
        .flatMap((c) => (c.json as { batch: { id: string; event: { messageId: string } }[] }).batch);
    for (let i = 0; i < 300 && new Set(received().map((m) => m.event.messageId)).size < 150; i++)
      await new Promise((r) => setTimeout(r, 100));
    const byEvent = new Map<string, Set<string>>();
    for (const m of received()) byEvent.set(m.event.messageId, (byEvent.get(m.event.messageId) ?? new Set()).add(m.id));
    expect(byEvent.size).toBe(150);
    expect([...byEvent.values()].every((ids) => ids.size === 1)).toBe(true);
    await until(async () => (await api.destinations.stats(failing.id)).counts.dead === 150);
    // Fixed: the same messages, replayed from the api node, are delivered by a worker.
    await api.destinations.update(failing.id, { config: { url: `${receiver.url}/ok` } }, 'test');
    await Promise.all([w1.activation?.refresh(), w2.activation?.refresh()]);
    expect(await api.destinations.replay(failing.id)).toEqual({ replayed: 150 });
    await until(async () => (await api.destinations.stats(failing.id)).counts.delivered === 150);
    expect((await api.destinations.stats(hook.id)).counts).toMatchObject({ delivered: 150, pending: 0, dead: 0 });
  }, 60_000);

  it('cluster: an erasure purges the person from the log and change streams, keeps the others, suppresses them', async () => {
    const receiver = await startStandIn(() => ({ status: 200 }));
    cleanups.push(() => receiver.close());
    const { apps, prefix } = await setup(['api,worker,scheduler']);
    const [app] = apps;
    const person = await loadPerson(app, `${receiver.url}/hook`);
    const done = await eraseZoe(app, person.call, [
      'events',
      'profiles',
      'identities',
      'merges',
      'quarantine',
      'deliveries',
    ]);
    expect(done.proof.streams.logMessagesErased).toBeGreaterThan(0);
    // The other person's entries shared the web request's message: appended again.
    expect(done.proof.streams.entriesRepublished).toBeGreaterThan(0);
    expect(done.proof.streams.changeMessagesErased).toBeGreaterThan(0);
    const names = streamNames(prefix);
    const found: string[] = [];
    let otherSeen = false;
    const nc = await connect({ servers: natsUrl as string });
    try {
      const jsm = await jetstreamManager(nc);
      for (const stream of [names.logStream, names.changeStream]) {
        const info = await jsm.streams.info(stream);
        for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
          const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
          if (!m) continue;
          const text = Buffer.from(m.data).toString('utf8');
          for (const n of needles(person.profileId)) if (text.includes(n)) found.push(`${stream} ${seq}: ${n}`);
          if (text.includes(OTHER.email)) otherSeen = true;
        }
      }
    } finally {
      await nc.close();
    }
    expect(found).toEqual([]);
    expect(otherSeen).toBe(true);
    await sendAgain(app, person);
  }, 60_000);
});

async function until(ok: () => Promise<boolean>, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `people` people, each with a user id, an e-mail and two devices: anonymous page views on each device, an
 * identify joining one device to the user, an alias joining the other, a purchase; every call a distinct time so
 * "latest value" is the same whatever the processing order. Batches mix people, so batches overlap in identities.
 */
function overlappingBatches(people: number, perBatch: number): unknown[][] {
  const calls: unknown[] = [];
  const t0 = Date.UTC(2026, 10, 1);
  let n = 0;
  const at = () => new Date(t0 + n++ * 1000).toISOString();
  for (let i = 0; i < people; i++) {
    calls.push({ type: 'page', anonymousId: `d${i}a`, name: 'Home', timestamp: at(), messageId: `m${n}` });
    calls.push({ type: 'page', anonymousId: `d${i}b`, name: 'Shop', timestamp: at(), messageId: `m${n}` });
    calls.push({
      type: 'identify',
      userId: `u${i}`,
      anonymousId: `d${i}a`,
      traits: { email: `p${i}@example.com`, plan: i % 2 ? 'pro' : 'free' },
      timestamp: at(),
      messageId: `m${n}`,
    });
    calls.push({ type: 'alias', previousId: `d${i}b`, userId: `u${i}`, timestamp: at(), messageId: `m${n}` });
    calls.push({ type: 'identify', userId: `u${i}`, traits: { plan: 'gold' }, timestamp: at(), messageId: `m${n}` });
  }
  // A fixed shuffle: each person's calls land in several batches.
  let seed = 7;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = calls.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [calls[i], calls[j]] = [calls[j], calls[i]];
  }
  const out: unknown[][] = [];
  for (let i = 0; i < calls.length; i += perBatch) out.push(calls.slice(i, i + perBatch));
  return out;
}

/** The canonical form of a result: each person's identifier set and traits, by user id (generated ids ignored). */
async function canonical(getter: (url: string) => Promise<{ status: number; body: any }>, people: number) {
  const partition: string[][] = [];
  const traits: Record<string, unknown>[] = [];
  for (let i = 0; i < people; i++) {
    const p = await getter(`/v1/profiles/by/user_id/u${i}`);
    expect(p.status).toBe(200);
    partition.push(p.body.identities.map((x: { type: string; value: string }) => `${x.type}:${x.value}`).sort());
    traits.push(p.body.traits);
  }
  return { partition, traits };
}
