import type { Kysely } from 'kysely';
import { asJsonObject } from '../../json-record.js';
import { RECTIFIED } from '../../privacy/mentions.js';
import type { EventRow, EventStore, TrackRow, TraitObservationRow } from '../../profiles/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { chunk } from './chunk.js';
import { fromJson, toJson } from './json.js';
import { insertRows, list, rawQuery } from './raw.js';

/** The `events` table: one row per processed message, under the profile id it had then (never re-keyed). */

const toEvent = (r: Database['events']): EventRow => ({
  id: r.id,
  logPosition: Number(r.log_position),
  sourceId: r.source_id,
  type: r.type,
  name: r.name,
  messageId: r.message_id,
  profileId: r.profile_id,
  userId: r.user_id,
  anonymousId: r.anonymous_id,
  timestamp: Number(r.timestamp),
  receivedAt: Number(r.received_at),
  properties: r.properties === null ? null : fromJson(r.properties),
  traits: r.traits === null ? null : fromJson(r.traits),
  context: r.context === null ? null : fromJson(r.context),
});

type ObservationColumns = Pick<
  Database['events'],
  'id' | 'profile_id' | 'source_id' | 'message_id' | 'type' | 'timestamp' | 'traits' | 'context'
>;

export function createEventStore(db: Kysely<Database>, d: SqlDialect): EventStore {
  return {
    async insert(rows) {
      await insertRows(
        db,
        d,
        'insert into events (id, log_position, source_id, type, name, message_id, profile_id, user_id, anonymous_id, timestamp, received_at, properties, traits, context)',
        14,
        rows,
        (r, out) =>
          out.push(
            r.id,
            r.logPosition,
            r.sourceId,
            r.type,
            r.name,
            r.messageId,
            r.profileId,
            r.userId,
            r.anonymousId,
            r.timestamp,
            r.receivedAt,
            r.properties === null ? null : toJson(r.properties),
            r.traits === null ? null : toJson(r.traits),
            r.context === null ? null : toJson(r.context),
          ),
      );
    },
    async list(q) {
      if (q.profileIds.length === 0) return [];
      let query = db.selectFrom('events').selectAll().where('profile_id', 'in', q.profileIds);
      if (q.type) query = query.where('type', '=', q.type);
      if (q.name) query = query.where('name', '=', q.name);
      if (q.from !== undefined) query = query.where('timestamp', '>=', q.from);
      if (q.to !== undefined) query = query.where('timestamp', '<', q.to);
      const before = q.before;
      if (before) {
        query = query.where((eb) =>
          eb.or([
            eb('timestamp', '<', before.timestamp),
            eb.and([eb('timestamp', '=', before.timestamp), eb('id', '<', before.id)]),
          ]),
        );
      }
      const rows = await query.orderBy('timestamp', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
      return rows.map(toEvent);
    },
    async withTraitsBetween(profileIds, from, to) {
      if (profileIds.length === 0) return [];
      let query = db
        .selectFrom('events')
        .selectAll()
        .where('profile_id', 'in', profileIds)
        .where('timestamp', '>', from)
        .where('traits', 'is not', null)
        // A group call's traits describe the account, not the person.
        .where('type', '<>', 'group');
      if (to !== null) query = query.where('timestamp', '<', to);
      const rows = await query.orderBy('timestamp').orderBy('id').execute();
      return rows.map(toEvent);
    },
    async traitObservations(profileIds, opts = {}) {
      if (profileIds.length === 0) return [];
      const until = opts.until === undefined ? '' : ' and timestamp <= ?';
      // A group event's `traits` are the person's only when it had `context.traits`: its context tells.
      const rows = await rawQuery<ObservationColumns>(
        db,
        d,
        `select id, profile_id, source_id, message_id, type, timestamp, traits, case when type = 'group' then context end as context from events where profile_id in (${list(profileIds.length)}) and traits is not null${until} order by timestamp, id`,
        opts.until === undefined ? profileIds : [...profileIds, opts.until],
      );
      const out: TraitObservationRow[] = [];
      for (const r of rows) {
        if (r.type === 'group') {
          const context = r.context === null ? undefined : asJsonObject(fromJson(r.context));
          const personal = asJsonObject(context?.traits);
          if (!personal || Object.keys(personal).length === 0) continue;
        }
        const traits = fromJson<Record<string, unknown>>(r.traits as string);
        // A value a rectification redacted was no observation of the person (docs/privacy.md, Rectification).
        for (const [k, v] of Object.entries(traits)) if (v === RECTIFIED) delete traits[k];
        if (Object.keys(traits).length === 0) continue;
        out.push({
          eventId: r.id,
          profileId: r.profile_id,
          sourceId: r.source_id,
          messageId: r.message_id,
          timestamp: Number(r.timestamp),
          traits,
        });
      }
      return out;
    },
    async byLogPositions(positions) {
      const out: { id: string; logPosition: number; profileId: string }[] = [];
      for (const part of chunk(positions, 1, 2000)) {
        const rows = await rawQuery<{ id: string; log_position: number | string; profile_id: string }>(
          db,
          d,
          `select id, log_position, profile_id from events where log_position in (${list(part.length)})`,
          [...part],
        );
        for (const r of rows) out.push({ id: r.id, logPosition: Number(r.log_position), profileId: r.profile_id });
      }
      return out;
    },
    async byIds(keys) {
      const out: EventRow[] = [];
      for (const part of chunk(keys, 2, 2000)) {
        const rows = await rawQuery<Database['events']>(
          db,
          d,
          `select * from events where profile_id in (${list(part.length)}) and id in (${list(part.length)})`,
          [...part.map((k) => k.profileId), ...part.map((k) => k.id)],
        );
        const wanted = new Set(part.map((k) => `${k.profileId}\u0000${k.id}`));
        for (const r of rows) if (wanted.has(`${r.profile_id}\u0000${r.id}`)) out.push(toEvent(r));
      }
      return out;
    },
    async tracks(profileIds, names, since) {
      const out: TrackRow[] = [];
      if (names.length === 0) return out;
      for (const part of chunk(profileIds, 1, 2000)) {
        const params: unknown[] = [...part, ...names];
        if (since !== undefined) params.push(since);
        const rows = await rawQuery<{
          id: string;
          profile_id: string;
          name: string;
          timestamp: number | string;
          properties: unknown;
        }>(
          db,
          d,
          `select id, profile_id, name, timestamp, properties from events where profile_id in (${list(part.length)}) and type = 'track' and name in (${list(names.length)})${since === undefined ? '' : ' and timestamp > ?'}`,
          params,
        );
        for (const r of rows)
          out.push({
            id: r.id,
            profileId: r.profile_id,
            name: r.name,
            timestamp: Number(r.timestamp),
            properties: r.properties === null ? null : fromJson(r.properties),
          });
      }
      return out;
    },
    async count() {
      const r = await db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },
  };
}
