import { type Static, Type } from '@sinclair/typebox';
import { JsonObject, Nullable, Open, toPublicId } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { TesseraError } from '../../errors.js';
import type { SourceService } from '../../sources/source-service.js';
import type { Storage } from '../../storage/storage.js';
import { authorize } from '../principal.js';
import { bearerRoute, errors, MANAGEMENT_ERRORS } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

/** How far back in the log the debugger looks (positions of every source): recent calls only. */
const SCAN = 20_000;

const Params = Type.Object({ id: Type.String({ description: 'a source id (`src_…`) or name' }) });
const Query = Type.Object({
  after: Type.Optional(Type.String({ description: '`last` of the previous answer: only newer calls' })),
  limit: Type.Optional(Type.String({ description: '1 to 200 (default 50)' })),
});
const DebuggerEntry = Open({
  position: Type.Integer({ description: 'the call’s position in the ingest log' }),
  receivedAt: Type.String({ format: 'date-time' }),
  messageId: Type.String(),
  type: Nullable(Type.String()),
  event: Nullable(Type.String({ description: '`event` of a track, `name` of a page or screen' })),
  status: Type.String({
    description: '`pending` (not processed yet), `processed`, or `quarantined` with its `code` and `reason`',
  }),
  code: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  call: JsonObject,
});
const DebuggerPage = Open({
  items: Type.Array(DebuggerEntry),
  last: Type.Integer({ description: 'pass it back as `after` to get only newer calls' }),
  processedUpTo: Type.Integer({ description: 'the pipeline’s position: calls up to it are processed' }),
});

/**
 * The live event debugger (issue 8): a source's latest calls as they arrive, each with its status and, when it was
 * quarantined, the code and reason. The web app polls it with `?after=`. Reads the embedded ingest log (a cluster's
 * log is a JetStream stream: 409 there).
 */
export function debuggerRoutes(deps: {
  storage: Storage;
  sources: SourceService;
  consumer: string;
  clusterBus: boolean;
  respond: Respond;
}) {
  return async (app: FastifyInstance) => {
    app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof Query> }>(
      '/v1/sources/:id/debugger',
      {
        schema: bearerRoute(
          'sources',
          'Watch a source’s calls as they arrive',
          'Newest first, from the last 20,000 calls of the log: each call as logged, its status, and the quarantine ' +
            'code and reason when refused. Poll with `?after=` set to `last`. Personal data masked per role. ' +
            'Roles: marketer, analyst, admin.',
          {
            params: Params,
            querystring: Query,
            response: { 200: DebuggerPage, ...errors(...MANAGEMENT_ERRORS, 404, 409) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'sources.read');
        if (deps.clusterBus)
          throw new TesseraError('conflict', 'in cluster mode the ingest log is a JetStream stream: read it there');
        const source = await deps.sources.get(request.params.id);
        const after = request.query.after === undefined ? 0 : Number(request.query.after);
        const limit = request.query.limit === undefined ? 50 : Number(request.query.limit);
        if (!Number.isSafeInteger(after) || after < 0)
          throw new TesseraError('invalid_request', 'after must be a log position (a non-negative integer)');
        if (!Number.isInteger(limit) || limit < 1 || limit > 200)
          throw new TesseraError('invalid_request', 'limit must be an integer from 1 to 200');
        const { storage } = deps;
        const entries = await storage.log.recent(source.id, { after, limit, scan: SCAN });
        const quarantined = new Map(
          (await storage.quarantine.atPositions(entries.map((e) => e.position))).map((q) => [q.logPosition, q]),
        );
        const processedUpTo = await storage.log.offset(deps.consumer);
        const items = entries.map((e) => {
          let call: Record<string, unknown> = {};
          try {
            call = JSON.parse(e.payload);
          } catch {
            call = {};
          }
          const q = quarantined.get(e.position);
          const refused = e.rejection ?? (q ? { code: q.code, reason: q.reason } : null);
          const name = typeof call.event === 'string' ? call.event : typeof call.name === 'string' ? call.name : null;
          return {
            position: e.position,
            receivedAt: new Date(e.receivedAt).toISOString(),
            messageId: e.messageId,
            type: typeof call.type === 'string' ? call.type : null,
            event: name,
            status: refused ? 'quarantined' : e.position <= processedUpTo ? 'processed' : 'pending',
            code: refused?.code ?? null,
            reason: refused?.reason ?? null,
            call,
          };
        });
        return deps.respond(request, reply, {
          items,
          last: Math.max(after, ...entries.map((e) => e.position)),
          processedUpTo,
          sourceId: toPublicId('source', source.id),
        });
      },
    );
  };
}
