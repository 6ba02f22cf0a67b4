import { randomBytes } from 'node:crypto';

/**
 * A fresh, empty schema of a PostgreSQL database, and a URL whose connections use it (`search_path`): for tests and
 * benchmarks that share one database. `drop()` removes it with everything in it.
 */
export async function createScratchSchema(url: string, prefix = 't'): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(url, `create schema ${schema}`);
  const sep = url.includes('?') ? '&' : '?';
  return {
    url: `${url}${sep}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    drop: () => adminQuery(url, `drop schema ${schema} cascade`),
  };
}

async function adminQuery(url: string, text: string): Promise<void> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}
