import { type Mapping, toPublicId } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { TesseraError } from '../../errors.js';
import { parseMapping } from '../../imports/index.js';
import type { IngestService } from '../../ingest/ingest-service.js';
import type { SourceKind } from '../../sources/ports.js';
import type { SourceService } from '../../sources/source-service.js';
import type { Storage } from '../../storage/storage.js';
import { decodeCursor, encodeCursor, parseLimit } from '../pagination.js';
import { requireRole } from '../principal.js';
import type { Respond } from '../serialise.js';

interface CreateBody {
  name: string;
  kind?: SourceKind;
  mapping?: unknown;
}

/** Sources, their keys, their quarantine and its replay (management API, Bearer token). */
export function sourceRoutes(deps: {
  sources: SourceService;
  storage: Storage;
  ingest: IngestService;
  respond: Respond;
}) {
  const { sources, respond } = deps;
  return async (app: FastifyInstance) => {
    app.post<{ Body: CreateBody }>(
      '/v1/sources',
      {
        schema: {
          body: {
            type: 'object',
            required: ['name'],
            additionalProperties: false,
            properties: {
              name: { type: 'string' },
              kind: { enum: ['tracking', 'webhook', 'import'] },
              mapping: { type: 'object' },
            },
          },
        },
      },
      async (request, reply) => {
        requireRole(request, ['admin']);
        const mapping = request.body.mapping === undefined ? null : parseMapping(request.body.mapping);
        const created = await sources.create({ name: request.body.name, kind: request.body.kind, mapping });
        return respond(request, reply, { ...created.source, writeKey: created.writeKey }, 201);
      },
    );
    app.get('/v1/sources', async (request, reply) => {
      requireRole(request, ['marketer', 'analyst']);
      return respond(request, reply, { items: await sources.list(), nextCursor: null });
    });
    app.post<{ Params: { id: string } }>('/v1/sources/:id/rotate-key', async (request, reply) => {
      requireRole(request, ['admin']);
      const rotated = await sources.rotateKey(request.params.id);
      return respond(request, reply, { ...rotated.source, writeKey: rotated.writeKey });
    });
    app.put<{ Params: { id: string }; Body: unknown }>('/v1/sources/:id/mapping', async (request, reply) => {
      requireRole(request, ['admin']);
      return respond(
        request,
        reply,
        await sources.setMapping(request.params.id, parseMapping(request.body) as Mapping),
      );
    });
    app.get<{ Params: { id: string }; Querystring: { status?: string; limit?: string; cursor?: string } }>(
      '/v1/sources/:id/quarantine',
      async (request, reply) => {
        requireRole(request, ['admin', 'analyst']);
        const source = await sources.get(request.params.id);
        const limit = parseLimit(request.query.limit);
        const status = request.query.status ?? 'open';
        if (status !== 'open' && status !== 'replayed')
          throw new TesseraError('invalid_request', 'status must be open or replayed');
        const rows = await deps.storage.quarantine.list(source.id, {
          status,
          limit: limit + 1,
          after: decodeCursor<string>(request.query.cursor),
        });
        const page = rows.slice(0, limit);
        return respond(request, reply, {
          items: page.map((q) => ({
            id: toPublicId('quarantine', q.id),
            code: q.code,
            reason: q.reason,
            messageId: q.messageId,
            receivedAt: new Date(q.receivedAt).toISOString(),
            status: q.status,
            payload: safeParse(q.payload),
          })),
          nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1].id) : null,
        });
      },
    );
    app.post<{ Params: { id: string; qid: string }; Body: { event?: unknown } | undefined }>(
      '/v1/sources/:id/quarantine/:qid/replay',
      async (request, reply) => {
        requireRole(request, ['admin']);
        const source = await sources.get(request.params.id);
        const qid = request.params.qid.replace(/^qua_/, '');
        const row = await deps.storage.quarantine.get(qid);
        if (!row || row.sourceId !== source.id) throw new TesseraError('not_found', 'no such quarantined event');
        if (row.status !== 'open') throw new TesseraError('conflict', 'this event was already replayed');
        const event = request.body?.event ?? safeParse(row.payload);
        // A replay that fails validation again throws `no_valid_events` and leaves this row open.
        const result = await deps.ingest.accept(source, [event]);
        await deps.storage.quarantine.markReplayed(row.id, Date.now());
        return respond(request, reply, { replayed: true, ...result });
      },
    );
  };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
