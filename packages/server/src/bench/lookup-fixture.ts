import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { newUuid } from '../ids.js';
import { createSqliteStorage } from '../storage/sqlite/create-sqlite-storage.js';

const PLANS = ['free', 'pro', 'gold'];

/**
 * A data directory holding `people` profiles, each with a `user_id` (`bench-user-<i>`) and an e-mail
 * (`bench<i>@example.com`) identity and a few traits, written in bulk straight into SQLite (seeded by index, so the
 * same for every run), cached under `cacheDir` and copied into `target` for each run.
 */
export async function lookupFixture(
  cacheDir: string,
  people: number,
  target: string,
): Promise<{ built: boolean; seconds: number }> {
  const dir = path.join(cacheDir, `lookup-v1-${people}`);
  const started = Date.now();
  let built = false;
  if (!existsSync(path.join(dir, 'tessera.db'))) {
    built = true;
    const tmp = `${dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const file = path.join(tmp, 'tessera.db');
    const storage = createSqliteStorage({ file });
    await storage.migrate();
    await storage.close();
    const db = new BetterSqlite3(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    const profile = db.prepare(
      'insert into profiles (id, created_at, updated_at, traits, trait_times) values (?, ?, ?, ?, ?)',
    );
    const identity = db.prepare(
      'insert into identities (type, value, profile_id, source_id, event_id, first_seen_at, created_at) values (?, ?, ?, ?, null, ?, ?)',
    );
    const source = newUuid();
    const t0 = Date.UTC(2026, 0, 1);
    const write = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const id = newUuid();
        const at = t0 + i * 1000;
        const traits = { email: `bench${i}@example.com`, plan: PLANS[i % 3], firstName: `Name${i % 997}` };
        profile.run(id, at, at, JSON.stringify(traits), JSON.stringify({ email: at, plan: at, firstName: at }));
        identity.run('user_id', `bench-user-${i}`, id, source, at, at);
        identity.run('email', `bench${i}@example.com`, id, source, at, at);
      }
    });
    for (let i = 0; i < people; i += 50_000) write(i, Math.min(people, i + 50_000));
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  mkdirSync(target, { recursive: true });
  for (const f of ['tessera.db', 'tessera-log.db'])
    if (existsSync(path.join(dir, f))) cpSync(path.join(dir, f), path.join(target, f));
  return { built, seconds: (Date.now() - started) / 1000 };
}
