import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../app.js';
import { loadConfig, redactUrl } from '../../config.js';
import { createTestSchema, testDatabaseUrl } from '../../test/databases.js';
import { copyCommand } from './copy.js';

/** `tessera copy` in-process: its refusals, its output, and that it never prints the URL's password. */

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tessera-copy-cli-'));
const dataDir = path.join(tmp, 'data');
const pgUrl = testDatabaseUrl();

/** Runs the command, returning what it wrote to stdout. */
async function run(opts: Parameters<typeof copyCommand>[0]): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  try {
    await copyCommand(opts);
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

beforeAll(async () => {
  const app = await createApp(loadConfig({ TESSERA_DATA_DIR: dataDir }, { logLevel: 'silent' }), {
    pipeline: false,
    writerThread: false,
    logger: pino({ level: 'silent' }),
  });
  try {
    await app.sources.create({ name: 'web' });
    const source = await app.storage.sources.byName('web');
    if (!source) throw new Error('no source');
    await app.ingest.accept(source, [{ type: 'identify', userId: 'u-1', traits: { email: 'one@example.com' } }]);
    await app.drain();
  } finally {
    await app.close();
  }
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('redactUrl', () => {
  it.each([
    ['postgres://tessera:s3cret@db:5432/cdp', 'postgres://tessera:***@db:5432/cdp'],
    [
      'postgres://db/cdp?user=tessera&password=s3cret&sslmode=require',
      'postgres://db/cdp?user=tessera&password=***&sslmode=require',
    ],
    ['postgres://:s3cret@db/cdp', 'postgres://:***@db/cdp'],
    ['postgres://tessera@db/cdp', 'postgres://tessera@db/cdp'],
    // A NATS cluster's servers, comma-separated: every password hidden.
    ['nats://a:p1@n1:4222,nats://b:p2@n2:4222', 'nats://a:***@n1:4222,nats://b:***@n2:4222'],
  ])('%s → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

describe('tessera copy', () => {
  it('refuses a --to that is not a postgres:// URL, without printing its password', async () => {
    const err = await run({ from: dataDir, to: 'mysql://root:s3cret@db/cdp' }).catch((e: Error) => e);
    expect(String(err)).toContain('--to must be a postgres:// URL, got "mysql://root:***@db/cdp"');
  });

  it('refuses a data directory whose lock names a live server', async () => {
    const dir = path.join(tmp, 'served');
    const locked = mkdtempSync(`${dir}-`);
    writeFileSync(
      path.join(locked, 'tessera.lock'),
      JSON.stringify({ pid: process.pid, url: 'http://127.0.0.1:8799' }),
    );
    await expect(run({ from: locked, to: 'postgres://u:s3cret@127.0.0.1:1/db' })).rejects.toThrow(
      `a Tessera server (pid ${process.pid}) serves ${locked} at http://127.0.0.1:8799: stop it first`,
    );
  });

  it('names a directory that holds no embedded store', async () => {
    await expect(run({ from: path.join(tmp, 'empty'), to: 'postgres://u:s3cret@127.0.0.1:1/db' })).rejects.toThrow(
      /no embedded store in .*empty: tessera\.db is missing/,
    );
  });

  it('a database it cannot reach: the error never holds the password', async () => {
    const err = await run({ from: dataDir, to: 'postgres://tessera:s3cret-pw@127.0.0.1:1/cdp' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).not.toContain('s3cret-pw');
  });
});

if (!pgUrl) console.log('tessera copy to PostgreSQL skipped: TESSERA_TEST_DATABASE_URL is not set');
describe.skipIf(!pgUrl)(
  `tessera copy to PostgreSQL${pgUrl ? '' : ' (skipped: TESSERA_TEST_DATABASE_URL is not set)'}`,
  () => {
    let schema: { url: string; drop(): Promise<void> };
    beforeAll(async () => {
      schema = await createTestSchema(pgUrl as string);
    });
    afterAll(async () => {
      await schema?.drop();
    });

    it('--json: one JSON line with the counts per table and the URL without its password', async () => {
      const out = await run({ from: dataDir, to: schema.url, json: true });
      const lines = out.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      const result = JSON.parse(lines[0]);
      expect(result).toMatchObject({ from: path.resolve(dataDir), to: redactUrl(schema.url), replaced: [] });
      const password = new URL(schema.url).password;
      if (password) expect(out).not.toContain(password);
      const events = result.tables.find((t: { table: string }) => t.table === 'events');
      expect(events).toEqual({ table: 'events', source: 1, target: 1 });
      for (const t of result.tables) expect(t.target).toBe(t.source);
    });

    it('again: refused, naming the tables with rows; with --replace, a table of counts', async () => {
      await expect(run({ from: dataDir, to: schema.url })).rejects.toThrow(
        /^the target is not empty: ingest_log, sources/,
      );
      const out = await run({ from: dataDir, to: schema.url, replace: true });
      expect(out).toMatch(/^copied \d+ rows from .* \(replacing the rows of ingest_log, sources/);
      expect(out).toMatch(/\nevents +1 +1\n/);
      expect(out).toContain('ingest_log.position continues above 1');
      expect(out).toContain('every count matches');
    });
  },
);
