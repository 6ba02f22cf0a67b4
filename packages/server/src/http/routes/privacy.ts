import { type Static, Type } from '@sinclair/typebox';
import {
  ConsentPurposes,
  ConsentPurposesView,
  ConsentSet,
  PrivacyRequestCreate,
  PrivacyRequestList,
  PrivacyRequestView,
  ProfileConsents,
  RetentionPolicies,
  RetentionPoliciesView,
} from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import type { ConsentService } from '../../privacy/consent-service.js';
import type { PrivacyService } from '../../privacy/privacy-service.js';

/** The retention policies as the routes read and save them (`privacy/retention.ts`). */
export interface RetentionSettings {
  get(): Promise<{ rules: RetentionPolicies['rules']; version: number }>;
  save(value: RetentionPolicies, by: string): Promise<{ rules: RetentionPolicies['rules']; version: number }>;
}

import { parseLimit } from '../pagination.js';
import { actorOf, authorize } from '../principal.js';
import { bearerRoute, errors, MANAGEMENT_ERRORS, PageQuery } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

const ProfileParams = Type.Object({ id: Type.String({ description: 'a profile id (`prof_…`); a merged one too' }) });
const IdParams = Type.Object({ id: Type.String({ description: 'a request id (`dsr_…`)' }) });
const ListQuery = Type.Object({ limit: PageQuery.limit });

const route = <T extends object>(summary: string, description: string, rest: T) =>
  bearerRoute('privacy', summary, description, rest);

/**
 * Data-subject requests and consents (DESIGN §8, `docs/privacy.md`): thin handlers over `PrivacyService` and
 * `ConsentService`.
 */
export function privacyRoutes(deps: {
  privacy: PrivacyService;
  consents: ConsentService;
  retention: RetentionSettings;
  respond: Respond;
}) {
  const { privacy, consents, retention, respond } = deps;
  return async (app: FastifyInstance) => {
    app.get(
      '/v1/settings/retention',
      {
        schema: bearerRoute(
          'settings',
          'Get the retention policies',
          'Rules `{source?, type?, name?, days}`: events older than `days`, with their raw payloads, are deleted by the ' +
            "scheduler's `retention` job (every 6 hours). Roles: marketer, analyst, dpo, admin.",
          { response: { 200: RetentionPoliciesView, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'settings.read');
        return respond(request, reply, await retention.get());
      },
    );
    app.put<{ Body: Static<typeof RetentionPolicies> }>(
      '/v1/settings/retention',
      {
        schema: bearerRoute('settings', 'Set the retention policies', 'Saves a new version. Roles: dpo, admin.', {
          body: RetentionPolicies,
          response: { 200: RetentionPoliciesView, ...errors(...MANAGEMENT_ERRORS) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'privacy.settings');
        return respond(request, reply, await retention.save(request.body, actorOf(request)));
      },
    );
    app.get<{ Params: Static<typeof ProfileParams> }>(
      '/v1/profiles/:id/consents',
      {
        schema: bearerRoute(
          'profiles',
          "A person's consents",
          'The consent per purpose now (the latest decision valid now, over the person and the profiles merged into ' +
            'it), and every decision recorded, from `context.consent` or through this API. Roles: marketer, ' +
            'analyst, dpo, admin.',
          { params: ProfileParams, response: { 200: ProfileConsents, ...errors(...MANAGEMENT_ERRORS, 404) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'profiles.read');
        return respond(request, reply, await consents.consentsOf(request.params.id));
      },
    );
    app.post<{ Params: Static<typeof ProfileParams>; Body: Static<typeof ConsentSet> }>(
      '/v1/profiles/:id/consents',
      {
        schema: bearerRoute(
          'profiles',
          'Record a consent decision',
          '`{purpose, granted, legalBasis?, validFrom?}`: a decision made outside the tracked channels (a call, a ' +
            'paper form), kept in the history with source `api`; destinations follow it at once. The purpose must ' +
            'be one of `/v1/settings/consent-purposes`. Roles: marketer, dpo, admin.',
          {
            params: ProfileParams,
            body: ConsentSet,
            response: { 201: ProfileConsents, ...errors(...MANAGEMENT_ERRORS, 404) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'consents.write');
        return respond(request, reply, await consents.set(request.params.id, request.body, actorOf(request)), 201);
      },
    );
    app.get(
      '/v1/settings/consent-purposes',
      {
        schema: bearerRoute(
          'settings',
          'Get the consent purposes',
          'Each purpose with its channels and default legal basis (version 0: the defaults). Roles: marketer, analyst, dpo, admin.',
          { response: { 200: ConsentPurposesView, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'settings.read');
        return respond(request, reply, await consents.purposes());
      },
    );
    app.put<{ Body: Static<typeof ConsentPurposes> }>(
      '/v1/settings/consent-purposes',
      {
        schema: bearerRoute('settings', 'Set the consent purposes', 'Saves a new version. Roles: dpo, admin.', {
          body: ConsentPurposes,
          response: { 200: ConsentPurposesView, ...errors(...MANAGEMENT_ERRORS) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'privacy.settings');
        return respond(request, reply, await consents.setPurposes(request.body, actorOf(request)));
      },
    );
    app.post<{ Body: Static<typeof PrivacyRequestCreate> }>(
      '/v1/privacy/requests',
      {
        schema: route(
          'Make a data-subject request',
          '`access`: the bundle of everything held about the person the identifier names, in `result` at once. ' +
            '`erase`: every row and raw payload about the person, their identifiers added to the suppression ' +
            'list; it runs in the background (`status: running`, then `completed` with its proof). `rectify` with ' +
            '`corrections` `{trait: value or null}`: the traits set (null: removed) and recorded as a correction, ' +
            'their wrong values rewritten in the trait history and replaced by `"[rectified]"` in raw payloads; in ' +
            'the background too. The identifier is kept only as an HMAC. Roles: dpo, admin.',
          { body: PrivacyRequestCreate, response: { 201: PrivacyRequestView, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'privacy.requests');
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
        authorize(request, 'privacy.requests');
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
        authorize(request, 'privacy.requests');
        return respond(request, reply, await privacy.get(request.params.id));
      },
    );
  };
}
