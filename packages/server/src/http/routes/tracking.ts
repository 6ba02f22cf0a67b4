import { type TSchema, Type } from '@sinclair/typebox';
import { BatchBody, CALL_SCHEMAS, EVENT_TYPES, type EventType, TrackingResponse } from '@tessera/protocol';
import type { FastifyInstance, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { TesseraError } from '../../errors.js';
import type { IngestService } from '../../ingest/ingest-service.js';
import { isWithinEventLimits } from '../../ingest/parse/index.js';
import { asJsonObject } from '../../json-record.js';
import type { SourceRow } from '../../sources/ports.js';
import type { SourceService } from '../../sources/source-service.js';
import { basicUser } from '../principal.js';
import { documentedBody, errors, WRITE_KEY } from '../route-schemas.js';
import { useTrackingBodyParser } from '../tracking-body-parser.js';
import { allowCrossOriginTracking } from '../tracking-cors.js';

const CALLS: Record<EventType, TSchema> = CALL_SCHEMAS;

/** The short paths analytics.js posts single calls to (`/v1/t`…) and batches to (`/v1/b`). */
const SHORT_PATHS = [
  ['t', 'track'],
  ['i', 'identify'],
  ['p', 'page'],
  ['s', 'screen'],
  ['g', 'group'],
  ['a', 'alias'],
  ['b', 'batch'],
] as const;

/** The body of `POST /v1/{type}`: one call, whose `type` the path gives. */
function callBody(type: EventType): TSchema {
  return Type.Composite([Type.Omit(CALLS[type], ['type']), Type.Object({ type: Type.Optional(Type.Literal(type)) })], {
    additionalProperties: true,
  });
}

/**
 * OpenAPI of a tracking route. The body is documented, not validated here: the tracking parser and the ingest
 * service check it (quarantining bad calls instead of refusing the request).
 */
function trackingRoute(type: EventType | 'batch', short?: string): RouteShorthandOptions {
  const what = type === 'batch' ? 'a batch of calls' : `one \`${type}\` call`;
  return {
    bodyLimit: 4 * 1024 * 1024,
    config: documentedBody(type === 'batch' ? BatchBody : callBody(type)),
    schema: {
      tags: ['tracking'],
      summary: short ? `Send ${what} (short path of /v1/${type})` : `Send ${what}`,
      description:
        'Segment-compatible. Auth: the write key as Basic-auth user name, or `writeKey` in the body. Any content ' +
        'type is read as JSON; `Content-Encoding: gzip` or `deflate` is accepted. Invalid calls are quarantined ' +
        'and listed in the answer; the request fails only when no call is valid.',
      security: WRITE_KEY,
      response: { 200: TrackingResponse, ...errors(400, 401, 413, 415, 500, 503) },
    },
  };
}

/** Resolves the write key (Basic-auth user name, else `writeKey` in the body) to its source, or 401. */
export async function authenticateWriteKey(
  sources: SourceService,
  request: FastifyRequest,
  body: Record<string, unknown> | undefined,
): Promise<SourceRow> {
  const key = basicUser(request) ?? (typeof body?.writeKey === 'string' ? body.writeKey : undefined);
  if (!key) throw new TesseraError('unauthorized', 'a write key is required (Basic auth user name or "writeKey")');
  const source = await sources.authenticate(key);
  if (!source) throw new TesseraError('unauthorized', 'unknown write key');
  request.principal = { kind: 'writeKey', sourceId: source.id, roles: [] };
  return source;
}

/** The tracking API: `POST /v1/{track,identify,page,screen,group,alias,batch}` (DESIGN §9). */
export function trackingRoutes(deps: { sources: SourceService; ingest: IngestService }) {
  return async (app: FastifyInstance) => {
    useTrackingBodyParser(app);
    allowCrossOriginTracking(
      app,
      [...EVENT_TYPES, 'batch', ...SHORT_PATHS.map(([short]) => short)].map((p) => `/v1/${p}`),
    );
    app.addHook('onRequest', async (request) => {
      // Refuse an unknown Basic-auth key before reading the body.
      const key = basicUser(request);
      if (key && !(await deps.sources.authenticate(key))) throw new TesseraError('unauthorized', 'unknown write key');
    });
    const handle = (type: EventType | 'batch') => async (request: FastifyRequest) => {
      const body = asJsonObject(request.body);
      if (!body) throw new TesseraError('invalid_body', 'the body must be a JSON object');
      const source = await authenticateWriteKey(deps.sources, request, body);
      if (type === 'batch') {
        if (!Array.isArray(body.batch)) throw new TesseraError('invalid_body', '"batch" must be an array of calls');
        return deps.ingest.accept(source, body.batch, {
          sentAt: typeof body.sentAt === 'string' ? body.sentAt : undefined,
          batchContext: asJsonObject(body.context),
          withinLimits: isWithinEventLimits(body),
        });
      }
      return deps.ingest.accept(source, [body], { typeFromPath: type, withinLimits: isWithinEventLimits(body) });
    };
    for (const type of [...EVENT_TYPES, 'batch'] as const) {
      app.post(`/v1/${type}`, trackingRoute(type), handle(type));
    }
    // analytics.js posts single calls to short paths too.
    for (const [short, type] of SHORT_PATHS) {
      app.post(`/v1/${short}`, trackingRoute(type, short), handle(type));
    }
  };
}
