import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import type { Mapping, QuarantinedItem } from '@tessera/protocol';
import { fromPublicId, TrackingResponse } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { isTesseraError, TesseraError } from '../../errors.js';
import { applyMapping, deriveMessageId, selectRecords } from '../../imports/index.js';
import type { IngestService } from '../../ingest/ingest-service.js';
import type { SourceService } from '../../sources/source-service.js';
import { basicUser } from '../principal.js';
import { documentedBody, errors } from '../route-schemas.js';
import { useTrackingBodyParser } from '../tracking-body-parser.js';

const WebhookParams = Type.Object({ sourceId: Type.String({ description: 'the source: its public id or name' }) });
const WebhookQuery = Type.Object({
  key: Type.Optional(
    Type.String({ description: 'the write key, for senders that can only set a URL (prefer a header)' }),
  ),
});

/**
 * Inbound webhooks: `POST /v1/webhooks/{sourceId}` takes any JSON, maps it with the source's mapping and ingests
 * the resulting calls like the tracking API. Auth: the source's write key as Basic-auth user, `X-Tessera-Key`, or
 * `?key=` for senders that can only configure a URL (the key then sits in their logs: prefer a header).
 * Records that do not map are quarantined in the answer; the message id defaults to a hash of the body and index,
 * so a redelivered webhook is a duplicate.
 */
export function webhookRoutes(deps: { sources: SourceService; ingest: IngestService }) {
  return async (app: FastifyInstance) => {
    useTrackingBodyParser(app);
    app.post<{ Params: Static<typeof WebhookParams>; Querystring: Static<typeof WebhookQuery> }>(
      '/v1/webhooks/:sourceId',
      {
        bodyLimit: 4 * 1024 * 1024,
        // Any JSON: the source's mapping, not a schema, says what it must hold.
        config: documentedBody(Type.Unknown({ description: 'any JSON; `records` of the mapping selects the records' })),
        schema: {
          tags: ['webhooks'],
          summary: "Receive a webhook, mapped with the source's mapping",
          description:
            'Maps each record of the body to a tracking call and ingests it. Auth: the write key as Basic-auth user ' +
            'name, `X-Tessera-Key`, or `?key=`. Records that do not map are quarantined in the answer (`index` is ' +
            'their position in the body); a redelivered webhook is a duplicate.',
          security: [{ writeKey: [] }, { webhookKey: [] }, { webhookKeyQuery: [] }],
          params: WebhookParams,
          querystring: WebhookQuery,
          response: { 200: TrackingResponse, ...errors(400, 401, 403, 409, 413, 415, 500, 503) },
        },
      },
      async (request) => {
        const header = request.headers['x-tessera-key'];
        const key = basicUser(request) ?? (typeof header === 'string' ? header : undefined) ?? request.query.key;
        if (!key) throw new TesseraError('unauthorized', 'a write key is required');
        const source = await deps.sources.authenticate(key);
        if (!source) throw new TesseraError('unauthorized', 'unknown write key');
        if (fromPublicId('source', request.params.sourceId) !== source.id && request.params.sourceId !== source.name) {
          throw new TesseraError('forbidden', 'this write key belongs to another source');
        }
        if (!source.mapping)
          throw new TesseraError('conflict', 'this source has no mapping; set one with PUT /v1/sources/{id}/mapping');
        const mapping = source.mapping as Mapping;
        const bodyHash = createHash('sha256').update(JSON.stringify(request.body)).digest('hex');
        const now = new Date();
        const calls: unknown[] = [];
        /** Body position (0-based) of each call, to report ingest quarantines against the body. */
        const positions: number[] = [];
        const failures: QuarantinedItem[] = [];
        for (const item of selectRecords(request.body, mapping.records)) {
          const r = item.record
            ? applyMapping(mapping, item.record, {
                defaultMessageId: deriveMessageId([source.id, bodyHash, String(item.line)]),
                now,
              })
            : { ok: false as const, field: 'records', message: item.error ?? 'not a record' };
          if (r.ok) {
            calls.push(r.call);
            positions.push(item.line - 1);
          } else
            failures.push({
              index: item.line - 1,
              messageId: null,
              code: 'mapping_failed',
              reason: `${r.field}: ${r.message}`,
            });
        }
        if (calls.length === 0)
          throw new TesseraError('no_valid_events', 'no record of the body could be mapped', {
            details: { quarantined: failures },
          });
        const byBody = (items: readonly QuarantinedItem[]) =>
          [...failures, ...items.map((q) => ({ ...q, index: positions[q.index] ?? q.index }))].sort(
            (x, y) => x.index - y.index,
          );
        try {
          const result = await deps.ingest.accept(source, calls, { receivedAt: now });
          return { ...result, quarantined: byBody(result.quarantined) };
        } catch (e) {
          const details = isTesseraError(e)
            ? (e.details as { quarantined?: QuarantinedItem[] } | undefined)
            : undefined;
          if (isTesseraError(e) && e.code === 'no_valid_events' && details?.quarantined) {
            throw new TesseraError('no_valid_events', e.message, {
              details: { quarantined: byBody(details.quarantined) },
            });
          }
          throw e;
        }
      },
    );
  };
}
