import type { DeliveryMessage } from '@tessera/protocol';
import type { Kysely } from 'kysely';
import type {
  DeliveryRow,
  DeliverySettlement,
  DeliveryStatus,
  DeliveryStore,
  MessageRow,
  MessageStore,
} from '../../destinations/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { chunk } from './chunk.js';
import { lockKey } from './identity-store.js';
import { fromJson, toJson } from './json.js';
import { num, numOrNull } from './numbers.js';
import { insertRows, list, rawQuery, rowsOf } from './raw.js';

const toDelivery = (r: Database['deliveries']): DeliveryRow => ({
  id: r.id,
  profileId: r.profile_id,
  destinationId: r.destination_id,
  changeId: r.change_id,
  kind: r.kind as DeliveryRow['kind'],
  payload: fromJson<DeliveryMessage>(r.payload),
  status: r.status as DeliveryStatus,
  reason: r.reason,
  syncKey: r.sync_key,
  attempts: num(r.attempts),
  nextAttemptAt: num(r.next_attempt_at),
  leasedUntil: numOrNull(r.leased_until),
  lastStatus: numOrNull(r.last_status),
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
  finishedAt: numOrNull(r.finished_at),
});

const DELIVERY_COLUMNS =
  'profile_id, id, destination_id, change_id, kind, payload, status, reason, sync_key, attempts, next_attempt_at, leased_until, last_status, created_at, updated_at, finished_at';

export function createDeliveryStore(db: Kysely<Database>, d: SqlDialect): DeliveryStore {
  return {
    async enqueue(input, now) {
      if (input.length === 0) return 0;
      // Of rows sharing a destination and sync key, the last one is the state to send: earlier ones of the batch are
      // written superseded.
      const last = new Map<string, DeliveryRow>();
      for (const r of input)
        if (r.syncKey !== null && r.status === 'pending') last.set(`${r.destinationId}\u0000${r.syncKey}`, r);
      const rows = input.map((r) =>
        r.syncKey !== null && r.status === 'pending' && last.get(`${r.destinationId}\u0000${r.syncKey}`) !== r
          ? { ...r, status: 'skipped' as const, reason: 'superseded', finishedAt: now }
          : r,
      );
      const inserted = new Set<string>();
      for (const part of chunk(rows, 16, d.maxParameters)) {
        const params: unknown[] = [];
        for (const r of part)
          params.push(
            r.profileId,
            r.id,
            r.destinationId,
            r.changeId,
            r.kind,
            toJson(r.payload),
            r.status,
            r.reason,
            r.syncKey,
            r.attempts,
            r.nextAttemptAt,
            r.leasedUntil,
            r.lastStatus,
            r.createdAt,
            r.updatedAt,
            r.finishedAt,
          );
        const written = await rawQuery<{ id: string }>(
          db,
          d,
          `insert into deliveries (${DELIVERY_COLUMNS}) values ${rowsOf(16, part.length)} on conflict (profile_id, id) do nothing returning id`,
          params,
        );
        for (const w of written) inserted.add(w.id);
      }
      // Only a row written now replaces the pending states before it: a change routed again (its row exists) must
      // not supersede the newer state that replaced it.
      const byDestination = new Map<string, DeliveryRow[]>();
      for (const r of last.values())
        if (inserted.has(r.id)) byDestination.set(r.destinationId, [...(byDestination.get(r.destinationId) ?? []), r]);
      for (const [destinationId, latest] of byDestination) {
        for (const part of chunk(latest, 2, d.maxParameters - 8)) {
          await rawQuery(
            db,
            d,
            `update deliveries set status = 'skipped', reason = 'superseded', finished_at = ?, updated_at = ?
             where destination_id = ? and status = 'pending' and leased_until is null
               and sync_key in (${list(part.length)}) and id not in (${list(part.length)})`,
            [now, now, destinationId, ...part.map((r) => r.syncKey), ...part.map((r) => r.id)],
          );
        }
      }
      return inserted.size;
    },
    async claim(destinationId, now, leaseUntil, limit) {
      const due = `select profile_id, id from deliveries where destination_id = ? and status = 'pending' and next_attempt_at <= ?
        and (leased_until is null or leased_until < ?) order by next_attempt_at limit ? ${d.skipLockedSql}`;
      const rows = await rawQuery<Database['deliveries']>(
        db,
        d,
        d.singleWriter
          ? `update deliveries set leased_until = ?, updated_at = ? where (profile_id, id) in (${due}) returning *`
          : `with due as (${due}) update deliveries set leased_until = ?, updated_at = ? from due
             where deliveries.profile_id = due.profile_id and deliveries.id = due.id returning deliveries.*`,
        d.singleWriter
          ? [leaseUntil, now, destinationId, now, now, limit]
          : [destinationId, now, now, limit, leaseUntil, now],
      );
      return rows.map(toDelivery).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1));
    },
    async settle(settlements) {
      // One statement per group of rows that end alike (a delivered batch is one group).
      const groups = new Map<string, DeliverySettlement[]>();
      for (const x of settlements) {
        const key = JSON.stringify([
          x.status,
          x.reason,
          x.lastStatus,
          x.attempted,
          x.nextAttemptAt,
          x.finishedAt,
          x.lease,
        ]);
        const group = groups.get(key);
        if (group) group.push(x);
        else groups.set(key, [x]);
      }
      for (const group of groups.values()) {
        const s = group[0] as DeliverySettlement;
        for (const part of chunk(group, 2, d.maxParameters - 10)) {
          await rawQuery(
            db,
            d,
            `update deliveries set status = ?, reason = ?, last_status = coalesce(?, last_status), attempts = attempts + ?,
               next_attempt_at = coalesce(?, next_attempt_at), finished_at = ?, leased_until = null, updated_at = ?
             where (profile_id, id) in (${rowsOf(2, part.length)}) and leased_until = ?`,
            [
              s.status,
              s.reason,
              s.lastStatus,
              s.attempted,
              s.nextAttemptAt,
              s.finishedAt,
              s.at,
              ...part.flatMap((x) => [x.profileId, x.id]),
              s.lease,
            ],
          );
        }
      }
    },
    async nextDue(destinationId, now) {
      // A row in flight (leased) is due again only when its lease lapses.
      const [row] = await rawQuery<{ at: number | null }>(
        db,
        d,
        `select min(case when leased_until is not null and leased_until > ? then leased_until else next_attempt_at end) as at
         from deliveries where destination_id = ? and status = 'pending'`,
        [now, destinationId],
      );
      return row?.at === null || row?.at === undefined ? undefined : num(row.at);
    },
    async list(destinationId, q) {
      const params: unknown[] = [destinationId];
      let where = 'destination_id = ?';
      if (q.status) {
        where += ' and status = ?';
        params.push(q.status);
      }
      if (q.before) {
        where += ' and (created_at < ? or (created_at = ? and id < ?))';
        params.push(q.before.createdAt, q.before.createdAt, q.before.id);
      }
      const rows = await rawQuery<Database['deliveries']>(
        db,
        d,
        `select * from deliveries where ${where} order by created_at desc, id desc limit ?`,
        [...params, q.limit],
      );
      return rows.map(toDelivery);
    },
    async get(destinationId, ids) {
      if (ids.length === 0) return [];
      const rows = await rawQuery<Database['deliveries']>(
        db,
        d,
        `select * from deliveries where destination_id = ? and id in (${list(ids.length)})`,
        [destinationId, ...ids],
      );
      return rows.map(toDelivery);
    },
    async counts(destinationId) {
      const out: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, dead: 0, skipped: 0 };
      const rows = await rawQuery<{ status: DeliveryStatus; n: number }>(
        db,
        d,
        'select status, count(*) as n from deliveries where destination_id = ? group by status',
        [destinationId],
      );
      for (const r of rows) out[r.status] = num(r.n);
      return out;
    },
    async replay(destinationId, ids, now) {
      const filter = ids === 'all' ? '' : ` and id in (${list(ids.length)})`;
      if (ids !== 'all' && ids.length === 0) return 0;
      const rows = await rawQuery<{ id: string }>(
        db,
        d,
        `update deliveries set status = 'pending', attempts = 0, next_attempt_at = ?, leased_until = null, finished_at = null,
           created_at = ?, updated_at = ?
         where destination_id = ? and status = 'dead'${filter} returning id`,
        [now, now, now, destinationId, ...(ids === 'all' ? [] : ids)],
      );
      return rows.length;
    },
    async latency(destinationId, since) {
      const rows = await rawQuery<{ ms: number }>(
        db,
        d,
        `select finished_at - created_at as ms from deliveries
         where destination_id = ? and status = 'delivered' and finished_at >= ? order by ms`,
        [destinationId, since],
      );
      const values = rows.map((r) => num(r.ms));
      const at = (q: number) =>
        values.length ? (values[Math.min(values.length - 1, Math.floor(q * values.length))] as number) : null;
      return { count: values.length, p50: at(0.5), p99: at(0.99) };
    },
    async purge(before, limit) {
      const rows = await rawQuery<{ id: string }>(
        db,
        d,
        `delete from deliveries where (profile_id, id) in (select profile_id, id from deliveries
           where status in ('delivered', 'skipped') and finished_at < ? limit ?) returning id`,
        [before, limit],
      );
      return rows.length;
    },
    async ofProfiles(profileIds) {
      const out: DeliveryRow[] = [];
      for (const part of chunk(profileIds, 1, d.maxParameters)) {
        const rows = await rawQuery<Database['deliveries']>(
          db,
          d,
          `select * from deliveries where profile_id in (${list(part.length)})`,
          part,
        );
        for (const r of rows) out.push(toDelivery(r));
      }
      return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
  };
}

