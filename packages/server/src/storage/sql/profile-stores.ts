import { type Kysely, sql } from 'kysely';
import type {
  AccountStore,
  ConsentRow,
  ConsentStore,
  HistoryRow,
  HistoryStore,
  ProfileRow,
  ProfileStore,
} from '../../profiles/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { chunk } from './chunk.js';
import { fromJson, toJson } from './json.js';
import { insertRows, list, rawQuery } from './raw.js';

const toProfile = (r: Database['profiles']): ProfileRow => ({
  id: r.id,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  traits: fromJson(r.traits),
  traitTimes: fromJson(r.trait_times),
});

export function createProfileStore(db: Kysely<Database>, d: SqlDialect): ProfileStore {
  return {
    async create(row) {
      await rawQuery(
        db,
        d,
        'insert into profiles (id, created_at, updated_at, traits, trait_times) values (?, ?, ?, ?, ?)',
        [row.id, row.createdAt, row.updatedAt, toJson(row.traits), toJson(row.traitTimes)],
      );
    },
    async createMany(rows) {
      await insertRows(
        db,
        d,
        'insert into profiles (id, created_at, updated_at, traits, trait_times)',
        5,
        rows,
        (r, out) => out.push(r.id, r.createdAt, r.updatedAt, toJson(r.traits), toJson(r.traitTimes)),
      );
    },
    async get(ids) {
      if (ids.length === 0) return [];
      const rows = await rawQuery<Database['profiles']>(
        db,
        d,
        `select * from profiles where id in (${list(ids.length)})`,
        ids,
      );
      return rows.map(toProfile);
    },
    async lock(ids) {
      if (d.singleWriter || ids.length === 0) return;
      const sorted = [...new Set(ids)].sort();
      await rawQuery(
        db,
        d,
        `select id from profiles where id in (${list(sorted.length)}) order by id for update`,
        sorted,
      );
    },
    async update(id, traits, traitTimes, updatedAt) {
      await rawQuery(db, d, 'update profiles set traits = ?, trait_times = ?, updated_at = ? where id = ?', [
        toJson(traits),
        toJson(traitTimes),
        updatedAt,
        id,
      ]);
    },
    async search(q, opts) {
      const pattern = `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const traitsText = d.name === 'postgres' ? sql<string>`lower(p.traits::text)` : sql<string>`lower(p.traits)`;
      let query = db
        .selectFrom('profiles as p')
        .selectAll('p')
        .where((eb) =>
          eb.and([
            eb.not(
              eb.exists(eb.selectFrom('profile_redirects as r').select('r.from_id').whereRef('r.from_id', '=', 'p.id')),
            ),
            eb.or([
              eb(traitsText, 'like', sql<string>`${pattern} escape '\\'`),
              eb.exists(
                eb
                  .selectFrom('identities as i')
                  .leftJoin('profile_redirects as r2', 'r2.from_id', 'i.profile_id')
                  .select('i.value')
                  .where((e2) => e2.or([e2('i.profile_id', '=', e2.ref('p.id')), e2('r2.to_id', '=', e2.ref('p.id'))]))
                  .where(sql<string>`lower(i.value)`, 'like', sql<string>`${pattern} escape '\\'`),
              ),
            ]),
          ]),
        );
      if (opts.after) query = query.where('p.id', '>', opts.after);
      const rows = await query.orderBy('p.id').limit(opts.limit).execute();
      return rows.map(toProfile);
    },
    async scan(opts) {
      const owner = 'coalesce(r.to_id, i.profile_id)';
      const params: unknown[] = [];
      let where = 'not exists (select 1 from profile_redirects x where x.from_id = p.id)';
      if (opts.after !== undefined) {
        where += ' and p.id > ?';
        params.push(opts.after);
      }
      if (opts.sourceId !== undefined) {
        // Not correlated: the survivors holding an identifier of the source are listed once per page.
        where += ` and p.id in (select ${owner} from identities i left join profile_redirects r on r.from_id = i.profile_id
          where i.source_id = ?)`;
        params.push(opts.sourceId);
      }
      params.push(opts.limit);
      const rows = await rawQuery<Database['profiles']>(
        db,
        d,
        `select p.* from profiles p where ${where} order by p.id limit ?`,
        params,
      );
      const out = rows.map((r) => ({ ...toProfile(r), identities: [] as { type: string; value: string }[] }));
      const byId = new Map(out.map((p) => [p.id, p]));
      for (const ids of chunk([...byId.keys()], 2, 2000)) {
        // A family's identifiers sit under each member's own id; redirects lead them to the survivor.
        const found = await rawQuery<{ type: string; value: string; owner: string }>(
          db,
          d,
          `select i.type, i.value, ${owner} as owner from identities i
           left join profile_redirects r on r.from_id = i.profile_id
           where i.profile_id in (${list(ids.length)})
              or i.profile_id in (select from_id from profile_redirects where to_id in (${list(ids.length)}))`,
          [...ids, ...ids],
        );
        for (const f of found) byId.get(f.owner)?.identities.push({ type: f.type, value: f.value });
      }
      return out;
    },
    async count() {
      const r = await db
        .selectFrom('profiles')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },
  };
}

const toHistory = (r: Database['trait_history']): HistoryRow => ({
  id: r.id,
  profileId: r.profile_id,
  trait: r.trait,
  value: fromJson(r.value),
  validFrom: Number(r.valid_from),
  validTo: r.valid_to === null ? null : Number(r.valid_to),
  recordedAt: Number(r.recorded_at),
  supersededAt: r.superseded_at === null ? null : Number(r.superseded_at),
  sourceId: r.source_id,
  eventId: r.event_id,
});

/** Runs `statement(n)` with `[value, ...n ids]` for these ids, in statements within the parameter limit. */
async function forIds(
  db: Kysely<Database>,
  d: SqlDialect,
  ids: readonly string[],
  value: number,
  statement: (n: number) => string,
): Promise<void> {
  for (const part of chunk(ids, 1, d.maxParameters - 1))
    await rawQuery(db, d, statement(part.length), [value, ...part]);
}

export function createHistoryStore(db: Kysely<Database>, d: SqlDialect): HistoryStore {
  return {
    async insert(rows) {
      await insertRows(
        db,
        d,
        'insert into trait_history (id, profile_id, trait, value, valid_from, valid_to, recorded_at, superseded_at, source_id, event_id)',
        10,
        rows,
        (r, out) =>
          out.push(
            r.id,
            r.profileId,
            r.trait,
            toJson(r.value),
            r.validFrom,
            r.validTo,
            r.recordedAt,
            r.supersededAt,
            r.sourceId,
            r.eventId,
          ),
      );
    },
    async supersede(ids, at) {
      await forIds(db, d, ids, at, (n) => `update trait_history set superseded_at = ? where id in (${list(n)})`);
    },
    async close(ids, validTo) {
      await forIds(db, d, ids, validTo, (n) => `update trait_history set valid_to = ? where id in (${list(n)})`);
    },
    async intervals(profileIds, trait) {
      if (profileIds.length === 0) return [];
      const rows = await rawQuery<Database['trait_history']>(
        db,
        d,
        `select * from trait_history where profile_id in (${list(profileIds.length)}) and trait = ? and superseded_at is null order by valid_from, id`,
        [...profileIds, trait],
      );
      return rows.map(toHistory);
    },
    async all(profileIds, opts = {}) {
      if (profileIds.length === 0) return [];
      let q = db.selectFrom('trait_history').selectAll().where('profile_id', 'in', profileIds);
      if (opts.trait) q = q.where('trait', '=', opts.trait);
      const rows = await q.orderBy('trait').orderBy('valid_from').orderBy('recorded_at').orderBy('id').execute();
      return rows.map(toHistory);
    },
    async current(profileIds) {
      if (profileIds.length === 0) return [];
      const rows = await rawQuery<Database['trait_history']>(
        db,
        d,
        `select * from trait_history where profile_id in (${list(profileIds.length)}) and valid_to is null and superseded_at is null order by profile_id, trait, valid_from, id`,
        profileIds,
      );
      return rows.map(toHistory);
    },
  };
}

const toConsent = (r: Database['consents']): ConsentRow => ({
  id: r.id,
  profileId: r.profile_id,
  purpose: r.purpose,
  granted: Number(r.granted) === 1,
  legalBasis: r.legal_basis,
  validFrom: Number(r.valid_from),
  recordedAt: Number(r.recorded_at),
  supersededAt: r.superseded_at === null ? null : Number(r.superseded_at),
  sourceId: r.source_id,
  eventId: r.event_id,
});

export function createConsentStore(db: Kysely<Database>, d: SqlDialect): ConsentStore {
  return {
    async insert(rows) {
      for (const part of chunk(rows, 10, d.maxParameters)) {
        await db
          .insertInto('consents')
          .values(
            part.map((r) => ({
              id: r.id,
              profile_id: r.profileId,
              purpose: r.purpose,
              granted: r.granted ? 1 : 0,
              legal_basis: r.legalBasis,
              valid_from: r.validFrom,
              recorded_at: r.recordedAt,
              superseded_at: r.supersededAt,
              source_id: r.sourceId,
              event_id: r.eventId,
            })),
          )
          .execute();
      }
    },
    async supersede(ids, at) {
      if (ids.length === 0) return;
      await db.updateTable('consents').set({ superseded_at: at }).where('id', 'in', ids).execute();
    },
    async current(profileIds) {
      const rows: Database['consents'][] = [];
      for (const part of chunk(profileIds, 1, 2000)) {
        rows.push(
          ...(await rawQuery<Database['consents']>(
            db,
            d,
            `select * from consents where profile_id in (${list(part.length)}) and superseded_at is null`,
            part,
          )),
        );
      }
      // By valid_from then id across the slices, as one statement would have ordered them.
      rows.sort((a, b) => Number(a.valid_from) - Number(b.valid_from) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return rows.map(toConsent);
    },
    async all(profileIds) {
      if (profileIds.length === 0) return [];
      const rows = await db
        .selectFrom('consents')
        .selectAll()
        .where('profile_id', 'in', profileIds)
        .orderBy('valid_from')
        .orderBy('id')
        .execute();
      return rows.map(toConsent);
    },
  };
}

export function createAccountStore(db: Kysely<Database>): AccountStore {
  return {
    async upsert(groupId, traits, at, newId) {
      const existing = await db.selectFrom('accounts').selectAll().where('group_id', '=', groupId).executeTakeFirst();
      if (existing) {
        const merged = { ...fromJson<Record<string, unknown>>(existing.traits), ...traits };
        await db
          .updateTable('accounts')
          .set({ traits: toJson(merged), updated_at: at })
          .where('id', '=', existing.id)
          .execute();
        return existing.id;
      }
      await db
        .insertInto('accounts')
        .values({ id: newId, group_id: groupId, traits: toJson(traits), created_at: at, updated_at: at })
        .execute();
      return newId;
    },
    async link(profileId, accountId, sourceId, at) {
      await db
        .insertInto('profile_accounts')
        .values({ profile_id: profileId, account_id: accountId, source_id: sourceId, created_at: at })
        .onConflict((oc) => oc.columns(['profile_id', 'account_id']).doNothing())
        .execute();
    },
    async links(profileIds) {
      const out: { profileId: string; accountId: string; traits: Record<string, unknown> }[] = [];
      for (const part of chunk(profileIds, 1, 2000)) {
        const rows = await db
          .selectFrom('profile_accounts as pa')
          .innerJoin('accounts as a', 'a.id', 'pa.account_id')
          .select(['pa.profile_id', 'a.id', 'a.traits'])
          .where('pa.profile_id', 'in', part)
          .execute();
        for (const r of rows) out.push({ profileId: r.profile_id, accountId: r.id, traits: fromJson(r.traits) });
      }
      return out;
    },
    async ofProfiles(profileIds) {
      if (profileIds.length === 0) return [];
      const rows = await db
        .selectFrom('profile_accounts as pa')
        .innerJoin('accounts as a', 'a.id', 'pa.account_id')
        .select(['a.id', 'a.group_id', 'a.traits', 'a.created_at', 'a.updated_at', 'pa.created_at as linked_at'])
        .where('pa.profile_id', 'in', profileIds)
        .orderBy('pa.created_at')
        .execute();
      const seen = new Set<string>();
      return rows
        .filter((r) => {
          if (seen.has(r.id)) return false;
          seen.add(r.id);
          return true;
        })
        .map((r) => ({
          id: r.id,
          groupId: r.group_id,
          traits: fromJson(r.traits),
          createdAt: Number(r.created_at),
          updatedAt: Number(r.updated_at),
          linkedAt: Number(r.linked_at),
        }));
    },
  };
}
