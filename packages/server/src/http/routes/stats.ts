import { type Static, Type } from '@sinclair/typebox';
import { Open, toPublicId } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { TesseraError } from '../../errors.js';
import type { IngestWriter } from '../../ingest/ingest-writer.js';
import type { Storage } from '../../storage/storage.js';
import { authorize } from '../principal.js';
import { bearerRoute, errors, MANAGEMENT_ERRORS } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

const DAY_MS = 86_400_000;
const Query = Type.Object({
  days: Type.Optional(Type.String({ description: 'the window, 1 to 365 days (default 30)' })),
});
const Count = Type.Integer({ minimum: 0 });
const OverviewView = Open({
  days: Type.Integer(),
  eventsPerDay: Type.Array(Open({ day: Type.String({ format: 'date' }), sourceId: Type.String(), events: Count })),
  profiles: Count,
  identified: Count,
  merges: Count,
  topEvents: Type.Array(Open({ name: Type.String(), events: Count })),
  consents: Type.Array(Open({ purpose: Type.String(), granted: Count, denied: Count })),
  backlog: Type.Integer({ description: 'events accepted and not processed yet (this node)' }),
});

/** The web app's overview figures (issue 8): one call, aggregates only (no personal data). */
export function statsRoutes(deps: { storage: Storage; writer: IngestWriter; respond: Respond }) {
  return async (app: FastifyInstance) => {
    app.get<{ Querystring: Static<typeof Query> }>(
      '/v1/stats/overview',
      {
        schema: bearerRoute(
          'profiles',
          'Overview figures',
          'Events per day by source and the top track events over `days`; profiles, identified profiles (an ' +
            'identifier other than an anonymous id), merges recorded, current consents per purpose, the backlog. ' +
            'Roles: marketer, analyst, dpo, admin.',
          { querystring: Query, response: { 200: OverviewView, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'profiles.read');
        const days = request.query.days === undefined ? 30 : Number(request.query.days);
        if (!Number.isInteger(days) || days < 1 || days > 365)
          throw new TesseraError('invalid_request', 'days must be an integer from 1 to 365');
        const now = Date.now();
        const since = (Math.floor(now / DAY_MS) - days + 1) * DAY_MS;
        const o = await deps.storage.stats.overview({ since, now, topEvents: 10 });
        return deps.respond(request, reply, {
          days,
          ...o,
          eventsPerDay: o.eventsPerDay.map((e) => ({
            day: new Date(e.day * DAY_MS).toISOString().slice(0, 10),
            sourceId: toPublicId('source', e.sourceId),
            events: e.events,
          })),
          backlog: deps.writer?.backlog().events ?? 0,
        });
      },
    );
  };
}