const toMessage = (r: Database['messages']): MessageRow => ({
  id: r.id,
  profileId: r.profile_id,
  channel: r.channel,
  at: num(r.at),
  destinationId: r.destination_id,
  deliveryId: r.delivery_id,
  origin: r.origin as MessageRow['origin'],
});

export function createMessageStore(db: Kysely<Database>, d: SqlDialect): MessageStore {
  return {
    async lock(profileIds) {
      if (d.singleWriter || profileIds.length === 0) return;
      const keys = [...new Set(profileIds.map((id) => lockKey(`pressure\u0000${id}`)))].sort((a, b) => a - b);
      for (const key of keys) await rawQuery(db, d, 'select pg_advisory_xact_lock(?)', [key]);
    },
    async insert(rows) {
      await insertRows(
        db,
        d,
        'insert into messages (profile_id, id, channel, at, destination_id, delivery_id, origin)',
        7,
        rows,
        (r, out) => out.push(r.profileId, r.id, r.channel, r.at, r.destinationId, r.deliveryId, r.origin),
        'on conflict (profile_id, id) do nothing',
      );
    },
    async remove(keys) {
      for (const k of keys)
        await rawQuery(db, d, 'delete from messages where profile_id = ? and id = ?', [k.profileId, k.id]);
    },
    async since(profileIds, from) {
      if (profileIds.length === 0) return [];
      const rows = await rawQuery<Database['messages']>(
        db,
        d,
        `select * from messages where profile_id in (${list(profileIds.length)}) and at >= ? order by at, id`,
        [...profileIds, from],
      );
      return rows.map(toMessage);
    },
  };
}
