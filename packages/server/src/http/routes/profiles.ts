import { type Static, Type } from '@sinclair/typebox';
import {
  AccountPage,
  EventPage,
  HistoryPage,
  IdentityPage,
  MergesPage,
  ProfilePage,
  ProfileView,
  toPublicId,
} from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { toDecisionView, toMergeView, toUnmergeView } from '../../identity/identity-views.js';
import { undoneBy } from '../../identity/merge-graph.js';
import { type ProfileService, toEventView } from '../../profiles/profile-service.js';
import type { Storage } from '../../storage/storage.js';
import { decodeCursor, isIdCursor, isTimeCursor, parseLimit, parseTime, toPage } from '../pagination.js';
import { authorize } from '../principal.js';
import { BEARER, errors, MANAGEMENT_ERRORS, PageQuery, TimeQuery } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const ProfileIdParams = Type.Object({ id: Type.String({ description: 'a profile id (`prof_…`); a merged one too' }) });
const IdentifierParams = Type.Object({
  type: Type.String({
    description: 'identifier type: `user_id`, `anonymous_id`, `email`, `phone`, or a configured one',
  }),
  value: Type.String({ description: 'the value, normalised like the pipeline does (URL-encode it)' }),
});
const SearchQuery = Type.Object({
  q: Type.Optional(Type.String({ description: 'text searched in traits and identifiers (case-insensitive)' })),
  ...PageQuery,
});
const AsOfQuery = Type.Object({
  asOf: TimeQuery('the profile as valid at this event time'),
  knownAt: TimeQuery('as recorded at this time (what the system knew then)'),
});
const EventsQuery = Type.Object({
  type: Type.Optional(
    Type.String({ description: 'call type: `track`, `identify`, `page`, `screen`, `group`, `alias`' }),
  ),
  event: Type.Optional(Type.String({ description: 'event name (`track`) or page / screen name' })),
  name: Type.Optional(Type.String({ description: 'same as `event` (used when `event` is absent)' })),
  from: TimeQuery('events at or after this event time'),
  to: TimeQuery('events before this event time'),
  ...PageQuery,
});
const HistoryQuery = Type.Object({ trait: Type.Optional(Type.String({ description: 'only this trait' })) });

/** OpenAPI and validation of a profiles route (Bearer token, readers, tag `profiles`). */
const route = <T extends object>(summary: string, description: string, rest: T) => ({
  tags: ['profiles'],
  summary,
  description: `${description} Roles: marketer, analyst, dpo, admin.`,
  security: BEARER,
  ...rest,
});

