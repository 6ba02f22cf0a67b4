import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { startStandIn } from '../destinations/test/stand-in.js';
import { eraseZoe, loadPerson, needles, OTHER, sendAgain } from './test/erasure-scenario.js';

/**
 * Issue 7's erasure test (DESIGN §8, docs/privacy.md), embedded on a data directory: a person ingested through two
 * sources, merged, with a quarantined call, a webhook delivery and lines in a CSV export; erased by e-mail; then the raw bytes of every file under
 * the data directory hold none of their e-mail, phone, names, user and anonymous ids, message ids or profile ids;
 * their events sent again are acknowledged, suppressed and counted, and nothing of them is stored.
 * `erasure-postgres.test.ts` runs the same person on PostgreSQL.
 */

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function open(dataDir: string): Promise<App> {
  const app = await createApp(loadConfig({ TESSERA_DATA_DIR: dataDir }, { logLevel: 'silent' }), {
    pipeline: false,
    writerThread: false,
    logger: pino({ level: 'silent' }),
  });
  return app;
}

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('erasure (embedded, a data directory)', () => {
  it('leaves none of the person in any file, and suppresses them afterwards', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-erasure-'));
    closers.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const receiver = await startStandIn(() => ({ status: 200 }));
    closers.push(() => receiver.close());
    let app = await open(dataDir);
    let closed = false;
    closers.push(async () => {
      if (!closed) await app.close();
    });
    const person = await loadPerson(app, `${receiver.url}/hook`, { fileExport: true });
    // The file destination wrote the person's orders and profile under the data directory (exports/orders).
    expect(files(path.join(dataDir, 'exports')).length).toBe(1);
    expect(receiver.calls.length).toBeGreaterThan(0);
    const done = await eraseZoe(app, person.call);
    expect(done.proof.streams).toMatchObject({ exportFilesScrubbed: 1 });
    expect(done.proof.streams.exportLinesRemoved).toBeGreaterThan(1);
    await app.close();
    closed = true;

    const found: string[] = [];
    for (const file of files(dataDir)) {
      const bytes = readFileSync(file);
      for (const n of needles(person.profileId))
        if (bytes.includes(Buffer.from(n, 'utf8'))) found.push(`${path.relative(dataDir, file)}: ${n}`);
    }
    expect(found).toEqual([]);
    // The other person is still there (the scan is not blind).
    expect(files(dataDir).some((f) => readFileSync(f).includes(Buffer.from(OTHER.email)))).toBe(true);

    // Sent again after the erasure (by a fresh process on the same directory): acknowledged, dropped, counted.
    app = await open(dataDir);
    closed = false;
    await sendAgain(app, person);
  }, 60_000);
});
