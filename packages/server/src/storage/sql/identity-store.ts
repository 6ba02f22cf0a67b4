import { type Kysely, sql } from 'kysely';
import type {
  DecisionRow,
  IdentityRow,
  IdentityStore,
  MatchDecisionRow,
  MergeRow,
  Redirect,
  ReviewRow,
  UnmergeRow,
} from '../../identity/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { chunk } from './chunk.js';
import { fromJson, toJson } from './json.js';
import { insertRows, list, rawQuery } from './raw.js';

/**
 * A 52-bit advisory-lock key for an identifier (two 32-bit FNV-1a variants). A collision only makes two
 * identifiers wait for each other. The top bits stay clear of `serialiseAppendsSql`'s small constant key.
 */
export function lockKey(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0) * 2 ** 20 + ((b >>> 0) & 0xfffff) + 2 ** 40;
}

const ONE_IDENTIFIER = '(type = ? and value = ?)';

function toIdentity(r: Database['identities']): IdentityRow {
  return {
    type: r.type,
    value: r.value,
    profileId: r.profile_id,
    sourceId: r.source_id,
    eventId: r.event_id,
    firstSeenAt: Number(r.first_seen_at),
    createdAt: Number(r.created_at),
  };
}

function toRedirect(r: Database['profile_redirects']): Redirect {
  return { fromId: r.from_id, toId: r.to_id, mergedAt: Number(r.merged_at), validAt: Number(r.valid_at) };
}

function toMerge(r: Database['merges']): MergeRow {
  return {
    id: r.id,
    survivorId: r.survivor_id,
    mergedId: r.merged_id,
    mergedAt: Number(r.merged_at),
    validAt: Number(r.valid_at),
    rule: r.rule,
    evidence: fromJson(r.evidence),
    eventId: r.event_id,
    settingsVersion: r.settings_version,
  };
}

function toReview(r: Database['identity_review']): ReviewRow {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status as ReviewRow['status'],
    reason: r.reason,
    evidence: fromJson(r.evidence),
    profileId: r.profile_id,
    createdAt: Number(r.created_at),
    decidedAt: r.decided_at === null ? null : Number(r.decided_at),
    decidedBy: r.decided_by,
  };
}

function toUnmerge(r: Database['unmerges']): UnmergeRow {
  return {
    id: r.id,
    survivorId: r.survivor_id,
    profileId: r.profile_id,
    mergeId: r.merge_id,
    unmergedAt: Number(r.unmerged_at),
    reason: r.reason,
    decidedBy: r.decided_by,
    settingsVersion: r.settings_version,
    evidence: fromJson(r.evidence),
  };
}

function toMatchDecision(r: Database['match_decisions']): MatchDecisionRow {
  return {
    id: r.id,
    profileId: r.profile_id,
    otherId: r.other_id,
    decision: r.decision as MatchDecisionRow['decision'],
    origin: r.origin,
    refId: r.ref_id,
    decidedAt: Number(r.decided_at),
    decidedBy: r.decided_by,
  };
}

/**
 * Hot-path queries are written as `sql` templates: Kysely's builder costs several times the query itself on SQLite;
 * the templates keep Kysely's parameter binding for both dialects.
 */
