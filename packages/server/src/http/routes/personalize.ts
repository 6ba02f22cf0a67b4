import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TesseraError } from '../../errors.js';
import type { PersonalizeService } from '../../personalize/personalize-service.js';
import { actorOf, authorize } from '../principal.js';
import { BEARER, documentedBody, errors, MANAGEMENT_ERRORS } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

const SourceParams = Type.Object({ id: Type.String({ description: 'a source id (`src_…`) or name' }) });
const Settings = Type.Object(
  {
    origins: Type.Array(Type.String(), { description: 'origins a browser may call from: `https://shop.example`' }),
    traits: Type.Array(Type.String(), { description: 'trait keys answered' }),
    audiences: Type.Array(Type.String(), { description: 'audience keys answered' }),
  },
  { additionalProperties: true },
);
const SettingsView = Type.Object(
  {
    ...Settings.properties,
    hasKey: Type.Optional(Type.Boolean({ description: 'whether the source has a read key' })),
    readKey: Type.Optional(Type.String({ description: 'the new read key, shown only this once' })),
  },
  { additionalProperties: true },
);
const PersonalizeQuery = Type.Object({
  userId: Type.Optional(Type.String()),
  anonymousId: Type.Optional(Type.String()),
  key: Type.Optional(Type.String({ description: 'the read key (or the `X-Tessera-Key` header, or Basic auth)' })),
});
const PersonalizeAnswer = Type.Object(
  {
    known: Type.Boolean({ description: 'whether the identifier belongs to a profile' }),
    traits: Type.Record(Type.String(), Type.Unknown(), { description: 'the allow-listed traits the profile has' }),
    audiences: Type.Array(
      Type.Object(
        { key: Type.String(), enteredAt: Type.String({ format: 'date-time' }) },
        { additionalProperties: true },
      ),
      { description: 'the allow-listed audiences the profile is in, with entry times' },
    ),
  },
  { additionalProperties: true, description: 'What the read key may see of the visitor' },
);

const route = <T extends object>(summary: string, description: string, rest: T) => ({
  tags: ['sources'],
  summary,
  description,
  security: BEARER,
  ...rest,
});

/** The read key of a request: `?key=`, the `X-Tessera-Key` header, or the Basic-auth user name. */
function readKeyOf(request: FastifyRequest<{ Querystring: Static<typeof PersonalizeQuery> }>): string | undefined {
  if (request.query.key) return request.query.key;
  const header = request.headers['x-tessera-key'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = request.headers.authorization;
  if (auth?.startsWith('Basic '))
    return Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')[0] || undefined;
  return undefined;
}

function cors(reply: FastifyReply, origin: string) {
  reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
}

/**
 * The personalisation endpoint for websites (issue 5) and the settings of each source's read key. Answers come from
 * stored rows (no evaluation), CORS per source origin, only the allow-listed traits and audience keys.
 */
export function personalizeRoutes(deps: { personalize: PersonalizeService; respond: Respond }) {
  const { personalize, respond } = deps;
  return async (app: FastifyInstance) => {
    app.get<{ Params: Static<typeof SourceParams> }>(
      '/v1/sources/:id/personalization',
      {
        schema: route(
          'Get the personalisation settings of a source',
          'Origins, traits and audience keys its read key may read, and whether it has a key. Roles: admin, marketer.',
          { params: SourceParams, response: { 200: SettingsView, ...errors(...MANAGEMENT_ERRORS, 404) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'personalization.read');
        return respond(request, reply, await personalize.settings(request.params.id));
      },
    );
    app.put<{ Params: Static<typeof SourceParams>; Body: unknown }>(
      '/v1/sources/:id/personalization',
      {
        config: documentedBody(Settings),
        schema: route(
          'Set the personalisation settings of a source',
          'What its read key may read: `{origins, traits, audiences}` (each at most 100). Creates the read key when ' +
            'the source has none and answers it once (`readKey`). Role: admin.',
          { params: SourceParams, response: { 200: SettingsView, ...errors(...MANAGEMENT_ERRORS, 404) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'sources.manage');
        return respond(request, reply, await personalize.configure(request.params.id, request.body, actorOf(request)));
      },
    );
    app.post<{ Params: Static<typeof SourceParams> }>(
      '/v1/sources/:id/read-key',
      {
        schema: route(
          'Rotate the read key of a source',
          'A new read key for the personalisation endpoint, shown only this once; the old one stops working (within ' +
            '30 s on other nodes). Role: admin.',
          { params: SourceParams, response: { 200: SettingsView, ...errors(...MANAGEMENT_ERRORS, 404) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'sources.manage');
        return respond(request, reply, await personalize.rotate(request.params.id, actorOf(request)));
      },
    );
    app.get<{ Querystring: Static<typeof PersonalizeQuery> }>(
      '/v1/personalize',
      {
        schema: {
          tags: ['tracking'],
          summary: 'Personalise a page',
          description:
            'For websites: the allow-listed traits and audiences of the visitor named by `userId` or `anonymousId` ' +
            '(one of them). Authenticated by the source’s read key (`?key=`, `X-Tessera-Key` or Basic auth), ' +
            'which reaches nothing else. A browser call must come from one of the source’s origins (CORS). An ' +
            'unknown visitor answers `known: false`.',
          security: [{ readKey: [] }, { readKeyHeader: [] }],
          querystring: PersonalizeQuery,
          response: { 200: PersonalizeAnswer, ...errors(400, 401, 403, 500) },
        },
      },
      async (request, reply) => {
        const key = readKeyOf(request);
        if (!key) throw new TesseraError('unauthorized', 'a read key is required (?key=, X-Tessera-Key or Basic auth)');
        const row = await personalize.authenticate(key);
        if (!row) throw new TesseraError('unauthorized', 'unknown read key');
        const origin = request.headers.origin;
        if (origin !== undefined) {
          if (!row.origins.includes(origin))
            throw new TesseraError('forbidden', 'this origin is not allowed for the read key');
          cors(reply, origin);
        }
        const { userId, anonymousId } = request.query;
        if ((userId === undefined) === (anonymousId === undefined) || (userId ?? anonymousId) === '')
          throw new TesseraError('invalid_request', 'give exactly one of userId and anonymousId');
        const answer = await personalize.answer(
          row,
          userId !== undefined
            ? { type: 'user_id', value: userId }
            : { type: 'anonymous_id', value: anonymousId as string },
        );
        reply.header('cache-control', 'private, no-store');
        return reply.send({
          known: answer.known,
          traits: answer.traits,
          audiences: answer.audiences.map((a) => ({ key: a.key, enteredAt: new Date(a.enteredAt).toISOString() })),
        });
      },
    );
    // CORS preflight (a call with the `X-Tessera-Key` header): it carries no key, so any source's origins pass here;
    // the call itself is checked against its own source's.
    app.options('/v1/personalize', { schema: { hide: true } }, async (request, reply) => {
      const origin = request.headers.origin;
      if (origin && (await personalize.originAllowed(origin))) {
        cors(reply, origin);
        reply
          .header('access-control-allow-methods', 'GET')
          .header('access-control-allow-headers', 'x-tessera-key, authorization')
          .header('access-control-max-age', '600');
      }
      return reply.status(204).send();
    });
  };
}
