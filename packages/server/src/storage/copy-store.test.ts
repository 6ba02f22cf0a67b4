import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../app.js';
import { type Config, loadConfig } from '../config.js';
import { generateDemo } from '../demo/index.js';
import { groupBy } from '../group-by.js';
import { createTestSchema, testDatabaseUrl } from '../test/databases.js';
import { type CopyProgress, type CopyResult, type CopyTarget, copyEmbeddedStore } from './copy-store.js';
import { postgresDialect, sqliteDialect } from './dialect.js';
import { openPostgres } from './postgres/create-postgres-database.js';
import type { Database } from './schema.js';
import { openSqlite } from './sqlite/create-sqlite-database.js';
import { createSqliteStorage, logFileOf } from './sqlite/create-sqlite-storage.js';

/**
 * `copyEmbeddedStore` (`tessera copy`): an embedded data directory filled through the real API and pipeline with
 * the demo data set, copied into PostgreSQL (a fresh schema; skipped with a reason without
 * `TESSERA_TEST_DATABASE_URL`, an error under CI=true) and into another SQLite data directory (always).
 */

const silent = pino({ level: 'silent' });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tessera-copy-'));
const sourceDir = path.join(tmp, 'source');
const sourceFile = path.join(sourceDir, 'tessera.db');
/** Rows per page and insert: small, so every table of the demo takes several keyset pages. */
const CHUNK = 37;

let token = '';
const writeKeys = new Map<string, string>();
/** Row count per table, read straight from the two SQLite files (not through the code under test). */
let sourceCounts: Map<string, number>;
/** The table's file in the embedded layout. */
let fileOf: Map<string, 'main' | 'log'>;
/** People to look up on both sides: by e-mail (merged web + till + app profiles among them) and by user id. */
let lookups: string[];
let firstCall: { source: string; call: unknown };

function appConfig(env: Record<string, string>): Config {
  return loadConfig(env, { logLevel: 'silent' });
}

async function openApp(config: Config): Promise<App> {
  return createApp(config, { pipeline: false, writerThread: false, logger: silent });
}

async function send(app: App, writeKey: string, calls: unknown[]) {
  const res = await app.http.inject({
    method: 'POST',
    url: '/v1/batch',
    headers: {
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    payload: { batch: calls },
  });
  return { status: res.statusCode, body: res.json() };
}

async function get(app: App, url: string) {
  const res = await app.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, body: res.json() };
}

/**
 * `GET /v1/profiles/{id}/identities` lists identities in the store's row order (no `order by`), which a copy does
 * not keep: compare them sorted.
 */
function sorted(answer: { status: number; body: { items?: unknown } }) {
  const items = answer.body.items;
  const isIdentity = (i: unknown): i is { type: string; value: string } =>
    typeof (i as { type?: unknown }).type === 'string' && typeof (i as { value?: unknown }).value === 'string';
  if (!Array.isArray(items) || !items.every(isIdentity)) return answer;
  const key = (i: { type: string; value: string }) => `${i.type}\u0000${i.value}`;
  return { ...answer, body: { ...answer.body, items: [...items].sort((x, y) => (key(x) < key(y) ? -1 : 1)) } };
}

function countSource(): Map<string, number> {
  const counts = new Map<string, number>();
  fileOf = new Map();
  for (const [file, part] of [
    [sourceFile, 'main'],
    [logFileOf(sourceFile), 'log'],
  ] as const) {
    const db = new BetterSqlite3(file, { readonly: true });
    try {
      const tables = db
        .prepare(
          "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%'",
        )
        .pluck()
        .all() as string[];
      for (const t of tables) {
        counts.set(t, Number(db.prepare(`select count(*) from ${t}`).pluck().get()));
        fileOf.set(t, part);
      }
    } finally {
      db.close();
    }
  }
  return counts;
}

