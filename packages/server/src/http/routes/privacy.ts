import { type Static, Type } from '@sinclair/typebox';
import { PrivacyRequestCreate, PrivacyRequestList, PrivacyRequestView } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import type { PrivacyService } from '../../privacy/privacy-service.js';
import { parseLimit } from '../pagination.js';
import { actorOf, requireRole } from '../principal.js';
import { bearerRoute, errors, MANAGEMENT_ERRORS, PageQuery } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

/** Data-subject requests are the DPO's (and an admin's). */
const DPO = ['dpo'] as const;
const IdParams = Type.Object({ id: Type.String({ description: 'a request id (`dsr_…`)' }) });
const ListQuery = Type.Object({ limit: PageQuery.limit });

const route = <T extends object>(summary: string, description: string, rest: T) =>
  bearerRoute('privacy', summary, description, rest);

/** Data-subject requests (DESIGN §8, `docs/privacy.md`): thin handlers over `PrivacyService`. */
export function privacyRoutes(deps: { privacy: PrivacyService; respond: Respond }) {
  const { privacy, respond } = deps;
  return async (app: FastifyInstance) => {
    app.post<{ Body: Static<typeof PrivacyRequestCreate> }>(
      '/v1/privacy/requests',
      {
        schema: route(
          'Make a data-subject request',
          '`access`: the bundle of everything held about the person the identifier names, in `result` at once. ' +
            '`erase`: every row and raw payload about the person, their identifiers added to the suppression ' +
            'list; it runs in the background (`status: running`, then `completed` with its proof). The identifier ' +
            'is kept only as an HMAC. Roles: dpo, admin.',
          { body: PrivacyRequestCreate, response: { 201: PrivacyRequestView, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        requireRole(request, DPO);
        const r = await privacy.create(request.body, actorOf(request));
        return respond(request, reply, r, 201);
      },
    );
    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/v1/privacy/requests',
      {
        schema: route('List data-subject requests', 'Newest first. Roles: dpo, admin.', {
          querystring: ListQuery,
          response: { 200: PrivacyRequestList, ...errors(...MANAGEMENT_ERRORS) },
        }),
      },
      async (request, reply) => {
        requireRole(request, DPO);
        return respond(request, reply, {
          items: await privacy.list(parseLimit(request.query.limit)),
          nextCursor: null,
        });
      },
    );
    app.get<{ Params: Static<typeof IdParams> }>(
      '/v1/privacy/requests/:id',
      {
        schema: route('Get a data-subject request', 'Its status, proof and (access) result. Roles: dpo, admin.', {
          params: IdParams,
          response: { 200: PrivacyRequestView, ...errors(...MANAGEMENT_ERRORS, 404) },
        }),
      },
      async (request, reply) => {
        requireRole(request, DPO);
        return respond(request, reply, await privacy.get(request.params.id));
      },
    );
  };
}
