import { type Static, Type } from '@sinclair/typebox';
import {
  ComputedTraitInput,
  ComputedTraitPage,
  ComputedTraitView,
  fromPublicId,
  ProfileComputedTraits,
  RfmSettings,
  RfmSettingsView,
  RfmSummary,
} from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import type { ComputedTraitDetails, ComputedTraitService } from '../../audiences/computed-trait-service.js';
import type { RfmService } from '../../audiences/rfm.js';
import { TesseraError } from '../../errors.js';
import { actorOf, authorize } from '../principal.js';
import { BEARER, documentedBody, errors, MANAGEMENT_ERRORS } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

const KeyParams = Type.Object({ key: Type.String({ description: 'the computed trait key' }) });
const ProfileIdParams = Type.Object({ id: Type.String({ description: 'a profile id (`prof_…`); a merged one too' }) });

const route = <T extends object>(summary: string, description: string, rest: T, tag = 'audiences') => ({
  tags: [tag],
  summary,
  description,
  security: BEARER,
  ...rest,
});

const toView = (t: ComputedTraitDetails) => ({
  key: t.key,
  name: t.name,
  definition: t.definition,
  summary: t.summary,
  updatedAt: new Date(t.updatedAt).toISOString(),
  updatedBy: t.updatedBy,
});

/** Computed traits (docs/audiences.md, "Computed traits"): definitions, and a profile's values now. */
export function computedTraitRoutes(deps: { computedTraits: ComputedTraitService; rfm: RfmService; respond: Respond }) {
  const { computedTraits, rfm, respond } = deps;
  return async (app: FastifyInstance) => {
    app.get(
      '/v1/settings/rfm',
      {
        schema: route(
          'Get the RFM settings',
          'The purchase event and amount property RFM scores use (`settings: null` before any is set). ' +
            'Roles: marketer, analyst, dpo, admin.',
          { response: { 200: RfmSettingsView, ...errors(...MANAGEMENT_ERRORS) } },
          'settings',
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.read');
        return respond(request, reply, await rfm.settings());
      },
    );
    app.put<{ Body: unknown }>(
      '/v1/settings/rfm',
      {
        config: documentedBody(RfmSettings),
        schema: route(
          'Set the RFM settings',
          '`{event, amountProperty, windowDays?}`: a new version; every profile is scored with it at once (the ' +
            'answer holds the run), then hourly. Roles: marketer, admin.',
          { response: { 200: RfmSettingsView, ...errors(...MANAGEMENT_ERRORS) } },
          'settings',
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.write');
        return respond(request, reply, await rfm.put(request.body, actorOf(request)));
      },
    );
    app.get(
      '/v1/rfm',
      {
        schema: route(
          'Get the RFM grid',
          'The last run: profiles per (recency, frequency) score and per segment. Roles: marketer, analyst, dpo, admin.',
          { response: { 200: RfmSummary, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.read');
        const summary = await rfm.summary();
        return respond(request, reply, {
          ...summary,
          computedAt: summary.computedAt === null ? null : new Date(summary.computedAt).toISOString(),
        });
      },
    );
    app.get(
      '/v1/computed-traits',
      {
        schema: route('List computed traits', 'Every computed trait by key. Roles: marketer, analyst, dpo, admin.', {
          response: { 200: ComputedTraitPage, ...errors(...MANAGEMENT_ERRORS) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'audiences.read');
        return respond(request, reply, { items: (await computedTraits.list()).map(toView), nextCursor: null });
      },
    );
    app.get<{ Params: Static<typeof KeyParams> }>(
      '/v1/computed-traits/:key',
      {
        schema: route('Get a computed trait', 'Roles: marketer, analyst, dpo, admin.', {
          params: KeyParams,
          response: { 200: ComputedTraitView, ...errors(...MANAGEMENT_ERRORS, 404) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'audiences.read');
        return respond(request, reply, toView(await computedTraits.get(request.params.key)));
      },
    );
    app.put<{ Params: Static<typeof KeyParams>; Body: unknown }>(
      '/v1/computed-traits/:key',
      {
        config: documentedBody(ComputedTraitInput),
        schema: route(
          'Create or change a computed trait',
          '`{name, definition: {fn, event, property?, where?, window?}}`; errors name the field ' +
            '(`invalid computed trait: definition.property: is required for sum`). Audiences that read it are ' +
            'recomputed in full. Roles: marketer, admin.',
          { params: KeyParams, response: { 200: ComputedTraitView, ...errors(...MANAGEMENT_ERRORS, 404, 409) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.write');
        return respond(
          request,
          reply,
          toView(await computedTraits.put(request.params.key, request.body, actorOf(request))),
        );
      },
    );
    app.delete<{ Params: Static<typeof KeyParams> }>(
      '/v1/computed-traits/:key',
      {
        schema: route('Delete a computed trait', '`409` while an audience reads it. Roles: marketer, admin.', {
          params: KeyParams,
          response: { 200: Type.Object({ deleted: Type.String() }), ...errors(...MANAGEMENT_ERRORS, 404, 409) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'audiences.write');
        await computedTraits.remove(request.params.key, actorOf(request));
        return respond(request, reply, { deleted: request.params.key });
      },
    );
    app.get<{ Params: Static<typeof ProfileIdParams> }>(
      '/v1/profiles/:id/computed-traits',
      {
        schema: route(
          'Get the computed traits of a profile',
          'Every computed trait’s value now (its survivor’s, for a merged id), computed from the stored events; ' +
            'a missing value is left out. Roles: marketer, analyst, dpo, admin.',
          { params: ProfileIdParams, response: { 200: ProfileComputedTraits, ...errors(...MANAGEMENT_ERRORS, 404) } },
          'profiles',
        ),
      },
      async (request, reply) => {
        authorize(request, 'audiences.read');
        const id = fromPublicId('profile', request.params.id);
        if (!id) throw new TesseraError('not_found', 'no such profile');
        const at = Date.now();
        return respond(request, reply, { values: await computedTraits.values(id, at), at: new Date(at).toISOString() });
      },
    );
  };
}