beforeAll(async () => {
  const app = await openApp(appConfig({ TESSERA_DATA_DIR: sourceDir }));
  try {
    const data = generateDemo({ seed: 7, people: 12 });
    for (const s of data.sources) writeKeys.set(s.name, (await app.sources.create({ name: s.name })).writeKey);
    token = (await app.tokens.create('copy test admin', ['admin'])).token;
    firstCall = data.calls[0];
    for (const [source, group] of groupBy(data.calls, (c) => c.source)) {
      const calls = group.map((c) => c.call);
      for (let i = 0; i < calls.length; i += 100) {
        const res = await send(app, writeKeys.get(source) as string, calls.slice(i, i + 100));
        expect(res.status).toBe(200);
      }
    }
    await app.drain();
    // A refused call (quarantine) and a re-sent one (a duplicate) beside a valid call.
    const res = await send(app, writeKeys.get(firstCall.source) as string, [
      { type: 'track', event: 'Nobody', messageId: 'copy-refused-1' },
      firstCall.call,
      { type: 'identify', userId: 'copy-user-1', traits: { email: 'copy.one@example.com', plan: 'gold' } },
      { type: 'group', userId: 'copy-user-1', groupId: 'acct-copy', traits: { name: 'Copy & Co', employees: 12 } },
    ]);
    expect(res.body).toMatchObject({ accepted: 2, duplicates: 1 });
    await app.drain();
    lookups = [
      ...data.people.slice(0, 6).map((p) => `/v1/profiles/by/email/${encodeURIComponent(p.email)}`),
      ...data.people
        .filter((p) => p.userId)
        .map((p) => `/v1/profiles/by/user_id/${encodeURIComponent(p.userId as string)}`),
      '/v1/profiles/by/user_id/copy-user-1',
    ];
  } finally {
    await app.close();
  }
  sourceCounts = countSource();
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface OpenTarget {
  to: CopyTarget;
  config: Config;
  close(): Promise<void>;
}

const pgUrl = testDatabaseUrl();
const TARGETS: { name: string; skip?: string; open(): Promise<OpenTarget> }[] = [
  {
    name: 'postgres',
    skip: pgUrl ? undefined : 'TESSERA_TEST_DATABASE_URL is not set',
    async open() {
      const schema = await createTestSchema(pgUrl as string);
      const { db, end } = await openPostgres({ url: schema.url, poolSize: 2 });
      return {
        to: { db, dialect: postgresDialect },
        config: appConfig({ TESSERA_DATABASE_URL: schema.url }),
        async close() {
          await end();
          await schema.drop();
        },
      };
    },
  },
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(path.join(tmp, 'target-'));
      const main = openSqlite({ file: path.join(dir, 'tessera.db') });
      const log = openSqlite({ file: logFileOf(path.join(dir, 'tessera.db')) });
      return {
        to: { db: main.db, logDb: log.db, dialect: sqliteDialect },
        config: appConfig({ TESSERA_DATA_DIR: dir }),
        async close() {
          await main.db.destroy();
          await log.db.destroy();
        },
      };
    },
  },
];

