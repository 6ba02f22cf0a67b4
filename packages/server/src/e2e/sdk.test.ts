/**
 * End to end: the REAL `tessera` process (built `dist/`), driven by the real Segment and RudderStack Node SDKs.
 *
 * One person browses anonymously on a first device (Segment SDK), logs in and orders; a second device (RudderStack
 * SDK, gzip) browses anonymously and logs in with the same user id. Afterwards exactly one profile holds every
 * identifier (normalised) and the whole timeline. A second user id that reuses the e-mail stays apart. Duplicates
 * (same messageId), before and after a restart of the process on the same data directory, change nothing.
 *
 * Needs `npm run build` (CI builds through `npm ci`). Without `dist/cli/main.js` it fails under CI and is skipped
 * with a printed reason otherwise.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect as connectNats } from '@nats-io/transport-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import { toPublicId } from '@tessera/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, testDatabaseUrl } from '../test/databases.js';
import { testNatsUrl } from '../test/nats.js';
import { embeddedEnv, freePort } from '../test/processes.js';

const SERVER_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(SERVER_ROOT, 'bin', 'tessera.js');
const MAIN = path.join(SERVER_ROOT, 'dist', 'cli', 'main.js');
const REPO_ROOT = path.resolve(SERVER_ROOT, '..', '..');

const BUILT = existsSync(MAIN);
const IN_CI = ['1', 'true', 'yes'].includes((process.env.CI ?? '').toLowerCase());
const TIMEOUT = 60_000;
const PROCESSING_WAIT = 15_000;

if (!BUILT && !IN_CI) {
  console.warn(`[e2e/sdk] skipped: ${MAIN} is missing; run \`npm run build\` first`);
}

describe.runIf(!BUILT && IN_CI)('e2e prerequisites', () => {
  it('has a built server', () => {
    expect.fail(`${MAIN} is missing: CI must build the server (npm ci runs npm run build) before the e2e tests`);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The server process

interface Server {
  proc: ChildProcess;
  url: string;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitedNow: boolean;
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: REPO_ROOT, env: embeddedEnv(env), timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`tessera ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function startServer(target: Target): Promise<Server> {
  const port = await freePort();
  const proc = spawn(process.execPath, [BIN, 'serve', ...target.args, '--port', String(port)], {
    cwd: REPO_ROOT,
    env: embeddedEnv(target.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (output.length > 300) output.splice(0, output.length - 300);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const server: Server = {
    proc,
    url: `http://127.0.0.1:${port}`,
    output,
    exitedNow: false,
    exited: new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        server.exitedNow = true;
        resolve({ code, signal });
      }),
    ),
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (server.exitedNow) throw new Error(`tessera serve exited before it was healthy:\n${output.join('\n')}`);
    try {
      const res = await fetch(`${server.url}/healthz`);
      if (res.status === 200 && ((await res.json()) as { status?: string }).status === 'ok') return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopServer(server);
      throw new Error(`tessera serve was not healthy within 20 s:\n${output.join('\n')}`);
    }
    await sleep(100);
  }
}

/** SIGTERM, then SIGKILL after 5 s; answers how the process ended. */
async function stopServer(server: Server): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (!server.exitedNow) server.proc.kill('SIGTERM');
  const graceful = await Promise.race([server.exited, sleep(5_000).then(() => undefined)]);
  if (graceful) return graceful;
  server.proc.kill('SIGKILL');
  return server.exited;
}

// ---------------------------------------------------------------------------------------------------------------
// Test state and HTTP helpers

/**
 * Where the server keeps its data: a data directory (embedded), or a PostgreSQL schema and a JetStream prefix
 * (cluster mode: one process with every role, the log on JetStream, the pipeline a JetStream consumer).
 */
interface Target {
  args: string[];
  env: Record<string, string>;
  drop(): Promise<void>;
}

interface Mode {
  name: string;
  skip?: string;
  target(): Promise<Target>;
}

