import { type Static, Type } from '@sinclair/typebox';
import {
  CreateSourceBody,
  fromPublicId,
  Mapping,
  QuarantinePage,
  ReplayResponse,
  SourcePage,
  SourceView,
  SourceWithKey,
  toPublicId,
} from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { isTesseraError, TesseraError } from '../../errors.js';
import { parseMapping } from '../../imports/index.js';
import type { IngestService } from '../../ingest/ingest-service.js';
import type { SourceService } from '../../sources/source-service.js';
import type { Storage } from '../../storage/storage.js';
import { decodeCursor, isIdCursor, parseLimit, toPage } from '../pagination.js';
import { authorize } from '../principal.js';
import { BEARER, documentedBody, errors, MANAGEMENT_ERRORS, PageQuery } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

const SourceParams = Type.Object({ id: Type.String({ description: 'public id (`src_…`) or name' }) });
const QuarantineQuery = Type.Object({
  status: Type.Optional(Type.String({ description: '`open` (default) or `replayed`' })),
  ...PageQuery,
});
const ReplayParams = Type.Object({ ...SourceParams.properties, qid: Type.String({ description: '`qua_…`' }) });
const ReplayBody = Type.Object(
  { event: Type.Optional(Type.Unknown({ description: 'the corrected call; default: the call as received' })) },
  { additionalProperties: true, description: '`{}` replays the call as received' },
);

/** OpenAPI and validation of a sources route (Bearer token, tag `sources`). */
const route = <T extends object>(summary: string, rest: T) => ({
  tags: ['sources'],
  summary,
  security: BEARER,
  ...rest,
});

/** Sources, their keys, their quarantine and its replay (management API, Bearer token). */
export function sourceRoutes(deps: {
  sources: SourceService;
  storage: Storage;
  ingest: IngestService;
  respond: Respond;
}) {
  const { sources, respond } = deps;
  return async (app: FastifyInstance) => {
    app.post<{ Body: Static<typeof CreateSourceBody> }>(
      '/v1/sources',
      {
        schema: route('Create a source', {
          description: 'Answers its write key, shown only this once. Role: admin.',
          body: CreateSourceBody,
          response: { 201: SourceWithKey, ...errors(...MANAGEMENT_ERRORS, 409) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'sources.manage');
        const mapping = request.body.mapping === undefined ? null : parseMapping(request.body.mapping);
        const created = await sources.create({ name: request.body.name, kind: request.body.kind, mapping });
        return respond(request, reply, { ...created.source, writeKey: created.writeKey }, 201);
      },
    );
    app.get(
      '/v1/sources',
      {
        schema: route('List the sources', {
          description: 'Every source, in one page. Roles: marketer, analyst, admin.',
          response: { 200: SourcePage, ...errors(...MANAGEMENT_ERRORS) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'sources.read');
        return respond(request, reply, { items: await sources.list(), nextCursor: null });
      },
    );
    app.post<{ Params: Static<typeof SourceParams> }>(
      '/v1/sources/:id/rotate-key',
      {
        schema: route('Rotate the write key of a source', {
          description: 'The old key stops working at once; the new one is shown only this once. Role: admin.',
          params: SourceParams,
          response: { 200: SourceWithKey, ...errors(...MANAGEMENT_ERRORS, 404) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'sources.manage');
        const rotated = await sources.rotateKey(request.params.id);
        return respond(request, reply, { ...rotated.source, writeKey: rotated.writeKey });
      },
    );
    app.put<{ Params: Static<typeof SourceParams>; Body: unknown }>(
      '/v1/sources/:id/mapping',
      {
        // Checked by `parseMapping`, which names the faulty field (`docs/mapping.md`).
        config: documentedBody(Mapping),
        schema: route('Set the mapping of a source', {
          description: 'How webhook bodies (and imports) become tracking calls (`docs/mapping.md`). Role: admin.',
          params: SourceParams,
          response: { 200: SourceView, ...errors(...MANAGEMENT_ERRORS, 404) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'sources.manage');
        return respond(
          request,
          reply,
          await sources.setMapping(request.params.id, parseMapping(request.body) as Mapping),
        );
      },
    );
    app.get<{ Params: Static<typeof SourceParams>; Querystring: Static<typeof QuarantineQuery> }>(
      '/v1/sources/:id/quarantine',
      {
        schema: route('List the quarantined events of a source', {
          description: 'Events refused at ingest or by the pipeline, with their reason. Roles: analyst, admin.',
          params: SourceParams,
          querystring: QuarantineQuery,
          response: { 200: QuarantinePage, ...errors(...MANAGEMENT_ERRORS, 404) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'quarantine.read');
        const source = await sources.get(request.params.id);
        const limit = parseLimit(request.query.limit);
        const status = request.query.status ?? 'open';
        if (status !== 'open' && status !== 'replayed')
          throw new TesseraError('invalid_request', 'status must be open or replayed');
        const rows = await deps.storage.quarantine.list(source.id, {
          status,
          limit: limit + 1,
          after: decodeCursor(request.query.cursor, isIdCursor),
        });
        const item = (q: (typeof rows)[number]) => ({
          id: toPublicId('quarantine', q.id),
          code: q.code,
          reason: q.reason,
          messageId: q.messageId,
          receivedAt: new Date(q.receivedAt).toISOString(),
          status: q.status,
          payload: safeParse(q.payload),
        });
        return respond(
          request,
          reply,
          toPage(rows, limit, item, (q) => q.id),
        );
      },
    );
    app.post<{ Params: Static<typeof ReplayParams>; Body: { event?: unknown } | undefined }>(
      '/v1/sources/:id/quarantine/:qid/replay',
      {
        // Optional body (none, or `{}`, replays the call as received): documented only.
        config: documentedBody(ReplayBody),
        schema: route('Replay a quarantined event', {
          description:
            'Ingests the event again, as received or as corrected in `event`. A replay that fails validation again ' +
            'answers `no_valid_events` and leaves the event open. Role: admin.',
          params: ReplayParams,
          response: { 200: ReplayResponse, ...errors(...MANAGEMENT_ERRORS, 404, 409, 503) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'sources.manage');
        const source = await sources.get(request.params.id);
        const qid = fromPublicId('quarantine', request.params.qid);
        const row = qid ? await deps.storage.quarantine.get(qid) : undefined;
        if (!row || row.sourceId !== source.id) throw new TesseraError('not_found', 'no such quarantined event');
        if (row.status !== 'open') throw new TesseraError('conflict', 'this event was already replayed');
        const event = request.body?.event ?? safeParse(row.payload);
        // Closed before the append, so the pipeline, which may process the replayed call at once, does not take it
        // for a copy of this open row.
        // The original receive time is kept, so the call's skew-corrected time does not move to the replay time.
        await deps.storage.quarantine.markReplayed(row.id, Date.now());
        try {
          const result = await deps.ingest.accept(source, [event], { receivedAt: new Date(row.receivedAt) });
          return respond(request, reply, { replayed: true, ...result });
        } catch (e) {
          // Still invalid: the call was logged again and the pipeline quarantines it anew (the new item carries the
          // new reason), so this one stays closed. Any other failure (503…) appended nothing: reopen.
          if (!(isTesseraError(e) && e.code === 'no_valid_events')) await deps.storage.quarantine.reopen(row.id);
          throw e;
        }
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
