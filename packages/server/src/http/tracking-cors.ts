import type { FastifyInstance } from 'fastify';

/** Request headers a preflight may ask for when it names none we can read back. */
const DEFAULT_HEADERS = 'authorization, content-type, content-encoding, x-retry-count';
const HEADER_LIST = /^[A-Za-z0-9-]+(\s*,\s*[A-Za-z0-9-]+)*$/;

/**
 * CORS for the tracking API, so that a website on any origin can send with analytics.js (its `fetch` carries
 * `Authorization: Basic <writeKey:>`, hence a preflight). Any origin is allowed, **without credentials**: the write
 * key authenticates a tracking call, cookies never do, and `*` keeps browsers from attaching them. Every answer of the
 * encapsulated context (errors included) carries `Access-Control-Allow-Origin`; `OPTIONS` on each of `paths` answers
 * the preflight.
 */
export function allowCrossOriginTracking(app: FastifyInstance, paths: readonly string[]): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.origin !== undefined) reply.header('access-control-allow-origin', '*');
  });
  for (const path of paths)
    app.options(path, { schema: { hide: true } }, async (request, reply) => {
      const asked = request.headers['access-control-request-headers'];
      return reply
        .status(204)
        .header('access-control-allow-origin', '*')
        .header('access-control-allow-methods', 'POST')
        .header(
          'access-control-allow-headers',
          typeof asked === 'string' && HEADER_LIST.test(asked) ? asked : DEFAULT_HEADERS,
        )
        .header('access-control-max-age', '7200')
        .send();
    });
}