for (const target of TARGETS) {
  if (target.skip) console.log(`copy to ${target.name} skipped: ${target.skip}`);
  const suite = target.skip ? describe.skip : describe;

  suite(`copyEmbeddedStore to ${target.name}${target.skip ? ` (skipped: ${target.skip})` : ''}`, () => {
    let t: OpenTarget;
    let result: CopyResult;
    const progress: CopyProgress[] = [];

    /** Row count per table in the target, read with plain SQL. */
    async function countTarget(): Promise<Map<string, number>> {
      const counts = new Map<string, number>();
      for (const table of sourceCounts.keys()) {
        const db = (fileOf.get(table) === 'log' ? (t.to.logDb ?? t.to.db) : t.to.db) as Kysely<Database>;
        const { rows } = await sql<{ n: unknown }>`select count(*) as n from ${sql.table(table)}`.execute(db);
        counts.set(table, Number(rows[0].n));
      }
      return counts;
    }

    /**
     * The target holds the source's rows, but for a target of several writers, which reads one table of de-dup keys:
     * there the recent level is folded into it.
     */
    async function expectCopied(copy: CopyResult) {
      const recent = sourceCounts.get('processed_recent') as number;
      const folded = target.name === 'postgres';
      const expected = new Map(sourceCounts);
      if (folded) {
        expected.set('processed_messages', (sourceCounts.get('processed_messages') as number) + recent);
        expected.set('processed_recent', 0);
        expected.set('processed_merge', 0);
      }
      expect(copy.foldedKeys).toBe(folded ? recent : 0);
      expect(Object.fromEntries(await countTarget())).toEqual(Object.fromEntries(expected));
    }

    beforeAll(async () => {
      t = await target.open();
    });
    afterAll(async () => {
      await t?.close();
    });

    it('copies every table: the same row count per table on both sides', async () => {
      result = await copyEmbeddedStore({
        from: sourceFile,
        to: t.to,
        chunkRows: CHUNK,
        onProgress: (p) => progress.push(p),
      });
      const nonEmpty = ['ingest_log', 'events', 'profiles', 'identities', 'merges', 'trait_history', 'consents'];
      for (const table of [...nonEmpty, 'processed_messages', 'quarantine', 'accounts', 'changes', 'log_offsets'])
        expect(sourceCounts.get(table), table).toBeGreaterThan(0);
      expect(sourceCounts.get('events')).toBeGreaterThan(CHUNK * 3);
      expect(sourceCounts.get('processed_recent')).toBeGreaterThan(0);
      await expectCopied(result);
      expect(result.tables.map((c) => c.table).sort()).toEqual([...sourceCounts.keys()].sort());
      for (const c of result.tables)
        expect(c).toEqual({ table: c.table, source: sourceCounts.get(c.table), target: sourceCounts.get(c.table) });
      expect(result.rows).toBe([...sourceCounts.values()].reduce((a, b) => a + b, 0));
      expect(result.replaced).toEqual([]);
      const last = progress[progress.length - 1];
      expect(last).toMatchObject({ done: result.rows, all: result.rows });
      expect(progress.filter((p) => p.table === 'events').length).toBeGreaterThan(3);
    });

    // Only PostgreSQL partitions tables.
    if (target.name === 'postgres')
      it('puts the copied months in monthly partitions, not the defaults', async () => {
        // Some events are older than the months a migration creates (from the previous month on).
        const now = new Date();
        const { rows: oldest } = await sql<{ t: unknown }>`select min(timestamp) as t from events`.execute(t.to.db);
        expect(Number(oldest[0].t)).toBeLessThan(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
        for (const table of ['ingest_log_default', 'events_default']) {
          const { rows } = await sql<{ n: unknown }>`select count(*) as n from ${sql.table(table)}`.execute(t.to.db);
          expect(Number(rows[0].n), table).toBe(0);
        }
      });

    it('keeps the pipeline offset and moves the position counter above the copied entries', async () => {
      const { rows } = await sql<{
        position: unknown;
      }>`select position from log_offsets where consumer = 'pipeline'`.execute(t.to.db);
      const copiedLast = sourceCounts.get('ingest_log') as number;
      expect(Number(rows[0].position)).toBe(copiedLast);
      expect(result.sequences).toContainEqual({ table: 'ingest_log', column: 'position', atLeast: copiedLast });
      expect(result.sequences.find((s) => s.table === 'changes')?.atLeast).toBe(sourceCounts.get('changes'));
    });

    it('answers the same profiles, identities, history and events as the source', async () => {
      const source = await openApp(appConfig({ TESSERA_DATA_DIR: sourceDir }));
      const copy = await openApp(t.config);
      try {
        let merged = 0;
        for (const url of lookups) {
          const a = await get(source, url);
          const b = await get(copy, url);
          expect(a.status, url).toBe(200);
          expect(b, url).toEqual(a);
          if (a.body.mergedIds.length > 0) merged++;
          for (const sub of ['identities', 'history', 'events?limit=1000', 'merges', 'accounts']) {
            const path = `/v1/profiles/${a.body.id}/${sub}`;
            expect(sorted(await get(copy, path)), path).toEqual(sorted(await get(source, path)));
          }
        }
        expect(merged).toBeGreaterThan(0);
      } finally {
        await copy.close();
        await source.close();
      }
      // Those reads are in the source's audit log now (DESIGN §8): the later copies count it again.
      sourceCounts = countSource();
    });

    it('a new append gets a position above the copied ones; the pipeline processes only it', async () => {
      const app = await openApp(t.config);
      try {
        const copiedLast = sourceCounts.get('ingest_log') as number;
        const key = writeKeys.get(firstCall.source) as string;
        const before = await countTarget();
        const res = await send(app, key, [
          { type: 'track', userId: 'copy-user-1', event: 'After Copy', messageId: 'copy-after-1' },
        ]);
        expect(res.body).toMatchObject({ accepted: 1 });
        const position = await app.storage.log.lastPosition();
        expect(position).toBeGreaterThan(copiedLast);
        // A call the source had processed is a duplicate here too: the de-dup keys came along.
        expect((await send(app, key, [firstCall.call])).body).toMatchObject({ accepted: 0, duplicates: 1 });
        await app.drain();
        const after = await countTarget();
        expect(after.get('events')).toBe((before.get('events') as number) + 1);
        // One more de-dup key, in either level (`processed-store.ts`).
        const keys = (c: Map<string, number>) => (c.get('processed_messages') ?? 0) + (c.get('processed_recent') ?? 0);
        expect(keys(after)).toBe(keys(before) + 1);
        expect(await app.storage.log.offset('pipeline')).toBe(position);
        const events = await get(
          app,
          `/v1/profiles/${(await get(app, '/v1/profiles/by/user_id/copy-user-1')).body.id}/events`,
        );
        expect(events.body.items.map((e: { event?: string }) => e.event)).toContain('After Copy');
      } finally {
        await app.close();
      }
    });

    it('refuses a non-empty target, naming the tables that have rows', async () => {
      const before = await countTarget();
      const err = await copyEmbeddedStore({ from: sourceFile, to: t.to }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(
        /^the target is not empty: ingest_log, .*\bsources\b.*\bevents\b.* have rows/,
      );
      expect((err as { code?: string }).code).toBe('conflict');
      expect(await countTarget()).toEqual(before);
    });

    it('a write to the source during the copy fails it, and the target keeps its rows', async () => {
      const before = await countTarget();
      const writer = new BetterSqlite3(sourceFile);
      try {
        const err = await copyEmbeddedStore({
          from: sourceFile,
          to: t.to,
          replace: true,
          chunkRows: CHUNK,
          onProgress: (p) => {
            if (p.table === 'events' && p.copied === 0)
              writer.prepare("insert into change_offsets (consumer, seq) values ('copy-test', 0)").run();
          },
        }).catch((e: Error) => e);
        expect((err as Error).message).toMatch(/changed during the copy/);
        expect(await countTarget()).toEqual(before);
      } finally {
        writer.prepare("delete from change_offsets where consumer = 'copy-test'").run();
        writer.close();
      }
    });

    it('replace: deletes the target rows and copies again, in one transaction', async () => {
      const again = await copyEmbeddedStore({ from: sourceFile, to: t.to, replace: true, chunkRows: 500 });
      expect(again.replaced).toContain('events');
      await expectCopied(again);
    });
  });
}

const unset = pgUrl ? '' : ' (skipped: TESSERA_TEST_DATABASE_URL is not set)';
describe.skipIf(!pgUrl)(`copyEmbeddedStore: values PostgreSQL holds differently${unset}`, () => {
  it('rewrites JSON that jsonb refuses (escaped U+0000, lone surrogate) and keeps 64-bit integers exact', async () => {
    const dir = mkdtempSync(path.join(tmp, 'odd-'));
    const file = path.join(dir, 'tessera.db');
    const store = createSqliteStorage({ file });
    await store.migrate();
    await store.close();
    const raw = new BetterSqlite3(file);
    const big = 2n ** 60n + 1n;
    const profileId = randomUUID();
    try {
      // Written before `toJson` replaced them, or by hand: SQLite's TEXT takes any escape.
      raw
        .prepare('insert into profiles (id, created_at, updated_at, traits, trait_times) values (?, 1, 1, ?, ?)')
        .run(profileId, '{"name":"a\\u0000b","half":"\\ud83d","path":"c:\\\\u0000"}', '{}');
      raw
        .prepare(
          'insert into events (id, log_position, source_id, type, message_id, profile_id, timestamp, received_at) values (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(randomUUID(), big, randomUUID(), 'track', 'm-1', profileId, Date.UTC(2024, 1, 3), Date.UTC(2024, 1, 3));
    } finally {
      raw.close();
    }
    const schema = await createTestSchema(pgUrl as string);
    const { db, end } = await openPostgres({ url: schema.url, poolSize: 2 });
    try {
      const result = await copyEmbeddedStore({ from: file, to: { db, dialect: postgresDialect } });
      expect(result.rows).toBe(2);
      const { rows } = await sql<{ t: string }>`select traits::text as t from profiles`.execute(db);
      expect(JSON.parse(rows[0].t)).toEqual({ name: 'a\ufffdb', half: '\ufffd', path: 'c:\\u0000' });
      const events = await sql<{ p: string }>`select log_position::text as p from events_2024_02`.execute(db);
      expect(events.rows).toEqual([{ p: big.toString() }]);
    } finally {
      await end();
      await schema.drop();
    }
  });
});

describe('copyEmbeddedStore without a source', () => {
  it('names the missing file', async () => {
    const to = { db: undefined as unknown as Kysely<Database>, dialect: sqliteDialect };
    await expect(copyEmbeddedStore({ from: path.join(tmp, 'nowhere', 'tessera.db'), to })).rejects.toThrow(
      /no embedded store in .*nowhere: tessera\.db is missing/,
    );
  });
});
