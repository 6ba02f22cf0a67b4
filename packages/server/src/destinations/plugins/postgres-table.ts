import { Type } from '@sinclair/typebox';
import pg from 'pg';
import type { DestinationPlugin, SendResult } from '../plugin.js';

export const PostgresTableConfig = Type.Object(
  {
    url: Type.String({
      pattern: '^postgres(ql)?://',
      secret: true,
      description: 'Connection URL of the target database',
    }),
    table: Type.String({
      pattern: '^[a-z_][a-z0-9_]{0,62}(\\.[a-z_][a-z0-9_]{0,62})?$',
      description: 'Table (or schema.table) to keep in sync; created when missing',
    }),
    sync: Type.Union([Type.Literal('profiles'), Type.Literal('audience_members')], {
      description:
        '`profiles`: one row per profile; `audience_members`: one row per member of the subscribed audiences',
    }),
  },
  { additionalProperties: false },
);

const quoted = (table: string) =>
  table
    .split('.')
    .map((p) => `"${p}"`)
    .join('.');

/** The table each sync mode writes, created on first use (`if not exists`). */
export function postgresTableDdl(table: string, sync: 'profiles' | 'audience_members'): string {
  const t = quoted(table);
  return sync === 'profiles'
    ? `create table if not exists ${t} (profile_id text primary key, user_id text, email text, phone text, traits jsonb not null, updated_at timestamptz not null)`
    : `create table if not exists ${t} (audience_key text not null, profile_id text not null, user_id text, email text, entered_at timestamptz not null, primary key (audience_key, profile_id))`;
}

/** Permanent errors: the table or its columns do not fit, a permission is missing (a retry cannot help). */
const PERMANENT = new Set([
  '42P01',
  '42703',
  '42804',
  '42883',
  '42501',
  '22P02',
  '23502',
  '42P07',
  '3F000',
  '28000',
  '28P01',
]);

/**
 * PostgreSQL table sync (DESIGN §7): upserts profiles, or audience members (an exit deletes the row), into a table the
 * user names, in one transaction per batch. Later states win: a profile message older than the row's `updated_at`
 * does not overwrite it, and an exit older than the member row's `entered_at` does not delete it. Connection errors are retried; a refused statement (missing column, permission) is dead-lettered.
 */
export const postgresTableDestination: DestinationPlugin<typeof PostgresTableConfig> = {
  type: 'postgres',
  title: 'PostgreSQL table',
  description: 'Keeps a PostgreSQL table in sync with profiles or audience members',
  configSchema: PostgresTableConfig,
  maxBatch: 500,
  kinds: ['profile', 'audience'],
  async send(batch, ctx) {
    const { config } = ctx;
    const pool = await ctx.resource(
      'pool',
      async () => {
        const p = new pg.Pool({ connectionString: config.url, max: 2, connectionTimeoutMillis: 5000 });
        p.on('error', () => {});
        return { pool: p, ready: false };
      },
      (r) => r.pool.end(),
    );
    const t = quoted(config.table);
    let client: pg.PoolClient | undefined;
    try {
      client = await pool.pool.connect();
      if (!pool.ready) {
        await client.query(postgresTableDdl(config.table, config.sync));
        pool.ready = true;
      }
      await client.query('begin');
      for (const m of batch) {
        const pid = `prof_${m.profileId}`;
        if (config.sync === 'profiles') {
          if (m.kind !== 'profile') continue;
          await client.query(
            `insert into ${t} (profile_id, user_id, email, phone, traits, updated_at) values ($1, $2, $3, $4, $5, to_timestamp($6 / 1000.0))
             on conflict (profile_id) do update set user_id = excluded.user_id, email = excluded.email, phone = excluded.phone,
               traits = excluded.traits, updated_at = excluded.updated_at where ${t}.updated_at <= excluded.updated_at`,
            [
              pid,
              m.identifiers.userId ?? null,
              m.identifiers.email ?? null,
              m.identifiers.phone ?? null,
              JSON.stringify(m.traits),
              m.at,
            ],
          );
        } else if (m.audience) {
          if (m.audience.entered)
            await client.query(
              `insert into ${t} (audience_key, profile_id, user_id, email, entered_at) values ($1, $2, $3, $4, to_timestamp($5 / 1000.0))
               on conflict (audience_key, profile_id) do update set user_id = excluded.user_id, email = excluded.email,
                 entered_at = excluded.entered_at where ${t}.entered_at <= excluded.entered_at`,
              [m.audience.key, pid, m.identifiers.userId ?? null, m.identifiers.email ?? null, m.at],
            );
          // An exit older than the stay it finds (a replayed dead letter) leaves it alone.
          else
            await client.query(
              `delete from ${t} where audience_key = $1 and profile_id = $2 and entered_at <= to_timestamp($3 / 1000.0)`,
              [m.audience.key, pid, m.at],
            );
        }
      }
      await client.query('commit');
      return { kind: 'ok' };
    } catch (e) {
      await client?.query('rollback').catch(() => {});
      const code = (e as { code?: string }).code;
      const reason = `postgres: ${(e as Error).message}${code ? ` (${code})` : ''}`;
      return (code && PERMANENT.has(code) ? { kind: 'drop', reason } : { kind: 'retry', reason }) satisfies SendResult;
    } finally {
      client?.release();
    }
  },
};
