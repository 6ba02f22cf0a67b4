import { type Static, Type } from '@sinclair/typebox';
import { SurvivorshipSettings, SurvivorshipVersion, SurvivorshipVersionPage } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import type { SurvivorshipService, SurvivorshipVersionRow } from '../../profiles/survivorship-service.js';
import { decodeCursor, parseLimit, toPage } from '../pagination.js';
import { actorOf, authorize } from '../principal.js';
import { BEARER, documentedBody, errors, MANAGEMENT_ERRORS, PageQuery } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

const VersionsQuery = Type.Object({ ...PageQuery });
const isVersionCursor = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** OpenAPI and validation of a settings route (Bearer token, tag `settings`). */
const route = <T extends object>(summary: string, description: string, rest: T) => ({
  tags: ['settings'],
  summary,
  description,
  security: BEARER,
  ...rest,
});

const toView = (v: SurvivorshipVersionRow) => ({
  version: v.version,
  settings: v.settings,
  createdAt: v.createdAt === null ? null : new Date(v.createdAt).toISOString(),
  createdBy: v.createdBy,
});

/** The survivorship setting (DESIGN §5, §9): read it, write a new version, list the versions. */
export function survivorshipRoutes(deps: { survivorship: SurvivorshipService; respond: Respond }) {
  const { survivorship, respond } = deps;
  return async (app: FastifyInstance) => {
    app.get(
      '/v1/settings/survivorship',
      {
        schema: route(
          'Get the survivorship rules',
          'The version in force: a default rule and per-trait rules (`docs/survivorship.md`). Version 0 is the ' +
            'default (`most_recent` for every trait). Roles: marketer, analyst, dpo, admin.',
          { response: { 200: SurvivorshipVersion, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'settings.read');
        return respond(request, reply, toView(await survivorship.current()));
      },
    );
    app.put<{ Body: unknown }>(
      '/v1/settings/survivorship',
      {
        // Checked by `parseSurvivorship`, which names the faulty field (and the sources, against the store).
        config: documentedBody(SurvivorshipSettings),
        schema: route(
          'Set the survivorship rules',
          'Writes a new version (the previous ones are kept) and answers it. Profile reads apply it at once. ' +
            'Each source of a `source_priority` rule must exist (name or `src_…` id). Role: admin.',
          { response: { 200: SurvivorshipVersion, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'settings.write');
        return respond(request, reply, toView(await survivorship.put(request.body, actorOf(request))));
      },
    );
    app.get<{ Querystring: Static<typeof VersionsQuery> }>(
      '/v1/settings/survivorship/versions',
      {
        schema: route(
          'List the versions of the survivorship rules',
          'Every version, newest first, with who wrote it and when; the last is version 0 (the defaults). ' +
            'Roles: marketer, analyst, dpo, admin.',
          { querystring: VersionsQuery, response: { 200: SurvivorshipVersionPage, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'settings.read');
        const limit = parseLimit(request.query.limit);
        const before = decodeCursor(request.query.cursor, isVersionCursor);
        const rows = (await survivorship.versions()).filter((v) => before === undefined || v.version < before);
        return respond(
          request,
          reply,
          toPage(rows, limit, toView, (v) => v.version),
        );
      },
    );
  };
}
