import { TRACKING_LIMITS } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { parseJsonBody, readBody } from '../ingest/parse/index.js';

/**
 * Replaces the JSON parser of an encapsulated context by the tracking API's: gzip / deflate, the size limit on the
 * decompressed body while streaming, strict UTF-8, whole-body depth and key caps (DESIGN §9). Any content type is
 * read as JSON, as Segment's endpoints do.
 */
export function useTrackingBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    async (request: { headers: Record<string, string | string[] | undefined> }, payload: AsyncIterable<Buffer>) => {
      const encoding = request.headers['content-encoding'];
      const buf = await readBody(payload, {
        encoding: Array.isArray(encoding) ? encoding.join(',') : encoding,
        maxBytes: TRACKING_LIMITS.maxRequestBytes,
      });
      return parseJsonBody(buf);
    },
  );
}
