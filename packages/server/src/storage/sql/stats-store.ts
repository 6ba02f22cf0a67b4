import type { Kysely } from 'kysely';
import type { StatsStore } from '../../stats/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { rawQuery } from './raw.js';

const DAY_MS = 86_400_000;

/**
 * The overview's aggregates, each one statement. The events ones read the window's events only (by `timestamp`,
 * one month's partition or two in PostgreSQL); the others count whole tables, which is what a dashboard refreshed
 * every minute can afford up to a few million rows (docs/web-app.md).
 */
export function createStatsStore(db: Kysely<Database>, d: SqlDialect): StatsStore {
  const count = async (statement: string, params: unknown[] = []) =>
    Number((await rawQuery<{ n: number | string }>(db, d, statement, params))[0]?.n ?? 0);
  return {
    async overview({ since, now, topEvents }) {
      const perDay = await rawQuery<{ day: number | string; source_id: string; n: number | string }>(
        db,
        d,
        `select timestamp / ${DAY_MS} as day, source_id, count(*) as n from events
         where timestamp >= ? and timestamp < ? group by timestamp / ${DAY_MS}, source_id order by 1`,
        [since, now + DAY_MS],
      );
      const top = await rawQuery<{ name: string; n: number | string }>(
        db,
        d,
        `select name, count(*) as n from events where type = 'track' and timestamp >= ? and name is not null
         group by name order by count(*) desc, name limit ?`,
        [since, topEvents],
      );
      const consents = await rawQuery<{ purpose: string; granted: number | boolean; n: number | string }>(
        db,
        d,
        `select purpose, granted, count(*) as n from (
           select purpose, granted, row_number() over (partition by profile_id, purpose order by valid_from desc, id desc) as rn
           from consents where superseded_at is null and valid_from <= ?) latest
         where rn = 1 group by purpose, granted`,
        [now],
      );
      const byPurpose = new Map<string, { purpose: string; granted: number; denied: number }>();
      for (const c of consents) {
        const e = byPurpose.get(c.purpose) ?? { purpose: c.purpose, granted: 0, denied: 0 };
        if (Number(c.granted)) e.granted += Number(c.n);
        else e.denied += Number(c.n);
        byPurpose.set(c.purpose, e);
      }
      return {
        eventsPerDay: perDay.map((r) => ({ day: Number(r.day), sourceId: r.source_id, events: Number(r.n) })),
        // Survivors only: a merged profile keeps its row, redirected to its survivor.
        profiles: await count(
          'select count(*) as n from profiles p where not exists (select 1 from profile_redirects r where r.from_id = p.id)',
        ),
        identified: await count(
          `select count(distinct coalesce(r.to_id, i.profile_id)) as n from identities i
           left join profile_redirects r on r.from_id = i.profile_id where i.type <> 'anonymous_id'`,
        ),
        merges: await count('select count(*) as n from merges'),
        topEvents: top.map((r) => ({ name: r.name, events: Number(r.n) })),
        consents: [...byPurpose.values()].sort((a, b) => a.purpose.localeCompare(b.purpose)),
      };
    },
  };
}