export function createIdentityStore(db: Kysely<Database>, d: SqlDialect): IdentityStore {
  return {
    async find(identifiers) {
      if (identifiers.length === 0) return [];
      const out: IdentityRow[] = [];
      for (const part of chunk(identifiers, 2, d.maxParameters)) {
        const params: unknown[] = [];
        for (const i of part) params.push(i.type, i.value);
        const rows = await rawQuery<Database['identities']>(
          db,
          d,
          `select * from identities where ${part.length === 1 ? ONE_IDENTIFIER : Array(part.length).fill(ONE_IDENTIFIER).join(' or ')}`,
          params,
        );
        for (const r of rows) out.push(toIdentity(r));
      }
      return out;
    },
    async resolve(profileIds) {
      const map = new Map<string, string>(profileIds.map((id) => [id, id]));
      if (profileIds.length === 0) return map;
      const rows = await rawQuery<{ from_id: string; to_id: string }>(
        db,
        d,
        `select from_id, to_id from profile_redirects where from_id in (${list(profileIds.length)})`,
        profileIds,
      );
      for (const r of rows) map.set(r.from_id, r.to_id);
      return map;
    },
    async family(survivorId) {
      const rows = await rawQuery<{ from_id: string }>(db, d, 'select from_id from profile_redirects where to_id = ?', [
        survivorId,
      ]);
      return [survivorId, ...rows.map((r) => r.from_id)];
    },
    async families(survivorIds) {
      const out = new Map<string, string[]>(survivorIds.map((id) => [id, [id]]));
      for (const part of chunk(survivorIds, 1, 2000)) {
        const rows = await rawQuery<{ from_id: string; to_id: string }>(
          db,
          d,
          `select from_id, to_id from profile_redirects where to_id in (${list(part.length)})`,
          [...part],
        );
        for (const r of rows) out.get(r.to_id)?.push(r.from_id);
      }
      return out;
    },
    async ofProfiles(profileIds) {
      if (profileIds.length === 0) return [];
      const rows = await rawQuery<Database['identities']>(
        db,
        d,
        `select * from identities where profile_id in (${list(profileIds.length)}) order by type, value`,
        profileIds,
      );
      return rows.map(toIdentity);
    },
    async lock(identifiers) {
      if (d.singleWriter || identifiers.length === 0) return;
      const keys = [...new Set(identifiers.map((i) => lockKey(`${i.type}\u0000${i.value}`)))].sort((a, b) => a - b);
      // unnest yields the array's order, so the locks are taken in ascending key order in every transaction.
      await rawQuery(db, d, 'select pg_advisory_xact_lock(k) from unnest(?::bigint[]) as k', [keys]);
    },
    async link(rows) {
      await insertRows(
        db,
        d,
        'insert into identities (type, value, profile_id, source_id, event_id, first_seen_at, created_at)',
        7,
        rows,
        (r, out) => out.push(r.type, r.value, r.profileId, r.sourceId, r.eventId, r.firstSeenAt, r.createdAt),
        'on conflict (type, value) do nothing',
      );
    },
    async redirect(fromIds, toId, at, validAt) {
      if (fromIds.length === 0) return;
      await db.updateTable('profile_redirects').set({ to_id: toId }).where('to_id', 'in', fromIds).execute();
      await db
        .insertInto('profile_redirects')
        .values(fromIds.map((from_id) => ({ from_id, to_id: toId, merged_at: at, valid_at: validAt })))
        .execute();
    },
    async recordMerge(row) {
      await db
        .insertInto('merges')
        .values({
          id: row.id,
          survivor_id: row.survivorId,
          merged_id: row.mergedId,
          merged_at: row.mergedAt,
          valid_at: row.validAt,
          rule: row.rule,
          evidence: toJson(row.evidence),
          event_id: row.eventId,
          settings_version: row.settingsVersion,
        })
        .execute();
    },
    async recordDecisions(rows) {
      await insertRows(
        db,
        d,
        'insert into identity_decisions (id, profile_id, event_id, kind, identifier_type, identifier_value, reason, evidence, settings_version, created_at)',
        10,
        rows,
        (r, out) =>
          out.push(
            r.id,
            r.profileId,
            r.eventId,
            r.kind,
            r.identifierType,
            r.identifierValue,
            r.reason,
            toJson(r.evidence),
            r.settingsVersion,
            r.createdAt,
          ),
      );
    },
    async addReview(row) {
      await db
        .insertInto('identity_review')
        .values({
          id: row.id,
          kind: row.kind,
          status: row.status,
          reason: row.reason,
          evidence: toJson(row.evidence),
          profile_id: row.profileId,
          created_at: row.createdAt,
          decided_at: row.decidedAt ?? null,
          decided_by: row.decidedBy ?? null,
        })
        .execute();
    },
    async review(id) {
      const row = await db.selectFrom('identity_review').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toReview(row) : undefined;
    },
    async reviews(query) {
      let q = db.selectFrom('identity_review').selectAll();
      if (query.status) q = q.where('status', '=', query.status);
      if (query.profileIds) {
        if (query.profileIds.length === 0) return [];
        q = q.where('profile_id', 'in', query.profileIds);
      }
      if (query.after) q = q.where('id', '>', query.after);
      return (await q.orderBy('id').limit(query.limit).execute()).map(toReview);
    },
    async decideReview(id, decision) {
      const result = await db
        .updateTable('identity_review')
        .set({ status: decision.status, decided_at: decision.at, decided_by: decision.by })
        .where('id', '=', id)
        .where('status', '=', 'open')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async split(parts) {
      for (const part of parts) {
        await db.deleteFrom('profile_redirects').where('from_id', '=', part.rootId).execute();
        if (part.memberIds.length > 0)
          await db
            .updateTable('profile_redirects')
            .set({ to_id: part.rootId })
            .where('from_id', 'in', part.memberIds)
            .execute();
      }
    },
    async recordUnmerge(row) {
      await db
        .insertInto('unmerges')
        .values({
          id: row.id,
          survivor_id: row.survivorId,
          profile_id: row.profileId,
          merge_id: row.mergeId,
          unmerged_at: row.unmergedAt,
          reason: row.reason,
          decided_by: row.decidedBy,
          settings_version: row.settingsVersion,
          evidence: toJson(row.evidence),
        })
        .execute();
    },
    async unmerges(profileIds) {
      if (profileIds.length === 0) return [];
      const rows = await db
        .selectFrom('unmerges')
        .selectAll()
        .where((eb) => eb.or([eb('survivor_id', 'in', profileIds), eb('profile_id', 'in', profileIds)]))
        .orderBy('unmerged_at')
        .orderBy('id')
        .execute();
      return rows.map(toUnmerge);
    },
    async recordMatchDecision(row) {
      const [a, b] = row.pair;
      const side = (profileId: string, otherId: string) => ({
        id: row.id,
        profile_id: profileId,
        other_id: otherId,
        decision: row.decision,
        origin: row.origin,
        ref_id: row.refId,
        decided_at: row.decidedAt,
        decided_by: row.decidedBy,
      });
      await db
        .insertInto('match_decisions')
        .values(a === b ? [side(a, b)] : [side(a, b), side(b, a)])
        .execute();
    },
    async matchDecisions(profileIds) {
      let q = db.selectFrom('match_decisions').selectAll();
      if (profileIds) {
        if (profileIds.length === 0) return [];
        q = q.where('profile_id', 'in', profileIds);
      }
      return (await q.orderBy('decided_at').orderBy('id').orderBy('profile_id').execute()).map(toMatchDecision);
    },
    async merges(profileIds) {
      if (profileIds.length === 0) return [];
      const rows = await db
        .selectFrom('merges')
        .selectAll()
        .where((eb) => eb.or([eb('survivor_id', 'in', profileIds), eb('merged_id', 'in', profileIds)]))
        .orderBy('merged_at')
        .orderBy('id')
        .execute();
      return rows.map(toMerge);
    },
    async decisions(profileIds) {
      if (profileIds.length === 0) return [];
      const rows = await db
        .selectFrom('identity_decisions')
        .selectAll()
        .where('profile_id', 'in', profileIds)
        .orderBy('id')
        .execute();
      return rows.map(
        (r): DecisionRow => ({
          id: r.id,
          profileId: r.profile_id,
          eventId: r.event_id,
          kind: r.kind as DecisionRow['kind'],
          identifierType: r.identifier_type,
          identifierValue: r.identifier_value,
          reason: r.reason,
          evidence: fromJson(r.evidence),
          settingsVersion: r.settings_version,
          createdAt: Number(r.created_at),
        }),
      );
    },
    async mergedAt(profileId) {
      const { rows } = await sql<
        Database['profile_redirects']
      >`select * from profile_redirects where from_id = ${profileId}`.execute(db);
      return rows[0] ? toRedirect(rows[0]) : undefined;
    },
    async redirects(survivorId) {
      const { rows } = await sql<
        Database['profile_redirects']
      >`select * from profile_redirects where to_id = ${survivorId} order by merged_at`.execute(db);
      return rows.map(toRedirect);
    },
  };
}
