import { type Static, Type } from '@sinclair/typebox';
import { TrackingResponse } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { TesseraError } from '../../errors.js';
import type { IngestService } from '../../ingest/ingest-service.js';
import { asJsonObject } from '../../json-record.js';
import type { SourceService } from '../../sources/source-service.js';
import { authorize } from '../principal.js';
import { BEARER, documentedBody, errors, MANAGEMENT_ERRORS } from '../route-schemas.js';
import { useTrackingBodyParser } from '../tracking-body-parser.js';

const SourceParams = Type.Object({ id: Type.String({ description: 'Source id (`src_…`) or name' }) });
const CallsBody = Type.Object(
  { calls: Type.Array(Type.Unknown(), { description: 'Tracking calls, as in the `batch` of `/v1/batch`' }) },
  { additionalProperties: false },
);

/**
 * `POST /v1/sources/{id}/calls`: tracking calls sent for a source by an admin (Bearer) instead of its write key.
 * This is how `tessera import` hands mapped rows to a running server (DESIGN §9: commands that write go through
 * the server's API when one serves the data directory). Same validation, quarantine and limits as `/v1/batch`.
 */
export function sourceCallRoutes(deps: { sources: SourceService; ingest: IngestService }) {
  return async (app: FastifyInstance) => {
    useTrackingBodyParser(app);
    app.post<{ Params: Static<typeof SourceParams> }>(
      '/v1/sources/:id/calls',
      {
        bodyLimit: 4 * 1024 * 1024,
        config: documentedBody(CallsBody),
        schema: {
          tags: ['sources'],
          summary: 'Send tracking calls for a source (admin)',
          description:
            'The calls are checked, quarantined and accepted exactly as through `/v1/batch` with the source’s write key. Role: admin.',
          security: BEARER,
          params: SourceParams,
          response: { 200: TrackingResponse, ...errors(...MANAGEMENT_ERRORS, 404, 413, 503) },
        },
      },
      async (request) => {
        authorize(request, 'sources.manage');
        const source = await deps.sources.get(request.params.id);
        const calls = asJsonObject(request.body)?.calls;
        if (!Array.isArray(calls)) throw new TesseraError('invalid_body', '"calls" must be an array of tracking calls');
        return deps.ingest.accept(source, calls);
      },
    );
  };
}