function modes(): Mode[] {
  const dbUrl = testDatabaseUrl();
  const natsUrl = testNatsUrl();
  return [
    {
      name: 'embedded',
      async target() {
        tmp = mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-'));
        const dataDir = path.join(tmp, 'data');
        return { args: ['--data', dataDir], env: {}, drop: async () => rmSync(tmp, { recursive: true, force: true }) };
      },
    },
    {
      name: 'cluster mode (PostgreSQL + NATS JetStream)',
      skip: !dbUrl || !natsUrl ? 'TESSERA_TEST_DATABASE_URL or TESSERA_TEST_NATS_URL is not set' : undefined,
      async target() {
        const schema = await createTestSchema(dbUrl as string);
        const prefix = `E2E${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;
        return {
          args: [],
          env: {
            TESSERA_DATABASE_URL: schema.url,
            TESSERA_NATS_URL: natsUrl as string,
            TESSERA_NATS_PREFIX: prefix,
          },
          drop: () => schema.drop(),
        };
      },
    },
  ];
}

let tmp: string;
let target: Target;
let server: Server | undefined;
let writeKey: string;
let adminToken: string;

/** The parts of the API's answers the test reads (DESIGN §9). */
interface Identity {
  type: string;
  value: string;
}
interface Profile {
  id: string;
  traits: Record<string, unknown>;
  identities: Identity[];
  createdAt: string;
  updatedAt: string;
  mergedIds: string[];
}
interface EventItem {
  id: string;
  type: string;
  event?: string;
  name?: string;
  messageId: string;
  timestamp: string;
  receivedAt: string;
  sourceId: string;
  userId: string | null;
  anonymousId: string | null;
  properties: Record<string, unknown>;
  traits: Record<string, unknown>;
  context: Record<string, unknown> & { library?: unknown };
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes, narrowed by the callers
async function api(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server!.url}${url}`, { headers: { authorization: `Bearer ${adminToken}` } });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body };
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, narrowed by the callers
async function apiSend(method: string, url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server!.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** A change as a bus consumer sees it (ids public on the HTTP bus, bare on JetStream: compared by the caller). */
interface BusChange {
  kind: string;
  profileId: string;
  payload: { audienceKey?: string };
}

/**
 * A consumer of the change bus from now on: the embedded bus polled over `GET /v1/changes` (every 20 ms), or, in
 * cluster mode, a subscription to the JetStream stream's subject (profile ids made public to compare).
 */
async function watchBus(modeName: string, t: Target) {
  const seen: BusChange[] = [];
  let close = async () => {};
  if (t.env.TESSERA_NATS_PREFIX) {
    const nc = await connectNats({ servers: t.env.TESSERA_NATS_URL });
    const sub = nc.subscribe(`${t.env.TESSERA_NATS_PREFIX.toLowerCase()}.changes`, {
      callback: (_err, msg) => {
        const c = msg.json<BusChange>();
        seen.push({ ...c, profileId: toPublicId('profile', c.profileId) });
      },
    });
    await nc.flush();
    close = async () => {
      sub.unsubscribe();
      await nc.close();
    };
  } else {
    let after = '0';
    for (;;) {
      const page = await api(`/v1/changes?after=${after}&limit=1000`);
      if (page.body.nextCursor === null) break;
      after = page.body.nextCursor;
    }
    let polling = true;
    const loop = (async () => {
      while (polling) {
        const page = await api(`/v1/changes?after=${after}&limit=1000`);
        seen.push(...page.body.items);
        if (page.body.nextCursor !== null) after = page.body.nextCursor;
        await sleep(20);
      }
    })();
    close = async () => {
      polling = false;
      await loop;
    };
  }
  return {
    close,
    next: (match: (c: BusChange) => boolean) =>
      waitFor(`a matching change on the bus (${modeName})`, async () => seen.find(match), 5_000),
  };
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server!.url}/metrics`)).text();
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) total = (total ?? 0) + Number(m[3]);
  }
  if (total === undefined) throw new Error(`metric ${name} not exported by /metrics`);
  return total;
}

/** Polls `probe` until it answers something other than `undefined`; bounded. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = PROCESSING_WAIT): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}\n` +
          `server output:\n${server?.output.slice(-40).join('\n')}`,
      );
    }
    await sleep(100);
  }
}

const enc = encodeURIComponent;

