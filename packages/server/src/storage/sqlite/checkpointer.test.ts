import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { startCheckpointer as StartCheckpointer } from './checkpointer.js';
import { openSqlite } from './create-sqlite-database.js';

/**
 * The checkpointer thread (docs/storage.md): its worker file is compiled JavaScript, so the test loads the built
 * module (`npm run build`; CI builds through `npm ci`), as the end-to-end tests do.
 */
const BUILT = fileURLToPath(new URL('../../../dist/storage/sqlite/checkpointer.js', import.meta.url));
const IN_CI = process.env.CI === 'true';
if (!existsSync(BUILT) && !IN_CI) console.warn(`[checkpointer] skipped: ${BUILT} is missing; run npm run build`);

describe.runIf(existsSync(BUILT) || IN_CI)('the WAL checkpointer thread', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies the WAL into the database while commits leave it alone, and stops cleanly', async () => {
    const { startCheckpointer } = (await import(BUILT)) as { startCheckpointer: typeof StartCheckpointer };
    dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-checkpointer-'));
    const file = path.join(dir, 'tessera.db');
    const db = openSqlite({ file, externalCheckpoints: true });
    db.raw.exec('create table t (id integer primary key, v text)');
    const insert = db.raw.prepare('insert into t (v) values (?)');
    // About 4,000 pages: past the 1,000 at which a commit would checkpoint by default.
    for (let i = 0; i < 40; i++)
      db.raw.transaction(() => {
        for (let j = 0; j < 400; j++) insert.run('x'.repeat(1000));
      })();
    const before = statSync(file).size;
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(10_000_000);
    expect(before).toBeLessThan(1_000_000); // no commit copied the WAL into the database
    const checkpointer = startCheckpointer(
      { files: [file], durability: 'normal', intervalMs: 50 },
      pino({ level: 'silent' }),
    );
    let after = before;
    for (let i = 0; i < 100 && after < 10_000_000; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = statSync(file).size;
    }
    await checkpointer.stop();
    expect(after).toBeGreaterThan(10_000_000);
    expect((db.raw.prepare('select count(*) as n from t').get() as { n: number }).n).toBe(16_000);
    await db.db.destroy();
  });
});