/** The profile API (DESIGN §9): a merged id answers with its survivor. */
export function profileRoutes(deps: { profiles: ProfileService; storage: Storage; respond: Respond }) {
  const { profiles, storage, respond } = deps;
  return async (app: FastifyInstance) => {
    app.get<{ Querystring: Static<typeof SearchQuery> }>(
      '/v1/profiles',
      {
        schema: route('Search profiles', 'Profiles (survivors only) whose traits or identifiers contain `q`.', {
          querystring: SearchQuery,
          response: { 200: ProfilePage, ...errors(...MANAGEMENT_ERRORS) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'profiles.read');
        const limit = parseLimit(request.query.limit);
        const q = (request.query.q ?? '').trim();
        const rows = await profiles.search(q, {
          limit: limit + 1,
          after: decodeCursor(request.query.cursor, isIdCursor),
        });
        return respond(
          request,
          reply,
          toPage(
            rows,
            limit,
            (p) => ({
              id: toPublicId('profile', p.id),
              traits: p.traits,
              createdAt: iso(p.createdAt),
              updatedAt: iso(p.updatedAt),
            }),
            (p) => p.id,
          ),
        );
      },
    );
    app.get<{ Params: Static<typeof ProfileIdParams>; Querystring: Static<typeof AsOfQuery> }>(
      '/v1/profiles/:id',
      {
        schema: route(
          'Get a profile',
          'Golden traits (with the source each survivorship rule chose: `traitSources`), identifiers, merged ids ' +
            'and consents; now, or valid at `asOf` as known at `knownAt`. A merged id answers with its survivor, ' +
            'unless the merge was not yet valid at `asOf` or recorded at `knownAt`.',
          {
            params: ProfileIdParams,
            querystring: AsOfQuery,
            response: { 200: ProfileView, ...errors(...MANAGEMENT_ERRORS, 404) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'profiles.read');
        const asOf = parseTime('asOf', request.query.asOf);
        const knownAt = parseTime('knownAt', request.query.knownAt);
        return respond(request, reply, await profiles.get(request.params.id, { asOf, knownAt }));
      },
    );
    app.get<{ Params: Static<typeof IdentifierParams> }>(
      '/v1/profiles/by/:type/:value',
      {
        schema: route(
          'Find a profile by identifier',
          'The profile holding this identifier, as `GET /v1/profiles/{id}`.',
          {
            params: IdentifierParams,
            response: { 200: ProfileView, ...errors(...MANAGEMENT_ERRORS, 404) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'profiles.read');
        return respond(request, reply, await profiles.byIdentifier(request.params.type, request.params.value));
      },
    );
    app.get<{ Params: Static<typeof ProfileIdParams>; Querystring: Static<typeof EventsQuery> }>(
      '/v1/profiles/:id/events',
      {
        schema: route(
          'List the events of a profile',
          'Events of the profile and of the profiles merged into it, newest first.',
          {
            params: ProfileIdParams,
            querystring: EventsQuery,
            response: { 200: EventPage, ...errors(...MANAGEMENT_ERRORS, 404) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'profiles.read');
        const { ids } = await profiles.family(request.params.id);
        const limit = parseLimit(request.query.limit);
        const rows = await storage.events.list({
          profileIds: ids,
          type: request.query.type,
          name: request.query.event ?? request.query.name,
          from: parseTime('from', request.query.from),
          to: parseTime('to', request.query.to),
          limit: limit + 1,
          before: decodeCursor(request.query.cursor, isTimeCursor),
        });
        return respond(
          request,
          reply,
          toPage(rows, limit, toEventView, (e) => ({ timestamp: e.timestamp, id: e.id })),
        );
      },
    );
    app.get<{ Params: Static<typeof ProfileIdParams> }>(
      '/v1/profiles/:id/identities',
      {
        schema: route(
          'List the identifiers of a profile',
          'Identifiers of the profile and of the profiles merged into it (`linkedTo`: the profile holding it).',
          { params: ProfileIdParams, response: { 200: IdentityPage, ...errors(...MANAGEMENT_ERRORS, 404) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'profiles.read');
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
      },
    );
    app.get<{ Params: Static<typeof ProfileIdParams>; Querystring: Static<typeof HistoryQuery> }>(
      '/v1/profiles/:id/history',
      {
        schema: route(
          'Trait history of a profile',
          'Every interval of every trait value, superseded ones too (bitemporal: valid time and record time).',
          {
            params: ProfileIdParams,
            querystring: HistoryQuery,
            response: { 200: HistoryPage, ...errors(...MANAGEMENT_ERRORS, 404) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'profiles.read');
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
      },
    );
    app.get<{ Params: Static<typeof ProfileIdParams> }>(
      '/v1/profiles/:id/merges',
      {
        schema: route(
          'Merges and identity decisions of a profile',
          'Which profiles were merged into it, by which rule and evidence (an undone merge has `unmergedAt`); ' +
            'identifiers dropped or blocked; unmerges.',
          { params: ProfileIdParams, response: { 200: MergesPage, ...errors(...MANAGEMENT_ERRORS, 404) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'profiles.read');
        const { ids } = await profiles.family(request.params.id);
        const merges = await storage.identities.merges(ids);
        const decisions = await storage.identities.decisions(ids);
        const unmerges = await storage.identities.unmerges(ids);
        const undone = undoneBy(unmerges);
        return respond(request, reply, {
          items: merges.map((m) => toMergeView(m, undone.get(m.id))),
          decisions: decisions.map(toDecisionView),
          unmerges: unmerges.map(toUnmergeView),
          nextCursor: null,
        });
      },
    );
    app.get<{ Params: Static<typeof ProfileIdParams> }>(
      '/v1/profiles/:id/accounts',
      {
        schema: route('List the accounts of a profile', 'Accounts (`group` calls) the profile belongs to.', {
          params: ProfileIdParams,
          response: { 200: AccountPage, ...errors(...MANAGEMENT_ERRORS, 404) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'profiles.read');
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
      },
    );
  };
}