async function profileBy(type: string, value: string): Promise<Profile | undefined> {
  const r = await api(`/v1/profiles/by/${type}/${enc(value)}`);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET profile by ${type}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function timeline(profileId: string): Promise<EventItem[]> {
  const r = await api(`/v1/profiles/${profileId}/events?limit=1000`);
  expect(r.status).toBe(200);
  expect(r.body.nextCursor).toBeNull();
  return r.body.items;
}

/**
 * The profile holding `type/value` and its timeline, if that timeline holds every one of `messageIds` yet. The
 * profile is read again after the timeline: an event and its effects on the profile commit together, but the first
 * read may come before the commit of an event the timeline then shows (in cluster mode, a batch handed back after a
 * transient store failure is processed after later calls, so an earlier call's traits can land last).
 */
async function timelineWith(type: string, value: string, messageIds: string[]) {
  const first = await profileBy(type, value);
  if (!first) return undefined;
  const items = await timeline(first.id);
  const seen = new Set(items.map((e) => e.messageId));
  if (!messageIds.every((m) => seen.has(m))) return undefined;
  const profile = await profileBy(type, value);
  return profile?.id === first.id ? { profile, items } : undefined;
}

/** Waits (bounded) until the profile holding `type/value` shows every one of `messageIds`. */
function waitForTimeline(type: string, value: string, messageIds: string[]) {
  return waitFor(`${type} ${value} to show ${messageIds.length} events`, () => timelineWith(type, value, messageIds));
}

// ---------------------------------------------------------------------------------------------------------------
// SDK clients (each records the answers of the server, which the SDKs do not surface)

interface TrackingAnswer {
  success: boolean;
  accepted: number;
  duplicates: number;
  quarantined: unknown[];
}

function segmentClient(answers: TrackingAnswer[], flushAt: number) {
  return new SegmentAnalytics({
    writeKey,
    host: server!.url,
    flushAt,
    maxRetries: 3,
    httpClient: async (url, init) => {
      const res = await fetch(url, init);
      answers.push((await res.clone().json()) as TrackingAnswer);
      return res;
    },
  });
}

function rudderClient(answers: TrackingAnswer[]) {
  return new RudderAnalytics(writeKey, {
    dataPlaneUrl: server!.url,
    flushAt: 1,
    retryCount: 3,
    logLevel: 'error',
    axiosConfig: {
      // Keeps the raw answer (the SDK's callback only says whether the request succeeded).
      transformResponse: [
        (data: unknown) => {
          answers.push(JSON.parse(typeof data === 'string' ? data : String(data)));
          return data;
        },
      ],
    },
  });
}

/** Resolves when the SDK reports the call acknowledged (its callback without an error); rejects otherwise. */
function acked(send: (callback: (err?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) =>
    send((err) => (err ? reject(new Error(`call not acknowledged: ${String(err)}`)) : resolve())),
  );
}

const sum = (answers: TrackingAnswer[], key: 'accepted' | 'duplicates') => answers.reduce((n, a) => n + a[key], 0);

// ---------------------------------------------------------------------------------------------------------------
// The scenario

const USER = 'u-jane-1001';
const USER2 = 'u-janet-2002';
const ANON1 = `ajs-${randomUUID()}`; // a browser's analytics.js anonymous id
const ANON2 = `rs-${randomUUID()}`; // the second device
const EMAIL_RAW = '  Jane.Doe@Example.COM ';
const EMAIL = 'jane.doe@example.com';
const PHONE_RAW = '(201) 555-0123';
const PHONE = '+12015550123';
const T0 = Date.now() - 60 * 60_000; // the first device's calls happened an hour ago
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

const pageContext = (p: string, title: string) => ({
  page: { path: p, url: `https://shop.example${p}`, title, referrer: 'https://search.example/?q=shoes', search: '' },
  userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15',
  locale: 'en-US',
});

/** Every message id of Jane's timeline, newest first (filled as the scenario goes). */
const expectedTimeline: string[] = [];
/** The auto-generated message id of the first page view (Segment SDK), reused to test de-duplication. */
let firstPageId: string;
/** Jane's profile and timeline as they must stay from the third step on. */
let janeSnapshot: { profile: Profile; items: EventItem[] };

for (const mode of modes()) {
  if (mode.skip) console.warn(`[e2e/sdk] ${mode.name} skipped: ${mode.skip}`);
  describe.skipIf(!BUILT || mode.skip !== undefined)(
    `Segment and RudderStack SDKs against the real server process, ${mode.name}`,
    () => {
      beforeAll(async () => {
        expectedTimeline.length = 0;
        target = await mode.target();
        const init = await runCli(['init', ...target.args, '--json'], target.env);
        const secrets = JSON.parse(init.stdout.trim()) as { writeKey: string; adminToken: string };
        expect(secrets.writeKey).toMatch(/\S{20,}/);
        expect(secrets.adminToken).toMatch(/\S{20,}/);
        ({ writeKey, adminToken } = secrets);
        server = await startServer(target);
      }, TIMEOUT);

      afterAll(async () => {
        if (server) await stopServer(server);
        server = undefined;
        await target?.drop();
      }, TIMEOUT);

      it(
        'first device (Segment SDK): anonymous page views, identify with raw e-mail and phone, then an order',
        async () => {
          const answers: TrackingAnswer[] = [];
          const segment = segmentClient(answers, 1);
          let generatedId: string | undefined;
          await acked((cb) =>
            segment.page(
              {
                anonymousId: ANON1,
                name: 'Home',
                properties: { path: '/', title: 'Shop' },
                context: pageContext('/', 'Shop'),
                timestamp: at(0),
              },
              (err, ctx) => {
                generatedId = ctx?.event.messageId;
                cb(err);
              },
            ),
          );
          expect(generatedId).toEqual(expect.any(String));
          firstPageId = generatedId!;
          await acked((cb) =>
            segment.page(
              {
                anonymousId: ANON1,
                name: 'Product',
                messageId: 'seg-page-2',
                properties: { path: '/products/42', title: 'Trail shoe' },
                context: pageContext('/products/42', 'Trail shoe'),
                timestamp: at(1),
              },
              cb,
            ),
          );
          await acked((cb) =>
            segment.identify(
              {
                userId: USER,
                anonymousId: ANON1,
                messageId: 'seg-identify-1',
                traits: { email: EMAIL_RAW, phone: PHONE_RAW, firstName: 'Jane' },
                context: pageContext('/login', 'Log in'),
                timestamp: at(2),
              },
              cb,
            ),
          );
          await acked((cb) =>
            segment.track(
              {
                userId: USER,
                anonymousId: ANON1,
                event: 'Order Completed',
                messageId: 'seg-order-1',
                properties: { total: 42.5, orderId: 'order-1001', currency: 'USD' },
                context: pageContext('/checkout/done', 'Thank you'),
                timestamp: at(3),
              },
              cb,
            ),
          );
          await segment.closeAndFlush();
          // flushAt 1: one request per call, each stored.
          expect(answers).toEqual(Array(4).fill({ success: true, accepted: 1, duplicates: 0, quarantined: [] }));
          expectedTimeline.push('seg-order-1', 'seg-identify-1', 'seg-page-2', firstPageId);

          const { profile, items } = await waitForTimeline('user_id', USER, expectedTimeline);
          expect(profile.identities).toEqual([
            { type: 'anonymous_id', value: ANON1 },
            { type: 'email', value: EMAIL },
            { type: 'phone', value: PHONE },
            { type: 'user_id', value: USER },
          ]);
          expect(items.map((e) => e.messageId)).toEqual(expectedTimeline);
          const order = items.find((e) => e.messageId === 'seg-order-1');
          expect(order).toMatchObject({
            type: 'track',
            event: 'Order Completed',
            userId: USER,
            anonymousId: ANON1,
            properties: { total: 42.5, orderId: 'order-1001', currency: 'USD' },
          });
          // Segment's timestamp, corrected by the upload delay only (sentAt − timestamp replayed on the server clock).
          expect(Math.abs(Date.parse(order!.timestamp) - at(3).getTime())).toBeLessThan(5_000);
          const home = items.find((e) => e.messageId === firstPageId);
          expect(home).toMatchObject({
            type: 'page',
            name: 'Home',
            anonymousId: ANON1,
            properties: { path: '/', title: 'Shop' },
            context: { page: { path: '/', url: 'https://shop.example/', referrer: 'https://search.example/?q=shoes' } },
          });
          expect(home!.context.library).toMatchObject({ name: '@segment/analytics-node' });
        },
        TIMEOUT,
      );

      it(
        'second device (RudderStack SDK, gzip): anonymous page and track, then identify → one profile, one timeline',
        async () => {
          const answers: TrackingAnswer[] = [];
          const rudder = rudderClient(answers);
          const calls: [string, (cb: (err?: unknown) => void) => void][] = [
            [
              'rs-page-1',
              (cb) => {
                const message = {
                  anonymousId: ANON2,
                  name: 'Home',
                  messageId: 'rs-page-1',
                  properties: { path: '/' },
                  context: pageContext('/', 'Shop'),
                };
                rudder.page(message, cb);
              },
            ],
            [
              'rs-track-1',
              (cb) => {
                const message = {
                  anonymousId: ANON2,
                  event: 'Product Viewed',
                  messageId: 'rs-track-1',
                  properties: { productId: '42', price: 89.9 },
                };
                rudder.track(message, cb);
              },
            ],
            [
              'rs-identify-1',
              (cb) => {
                const message = {
                  userId: USER,
                  anonymousId: ANON2,
                  messageId: 'rs-identify-1',
                  traits: { firstName: 'Jane', plan: 'gold' },
                };
                rudder.identify(message, cb);
              },
            ],
            [
              'rs-track-2',
              (cb) => {
                const message = {
                  userId: USER,
                  anonymousId: ANON2,
                  event: 'Cart Viewed',
                  messageId: 'rs-track-2',
                  properties: { items: 1 },
                };
                rudder.track(message, cb);
              },
            ],
          ];
          for (const [messageId, send] of calls) {
            await acked(send);
            expectedTimeline.unshift(messageId);
            await sleep(5); // distinct receive times, so "newest first" has one answer
          }
          await rudder.flush();
          expect(answers).toEqual(Array(4).fill({ success: true, accepted: 1, duplicates: 0, quarantined: [] }));

          const { profile, items } = await waitFor('both devices in one profile', async () => {
            const r = await timelineWith('user_id', USER, expectedTimeline);
            return r?.profile.identities.some((i) => i.value === ANON2) ? r : undefined;
          });
          // Exactly one profile holds every identifier, normalised.
          expect(profile.identities).toEqual(
            [
              { type: 'anonymous_id', value: ANON1 },
              { type: 'anonymous_id', value: ANON2 },
              { type: 'email', value: EMAIL },
              { type: 'phone', value: PHONE },
              { type: 'user_id', value: USER },
            ].sort((a, b) => a.type.localeCompare(b.type) || a.value.localeCompare(b.value)),
          );
          expect(profile.traits).toMatchObject({ firstName: 'Jane', plan: 'gold' });
          // Traits are kept as sent (the identities above are the normalised values).
          expect(String(profile.traits.email).trim().toLowerCase()).toBe(EMAIL);
          expect(profile.traits.phone).toBeDefined();
          for (const [type, value] of [
            ['anonymous_id', ANON1],
            ['anonymous_id', ANON2],
            ['email', EMAIL],
            ['email', EMAIL_RAW], // looked up through the same normalisation
            ['phone', PHONE],
            ['phone', PHONE_RAW],
            ['user_id', USER],
          ]) {
            const p = await profileBy(type, value);
            expect(p?.id, `${type} ${JSON.stringify(value)}`).toBe(profile.id);
          }
          // No other (merged-away) profile is listed: the two devices' visitors are one person.
          const all = await api('/v1/profiles?limit=1000');
          expect(all.status).toBe(200);
          expect(all.body.items.map((p: Profile) => p.id)).toEqual([profile.id]);
          for (const q of [ANON2, EMAIL, PHONE]) {
            const found = await api(`/v1/profiles?q=${enc(q)}`);
            expect(
              found.body.items.map((p: Profile) => p.id),
              `search ${q}`,
            ).toEqual([profile.id]);
          }

          // The full timeline across both SDKs: every messageId once, newest first.
          const ids = items.map((e) => e.messageId);
          expect(new Set(ids).size).toBe(ids.length);
          expect(ids).toEqual(expectedTimeline);
          const times = items.map((e) => Date.parse(e.timestamp));
          expect(times).toEqual([...times].sort((a, b) => b - a));
          expect(new Set(items.map((e) => e.sourceId)).size).toBe(1);
          expect(items.find((e) => e.messageId === 'rs-track-1')).toMatchObject({
            type: 'track',
            event: 'Product Viewed',
            anonymousId: ANON2,
            properties: { productId: '42', price: 89.9 },
          });
          expect(items.find((e) => e.messageId === 'rs-page-1')).toMatchObject({
            type: 'page',
            name: 'Home',
            context: { page: { path: '/' } },
          });

          const merges = await api(`/v1/profiles/${profile.id}/merges`);
          expect(merges.status).toBe(200);
          expect(merges.body.items.length).toBeGreaterThanOrEqual(1);
          expect(await metric('tessera_merges_total')).toBeGreaterThanOrEqual(1);
          expect(await metric('tessera_events_stored_total')).toBe(expectedTimeline.length);
          if (process.platform === 'linux') {
            // CPU by thread: the embedded server's threads each report in; in cluster mode, the main thread only.
            const text = await (await fetch(`${server!.url}/metrics`)).text();
            const threads = [...text.matchAll(/^tessera_thread_cpu_seconds\{thread="(\w+)"\} /gm)].map((m) => m[1]);
            expect(threads.sort()).toEqual(
              mode.name === 'embedded' ? ['checkpointer', 'log', 'main', 'other', 'writer'] : ['main', 'other'],
            );
            // Time waiting for a core, by named thread (schedstat: present on this kernel, as in CI).
            const waits = [...text.matchAll(/^tessera_thread_wait_seconds\{thread="(\w+)"\} (\S+)/gm)];
            expect(waits.map((m) => m[1]).sort()).toEqual(
              mode.name === 'embedded' ? ['checkpointer', 'log', 'main', 'writer'] : ['main'],
            );
            for (const m of waits) expect(Number(m[2])).toBeGreaterThanOrEqual(0);
          }
        },
        TIMEOUT,
      );

      it(
        'a second user id that reuses the e-mail stays a separate profile; the first is unchanged',
        async () => {
          const before = await waitForTimeline('user_id', USER, expectedTimeline);
          const answers: TrackingAnswer[] = [];
          const segment = segmentClient(answers, 1);
          await acked((cb) =>
            segment.identify(
              { userId: USER2, messageId: 'seg-identify-2', traits: { email: EMAIL, firstName: 'Janet' } },
              cb,
            ),
          );
          await segment.closeAndFlush();
          expect(answers).toEqual([{ success: true, accepted: 1, duplicates: 0, quarantined: [] }]);

          const { profile: janet, items: janetItems } = await waitForTimeline('user_id', USER2, ['seg-identify-2']);
          expect(janet.id).not.toBe(before.profile.id);
          expect(janet.identities).toEqual([{ type: 'user_id', value: USER2 }]);
          expect(janet.traits).toMatchObject({ firstName: 'Janet' });
          expect(janetItems.map((e) => e.messageId)).toEqual(['seg-identify-2']);
          const decisions = (await api(`/v1/profiles/${janet.id}/merges`)).body.decisions;
          expect(decisions).toMatchObject([{ kind: 'drop', identifier: { type: 'email', value: EMAIL } }]);

          const after = await waitForTimeline('user_id', USER, expectedTimeline);
          expect(after.profile).toEqual(before.profile);
          expect(after.items).toEqual(before.items);
          expect((await profileBy('email', EMAIL))?.id).toBe(before.profile.id);
          janeSnapshot = after;
        },
        TIMEOUT,
      );

      /**
       * Sends duplicates of Jane's calls through both SDKs (the identify resent with other traits: a messageId is the
       * key, not the content), plus new calls of a throw-away visitor, the last of which proves the pipeline has
       * caught up. Checks the answers, the unchanged profile and timeline, and the stored counter.
       */
      async function sendDuplicatesAndCheck(round: string) {
        const storedBefore = await metric('tessera_events_stored_total');
        const duplicatesBefore = await metric('tessera_events_duplicate_total');
        const visitor = `visitor-${round}`;

        const segAnswers: TrackingAnswer[] = [];
        const segment = segmentClient(segAnswers, 4);
        const batch = [
          acked((cb) =>
            segment.track(
              {
                userId: USER,
                anonymousId: ANON1,
                event: 'Order Completed',
                messageId: 'seg-order-1',
                properties: { total: 42.5, orderId: 'order-1001', currency: 'USD' },
                timestamp: at(3),
              },
              cb,
            ),
          ),
          acked((cb) =>
            segment.identify(
              {
                userId: USER,
                messageId: 'seg-identify-1',
                traits: { firstName: 'Changed', email: 'other@example.com' },
              },
              cb,
            ),
          ),
          acked((cb) =>
            segment.page(
              { anonymousId: ANON1, name: 'Home', messageId: firstPageId, context: pageContext('/', 'Shop') },
              cb,
            ),
          ),
          acked((cb) => segment.track({ anonymousId: visitor, event: 'Visited', messageId: `${visitor}-seg` }, cb)),
        ];
        await Promise.all(batch);
        await segment.closeAndFlush();
        // flushAt 4: one request; the three copies of processed calls are counted as duplicates.
        expect(segAnswers).toEqual([{ success: true, accepted: 1, duplicates: 3, quarantined: [] }]);

        const rsAnswers: TrackingAnswer[] = [];
        const rudder = rudderClient(rsAnswers);
        const trackCopy = { anonymousId: ANON2, event: 'Product Viewed', messageId: 'rs-track-1', properties: {} };
        await acked((cb) => rudder.track(trackCopy, cb));
        const identifyCopy = { userId: USER, anonymousId: ANON2, messageId: 'rs-identify-1', traits: { plan: 'lead' } };
        await acked((cb) => rudder.identify(identifyCopy, cb));
        // A new call sent twice before the pipeline could process it: the pipeline must keep one.
        const fresh = { anonymousId: visitor, event: 'Visited again', messageId: `${visitor}-rs` };
        await Promise.all([acked((cb) => rudder.track(fresh, cb)), acked((cb) => rudder.track({ ...fresh }, cb))]);
        await rudder.flush();
        expect(rsAnswers.slice(0, 2)).toEqual(
          Array(2).fill({ success: true, accepted: 0, duplicates: 1, quarantined: [] }),
        );
        expect(rsAnswers).toHaveLength(4);
        // The second copy of the new call is a duplicate at ingest or in the pipeline, never stored twice.
        expect(sum(rsAnswers.slice(2), 'accepted') + sum(rsAnswers.slice(2), 'duplicates')).toBe(2);
        expect(sum(rsAnswers.slice(2), 'accepted')).toBeGreaterThanOrEqual(1);

        // The log is processed in order: once the visitor's calls show, everything sent before has been processed.
        const { items: visitorItems } = await waitForTimeline('anonymous_id', visitor, [
          `${visitor}-seg`,
          `${visitor}-rs`,
        ]);
        expect(visitorItems.map((e) => e.messageId).sort()).toEqual([`${visitor}-rs`, `${visitor}-seg`]);
        await waitFor('an empty backlog', async () =>
          (await metric('tessera_pipeline_backlog_events')) === 0 ? true : undefined,
        );

        expect(await metric('tessera_events_stored_total')).toBe(storedBefore + 2); // the visitor's two calls only
        expect(await metric('tessera_events_duplicate_total')).toBeGreaterThanOrEqual(duplicatesBefore + 5);
        const jane = await waitForTimeline('user_id', USER, expectedTimeline);
        expect(jane.items).toEqual(janeSnapshot.items);
        expect(jane.profile).toEqual(janeSnapshot.profile);
        expect(jane.profile.traits.firstName).toBe('Jane');
        expect(jane.profile.traits.plan).toBe('gold');
        expect((await profileBy('email', 'other@example.com')) ?? null).toBeNull();
      }

      it(
        'the same messageIds again, through both SDKs, change nothing',
        async () => {
          await sendDuplicatesAndCheck('before-restart');
        },
        TIMEOUT,
      );

      it(
        'after a restart on the same data directory, the data is there and duplicates still change nothing',
        async () => {
          const stopped = await stopServer(server!);
          expect(stopped, `graceful shutdown on SIGTERM:\n${server!.output.slice(-20).join('\n')}`).toEqual({
            code: 0,
            signal: null,
          });
          server = await startServer(target);

          const jane = await waitForTimeline('user_id', USER, expectedTimeline);
          expect(jane.items).toEqual(janeSnapshot.items);
          expect(jane.profile).toEqual(janeSnapshot.profile);
          expect((await profileBy('user_id', USER2))?.id).not.toBe(jane.profile.id);

          await sendDuplicatesAndCheck('after-restart');
        },
        TIMEOUT,
      );

      it(
        'alias from the RudderStack SDK joins a third anonymous id to the same profile',
        async () => {
          const anon3 = `rs-${randomUUID()}`;
          const answers: TrackingAnswer[] = [];
          const rudder = rudderClient(answers);
          const page = { anonymousId: anon3, name: 'Help', messageId: 'rs-page-3', properties: { path: '/help' } };
          await acked((cb) => rudder.page(page, cb));
          const alias = { previousId: anon3, userId: USER, messageId: 'rs-alias-1' };
          await acked((cb) => rudder.alias(alias, cb));
          await rudder.flush();
          expect(answers).toEqual(Array(2).fill({ success: true, accepted: 1, duplicates: 0, quarantined: [] }));

          const { profile, items } = await waitFor('the aliased visitor in the profile', async () => {
            const r = await timelineWith('user_id', USER, [...expectedTimeline, 'rs-page-3', 'rs-alias-1']);
            return r?.profile.identities.some((i) => i.value === anon3) ? r : undefined;
          });
          expect(profile.id).toBe(janeSnapshot.profile.id);
          expect((await profileBy('anonymous_id', anon3))?.id).toBe(profile.id);
          expect(profile.identities.filter((i) => i.type === 'anonymous_id').map((i) => i.value)).toEqual(
            [ANON1, ANON2, anon3].sort((x, y) => x.localeCompare(y)),
          );
          expect(items.map((e) => e.messageId)).toEqual(['rs-alias-1', 'rs-page-3', ...expectedTimeline]);
        },
        TIMEOUT,
      );

      it(
        'an audience: one more order through the Segment SDK moves Jane in, and the enter change is on the bus within a second',
        async () => {
          const key = 'repeat-buyers';
          const created = await apiSend('POST', '/v1/audiences', {
            key,
            name: 'Repeat buyers',
            definition: {
              type: 'and',
              conditions: [
                { type: 'trait', key: 'email', compare: { op: 'exists' } },
                {
                  type: 'event',
                  name: 'Order Completed',
                  where: [{ property: 'total', compare: { op: 'gt', value: 40 } }],
                  aggregate: { fn: 'count', compare: { op: 'gte', value: 2 } },
                  window: { last: 30, unit: 'days' },
                },
              ],
            },
          });
          expect(created.status, JSON.stringify(created.body)).toBe(201);
          // The scheduler's full recomputation runs first: Jane has one order, so it finds nobody.
          const ready = await waitFor('the audience recomputed', async () => {
            const r = await api(`/v1/audiences/${key}`);
            return r.body.status === 'ready' ? r.body : undefined;
          });
          expect(ready.members).toBe(0);

          const bus = await watchBus(mode.name, target);
          try {
            const answers: TrackingAnswer[] = [];
            const segment = segmentClient(answers, 1);
            const sentAt = performance.now();
            await acked((cb) =>
              segment.track(
                {
                  userId: USER,
                  event: 'Order Completed',
                  messageId: 'seg-order-2',
                  properties: { total: 99, orderId: 'order-1002', currency: 'USD' },
                },
                cb,
              ),
            );
            const ackedAt = performance.now();
            const change = await bus.next((c) => c.kind === 'audience.entered' && c.payload.audienceKey === key);
            const latency = performance.now() - sentAt;
            console.log(
              `[e2e/sdk] ${mode.name}: event to audience.entered on the bus in ${latency.toFixed(0)} ms (SDK call acknowledged after ${(ackedAt - sentAt).toFixed(0)} ms)`,
            );
            // Embedded: the pipeline is woken by the append. Cluster mode: a worker's pull waits up to 1 s to fill
            // its batch (a fetch of N messages returns at N or at its expiry), so a lone event may wait that long.
            expect(latency).toBeLessThan(target.env.TESSERA_NATS_PREFIX ? 2_000 : 1_000);
            await segment.closeAndFlush();
            const jane = await profileBy('user_id', USER);
            expect(change.profileId).toBe(jane?.id);
            const stays = await api(`/v1/profiles/${jane?.id}/audiences`);
            expect(stays.body.items).toMatchObject([{ audienceKey: key, member: true, enteredVersion: 1 }]);
            expect((await api(`/v1/audiences/${key}/members`)).body.items).toMatchObject([{ profileId: jane?.id }]);
          } finally {
            await bus.close();
          }
        },
        TIMEOUT,
      );
    },
  );
}
