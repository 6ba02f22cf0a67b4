import { type Static, Type } from '@sinclair/typebox';
import {
  AudienceCreate,
  AudienceMemberPage,
  AudiencePage,
  AudiencePreview,
  AudiencePreviewRequest,
  AudienceUpdate,
  AudienceVersionPage,
  AudienceView,
  fromPublicId,
  ProfileAudiences,
  toPublicId,
} from '@tessera/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AudienceService } from '../../audiences/audience-service.js';
import { audienceView, memberView } from '../../audiences/audience-view.js';
import { TesseraError } from '../../errors.js';
import { decodeCursor, isIdCursor, parseLimit, toPage } from '../pagination.js';
import { actorOf, authorize } from '../principal.js';
import { BEARER, documentedBody, errors, MANAGEMENT_ERRORS, PageQuery } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

const KeyParams = Type.Object({ key: Type.String({ description: 'the audience key' }) });
const ProfileIdParams = Type.Object({ id: Type.String({ description: 'a profile id (`prof_…`); a merged one too' }) });
const MembersQuery = Type.Object({
  ...PageQuery,
  format: Type.Optional(Type.String({ description: '`json` (default) or `csv`: every member, streamed' })),
});
const SizesQuery = Type.Object({ days: Type.Optional(Type.String({ description: '1 to 366 (default 30)' })) });
const StaysQuery = Type.Object({
  history: Type.Optional(Type.String({ description: '`true`: past stays too' })),
});

