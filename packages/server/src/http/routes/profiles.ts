import { toPublicId } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { type ProfileService, toEventView } from '../../profiles/profile-service.js';
import type { Storage } from '../../storage/storage.js';
import { decodeCursor, encodeCursor, parseLimit, parseTime } from '../pagination.js';
import { requireRole } from '../principal.js';
import type { Respond } from '../serialise.js';

const READERS = ['marketer', 'analyst', 'dpo'] as const;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

type Q = Record<string, string | undefined>;

/** The profile API (DESIGN §9): a merged id answers with its survivor. */
export function profileRoutes(deps: { profiles: ProfileService; storage: Storage; respond: Respond }) {
  const { profiles, storage, respond } = deps;
  return async (app: FastifyInstance) => {
    app.get<{ Querystring: Q }>('/v1/profiles', async (request, reply) => {
      requireRole(request, READERS);
      const limit = parseLimit(request.query.limit);
      const q = (request.query.q ?? '').trim();
      const rows = await storage.profiles.search(q, {
        limit: limit + 1,
        after: decodeCursor<string>(request.query.cursor),
      });
      const page = rows.slice(0, limit);
      return respond(request, reply, {
        items: page.map((p) => ({
          id: toPublicId('profile', p.id),
          traits: p.traits,
          createdAt: iso(p.createdAt),
          updatedAt: iso(p.updatedAt),
        })),
        nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1].id) : null,
      });
    });
    app.get<{ Params: { id: string }; Querystring: Q }>('/v1/profiles/:id', async (request, reply) => {
      requireRole(request, READERS);
      const asOf = parseTime('asOf', request.query.asOf);
      const knownAt = parseTime('knownAt', request.query.knownAt);
      return respond(request, reply, await profiles.get(request.params.id, { asOf, knownAt }));
    });
    app.get<{ Params: { type: string; value: string } }>('/v1/profiles/by/:type/:value', async (request, reply) => {
      requireRole(request, READERS);
      return respond(request, reply, await profiles.byIdentifier(request.params.type, request.params.value));
    });
    app.get<{ Params: { id: string }; Querystring: Q }>('/v1/profiles/:id/events', async (request, reply) => {
      requireRole(request, READERS);
      const { ids } = await profiles.family(request.params.id);
      const limit = parseLimit(request.query.limit);
      const rows = await storage.events.list({
        profileIds: ids,
        type: request.query.type,
        name: request.query.event ?? request.query.name,
        from: parseTime('from', request.query.from),
        to: parseTime('to', request.query.to),
        limit: limit + 1,
        before: decodeCursor<{ timestamp: number; id: string }>(request.query.cursor),
      });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return respond(request, reply, {
        items: page.map(toEventView),
        nextCursor: rows.length > limit ? encodeCursor({ timestamp: last.timestamp, id: last.id }) : null,
      });
    });
    app.get<{ Params: { id: string } }>('/v1/profiles/:id/identities', async (request, reply) => {
      requireRole(request, READERS);
      const { ids } = await profiles.family(request.params.id);
      const rows = await storage.identities.ofProfiles(ids);
      return respond(request, reply, {
        items: rows.map((r) => ({
          type: r.type,
          value: r.value,
          sourceId: toPublicId('source', r.sourceId),
          firstSeenAt: iso(r.firstSeenAt),
          linkedTo: toPublicId('profile', r.profileId),
        })),
        nextCursor: null,
      });
    });
    app.get<{ Params: { id: string }; Querystring: Q }>('/v1/profiles/:id/history', async (request, reply) => {
      requireRole(request, READERS);
      const { id } = await profiles.family(request.params.id);
      const rows = await storage.history.all([id], { trait: request.query.trait });
      return respond(request, reply, {
        items: rows.map((r) => ({
          trait: r.trait,
          value: r.value,
          validFrom: iso(r.validFrom),
          validTo: iso(r.validTo),
          recordedAt: iso(r.recordedAt),
          supersededAt: iso(r.supersededAt),
          sourceId: toPublicId('source', r.sourceId),
          eventId: r.eventId ? toPublicId('event', r.eventId) : null,
        })),
        nextCursor: null,
      });
    });
    app.get<{ Params: { id: string } }>('/v1/profiles/:id/merges', async (request, reply) => {
      requireRole(request, READERS);
      const { ids } = await profiles.family(request.params.id);
      const merges = await storage.identities.merges(ids);
      const decisions = await storage.identities.decisions(ids);
      return respond(request, reply, {
        items: merges.map((m) => ({
          id: toPublicId('merge', m.id),
          survivorId: toPublicId('profile', m.survivorId),
          mergedId: toPublicId('profile', m.mergedId),
          mergedAt: iso(m.mergedAt),
          rule: m.rule,
          evidence: m.evidence,
          settingsVersion: m.settingsVersion,
        })),
        decisions: decisions.map((d) => ({
          id: toPublicId('decision', d.id),
          kind: d.kind,
          identifier: d.identifierType ? { type: d.identifierType, value: d.identifierValue } : null,
          reason: d.reason,
          evidence: d.evidence,
          eventId: d.eventId ? toPublicId('event', d.eventId) : null,
          settingsVersion: d.settingsVersion,
          createdAt: iso(d.createdAt),
        })),
        nextCursor: null,
      });
    });
    app.get<{ Params: { id: string } }>('/v1/profiles/:id/accounts', async (request, reply) => {
      requireRole(request, READERS);
      const { ids } = await profiles.family(request.params.id);
      const rows = await storage.accounts.ofProfiles(ids);
      return respond(request, reply, {
        items: rows.map((a) => ({
          id: toPublicId('account', a.id),
          groupId: a.groupId,
          traits: a.traits,
          linkedAt: iso(a.linkedAt),
          updatedAt: iso(a.updatedAt),
        })),
        nextCursor: null,
      });
    });
  };
}
