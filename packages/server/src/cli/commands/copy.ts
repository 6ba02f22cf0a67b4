import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { redactUrl } from '../../config.js';
import { type CopyProgress, type CopyResult, copyEmbeddedStore } from '../../storage/copy-store.js';
import { postgresDialect } from '../../storage/dialect.js';
import { openPostgres } from '../../storage/postgres/create-postgres-database.js';
import { runningServer } from '../lock.js';

export interface CopyCommandOptions {
  from: string;
  to: string;
  replace?: boolean;
  json?: boolean;
  progress?: boolean;
}

/**
 * `tessera copy --from DIR --to postgres://…`: copies an embedded install (the data directory's two SQLite files)
 * into a PostgreSQL database, the step from embedded to cluster mode (DESIGN §2); then set `TESSERA_DATABASE_URL`.
 * Refuses a data directory a running server holds (its lock) and a non-empty target unless `--replace`; everything
 * else is `copyEmbeddedStore`'s (one transaction, counts verified per table). The URL's password is never printed.
 */
export async function copyCommand(opts: CopyCommandOptions): Promise<void> {
  const dir = path.resolve(opts.from);
  const shown = redactUrl(opts.to);
  if (!/^postgres(ql)?:\/\//.test(opts.to)) throw new Error(`--to must be a postgres:// URL, got "${shown}"`);
  const server = runningServer(dir);
  if (server)
    throw new Error(
      `a Tessera server (pid ${server.pid}) serves ${dir} at ${server.url}: stop it first, so that nothing is written during the copy`,
    );
  const bar =
    opts.progress === false || opts.json || !process.stderr.isTTY
      ? undefined
      : new SingleBar({ format: 'copying [{bar}] {value}/{total} rows | {table}', stream: process.stderr });
  let started = false;
  const onProgress = (p: CopyProgress) => {
    if (!bar) return;
    if (!started) bar.start(p.all, 0, { table: p.table });
    started = true;
    bar.update(p.done, { table: p.table });
  };
  const target = await openPostgres({ url: opts.to, poolSize: 2 });
  let result: CopyResult;
  try {
    result = await copyEmbeddedStore({
      from: path.join(dir, 'tessera.db'),
      to: { db: target.db, dialect: postgresDialect },
      replace: opts.replace,
      onProgress,
    });
  } catch (e) {
    throw new Error(withoutPassword((e as Error).message, opts.to));
  } finally {
    bar?.stop();
    await target.end();
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ from: dir, to: shown, ...result })}\n`);
    return;
  }
  const width = Math.max(...result.tables.map((t) => t.table.length), 'table'.length);
  const lines = [
    `copied ${result.rows} rows from ${dir} to ${shown}${result.replaced.length ? ` (replacing the rows of ${result.replaced.join(', ')})` : ''}`,
    '',
    `${'table'.padEnd(width)}  ${'source'.padStart(9)}  ${'target'.padStart(9)}`,
    ...result.tables.map(
      (t) => `${t.table.padEnd(width)}  ${String(t.source).padStart(9)}  ${String(t.target).padStart(9)}`,
    ),
    '',
    ...result.sequences.map((s) => `${s.table}.${s.column} continues above ${s.atLeast}`),
    ...(result.foldedKeys > 0
      ? [`${result.foldedKeys} recent de-dup keys moved into processed_messages, the table PostgreSQL reads`]
      : []),
    'every count matches; to run on PostgreSQL now, set TESSERA_DATABASE_URL to its URL and start tessera serve',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

/** An error message without the URL's password, should a driver ever quote it. */
function withoutPassword(message: string, url: string): string {
  let out = message.replaceAll(url, redactUrl(url));
  try {
    const u = new URL(url);
    const secrets = [u.password, decodeURIComponent(u.password), u.searchParams.get('password') ?? ''];
    for (const secret of secrets) if (secret) out = out.replaceAll(secret, '***');
  } catch {
    // not a parseable URL: the redacted form above is all we can do
  }
  return out;
}