const route = <T extends object>(summary: string, description: string, rest: T, tag = 'audiences') => ({
  tags: [tag],
  summary,
  description,
  security: BEARER,
  ...rest,
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** `?cursor=` of the members list: a bare profile id. */
function afterCursor(raw: unknown): string | undefined {
  return decodeCursor(raw, isIdCursor);
}

/** Audiences (DESIGN §6): definitions, preview, members, a profile's stays; thin handlers over `AudienceService`. */
export function audienceRoutes(deps: { audiences: AudienceService; respond: Respond }) {
  const { audiences, respond } = deps;
  return async (app: FastifyInstance) => {
    app.get(
      '/v1/audiences',
      {
        schema: route(
          'List audiences',
          'Every audience, by key, with its member count, summary and recomputation status. One page holds them ' +
            'all (at most 500 exist). Roles: marketer, analyst, dpo, admin.',
          { response: { 200: AudiencePage, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.read');
        return respond(request, reply, { items: (await audiences.list()).map(audienceView), nextCursor: null });
      },
    );
    app.post<{ Body: unknown }>(
      '/v1/audiences',
      {
        // Checked by `parseAudience`, which names the faulty field (`definition.conditions.1.window.last`).
        config: documentedBody(AudienceCreate),
        schema: route(
          'Create an audience',
          'Saves version 1 of a definition (the language: `docs/audiences.md`). Every `audience` condition must name ' +
            'an existing audience, without a cycle. Events move profiles in and out at once; the profiles already ' +
            'stored are evaluated by the scheduler’s full recomputation (`status: computing` until it ran). ' +
            '`409` when the key is taken. Roles: marketer, admin.',
          { response: { 201: AudienceView, ...errors(...MANAGEMENT_ERRORS, 409) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.write');
        return respond(request, reply, audienceView(await audiences.create(request.body, actorOf(request))), 201);
      },
    );
    app.post<{ Body: unknown }>(
      '/v1/audiences/preview',
      {
        config: documentedBody(AudiencePreviewRequest),
        schema: route(
          'Preview an audience',
          'Estimates how many profiles a definition holds, without saving it: a random sample (5,000 profiles by ' +
            'default) gives the estimate and its 95 % interval; `exact: true` also counts every member. ' +
            'Roles: marketer, analyst, dpo, admin.',
          { response: { 200: AudiencePreview, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.read');
        const preview = await audiences.preview(request.body);
        return respond(request, reply, { ...preview, sample: preview.sample.map((id) => toPublicId('profile', id)) });
      },
    );
    app.get<{ Params: Static<typeof KeyParams> }>(
      '/v1/audiences/:key',
      {
        schema: route('Get an audience', 'Roles: marketer, analyst, dpo, admin.', {
          params: KeyParams,
          response: { 200: AudienceView, ...errors(...MANAGEMENT_ERRORS, 404) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'audiences.read');
        return respond(request, reply, audienceView(await audiences.get(request.params.key)));
      },
    );
    app.patch<{ Params: Static<typeof KeyParams>; Body: unknown }>(
      '/v1/audiences/:key',
      {
        config: documentedBody(AudienceUpdate),
        schema: route(
          'Change an audience',
          'Saves the fields given as the next version; a new definition is recomputed in full by the scheduler. ' +
            'Roles: marketer, admin.',
          { params: KeyParams, response: { 200: AudienceView, ...errors(...MANAGEMENT_ERRORS, 404) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.write');
        return respond(
          request,
          reply,
          audienceView(await audiences.update(request.params.key, request.body, actorOf(request))),
        );
      },
    );
    app.delete<{ Params: Static<typeof KeyParams> }>(
      '/v1/audiences/:key',
      {
        schema: route(
          'Delete an audience',
          'Saves a last version marked deleted and answers it; the scheduler then closes every stay (exit reason ' +
            '`deleted`, each published) and frees the key. `409` while another audience names it. ' +
            'Roles: marketer, admin.',
          { params: KeyParams, response: { 200: AudienceView, ...errors(...MANAGEMENT_ERRORS, 404, 409) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.write');
        return respond(request, reply, audienceView(await audiences.remove(request.params.key, actorOf(request))));
      },
    );
    app.get<{ Params: Static<typeof KeyParams> }>(
      '/v1/audiences/:key/versions',
      {
        schema: route('List the versions of an audience', 'Newest first. Roles: marketer, analyst, dpo, admin.', {
          params: KeyParams,
          response: { 200: AudienceVersionPage, ...errors(...MANAGEMENT_ERRORS, 404) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'audiences.read');
        const versions = await audiences.versions(request.params.key);
        return respond(request, reply, {
          items: versions.map((v) => ({
            version: v.version,
            name: v.name,
            description: v.description,
            definition: v.definition,
            deleted: v.deleted,
            createdAt: iso(v.createdAt),
            createdBy: v.createdBy,
          })),
          nextCursor: null,
        });
      },
    );
    app.post<{ Params: Static<typeof KeyParams> }>(
      '/v1/audiences/:key/recompute',
      {
        schema: route(
          'Recompute an audience',
          'Asks the scheduler to recompute the audience in full at its next run (within seconds); answers the ' +
            'audience. Roles: marketer, admin.',
          { params: KeyParams, response: { 200: AudienceView, ...errors(...MANAGEMENT_ERRORS, 404) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.write');
        return respond(request, reply, audienceView(await audiences.requestRecompute(request.params.key)));
      },
    );
    app.get<{ Params: Static<typeof KeyParams>; Querystring: Static<typeof SizesQuery> }>(
      '/v1/audiences/:key/sizes',
      {
        schema: route(
          'The size of an audience over time',
          'Its members at the end of each of the last `days` days (1 to 366, default 30; today: now), oldest first, ' +
            'from the stays on record. Roles: marketer, analyst, dpo, admin.',
          {
            params: KeyParams,
            querystring: SizesQuery,
            response: {
              200: Type.Object({
                items: Type.Array(Type.Object({ day: Type.String({ format: 'date' }), members: Type.Integer() })),
              }),
              ...errors(...MANAGEMENT_ERRORS, 404),
            },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.read');
        const days = request.query.days === undefined ? 30 : Number(request.query.days);
        if (!Number.isInteger(days) || days < 1 || days > 366)
          throw new TesseraError('invalid_request', 'days must be an integer from 1 to 366');
        return respond(request, reply, { items: await audiences.sizes(request.params.key, days) });
      },
    );
    app.get<{ Params: Static<typeof KeyParams>; Querystring: Static<typeof MembersQuery> }>(
      '/v1/audiences/:key/members',
      {
        schema: route(
          'List the members of an audience',
          'Current members by profile id, with their entry time; `?format=csv` streams every member as CSV ' +
            '(`profile_id,entered_at,version`). Roles: marketer, analyst, dpo, admin.',
          {
            params: KeyParams,
            querystring: MembersQuery,
            response: { 200: AudienceMemberPage, ...errors(...MANAGEMENT_ERRORS, 404) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.read');
        const { key } = request.params;
        const format = request.query.format ?? 'json';
        if (format === 'csv') return sendCsv(audiences, key, reply);
        if (format !== 'json') throw new TesseraError('invalid_request', 'format must be json or csv');
        const limit = parseLimit(request.query.limit);
        const rows = await audiences.members(key, { limit: limit + 1, after: afterCursor(request.query.cursor) });
        return respond(
          request,
          reply,
          toPage(rows, limit, memberView, (m) => m.profileId),
        );
      },
    );
    app.get<{ Params: Static<typeof ProfileIdParams>; Querystring: Static<typeof StaysQuery> }>(
      '/v1/profiles/:id/audiences',
      {
        schema: route(
          'List the audiences of a profile',
          'The audiences the profile (its survivor, for a merged id) is in, with entry times; `?history=true` adds ' +
            'its past stays with their exit time and reason. Roles: marketer, analyst, dpo, admin.',
          {
            params: ProfileIdParams,
            querystring: StaysQuery,
            response: { 200: ProfileAudiences, ...errors(...MANAGEMENT_ERRORS, 404) },
          },
          'profiles',
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.read');
        const id = fromPublicId('profile', request.params.id);
        if (!id) throw new TesseraError('not_found', 'no such profile');
        const stays = await audiences.ofProfile(id, request.query.history === 'true');
        return respond(request, reply, {
          items: stays.map((s) => ({
            audienceKey: s.audienceKey,
            name: s.name,
            member: s.exitedAt === null,
            enteredAt: iso(s.enteredAt),
            exitedAt: iso(s.exitedAt),
            enteredVersion: s.enteredVersion,
            exitedVersion: s.exitedVersion,
            exitReason: s.exitReason,
          })),
        });
      },
    );
  };
}

/** Every member of `key` as CSV, read a page at a time while the answer streams. */
async function sendCsv(audiences: AudienceService, key: string, reply: FastifyReply) {
  const first = await audiences.members(key, { limit: 5_000 });
  async function* lines() {
    yield 'profile_id,entered_at,version\n';
    let page = first;
    for (;;) {
      yield page.map((m) => `${toPublicId('profile', m.profileId)},${iso(m.enteredAt)},${m.enteredVersion}\n`).join('');
      if (page.length < 5_000) return;
      page = await audiences.members(key, { limit: 5_000, after: page[page.length - 1].profileId });
    }
  }
  const { Readable } = await import('node:stream');
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${key}.csv"`)
    .send(Readable.from(lines()));
}
