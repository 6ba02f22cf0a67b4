import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` puts the web app (`packages/web/dist`), from this file in `src/http` or `dist/http`. */
export const WEB_DIST = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/**
 * Every page of the app comes from this server and talks only to it: nothing may load from elsewhere (issue 8: no
 * request leaves localhost). Mantine sets inline styles, hence `'unsafe-inline'` for styles only.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin');
}

/**
 * Serves the built web app (`packages/web`) at `/`: hashed files under `/assets/` (cached for a year), and
 * `index.html` for any other page the browser navigates to (the app routes on the client; `installErrorHandler`
 * asks `page` before answering a 404). API paths are not concerned: an unknown `/v1/…` answers the API's 404.
 */
export function createWebApp(dir = WEB_DIST) {
  const index = path.join(dir, 'index.html');
  const assets = path.join(dir, 'assets') + path.sep;
  const built = existsSync(index);
  const sendIndex = async (reply: FastifyReply) => {
    if (!built)
      return reply
        .status(404)
        .type('text/plain; charset=utf-8')
        .send('The web app is not built: run `npm run build` (packages/web).\n');
    return secure(reply)
      .header('cache-control', 'no-cache')
      .type(TYPES['.html'])
      .send(await readFile(index));
  };
  return {
    routes: async (app: FastifyInstance) => {
      app.get('/', { schema: { hide: true } }, async (_request, reply) => sendIndex(reply));
      app.get<{ Params: { '*': string } }>('/assets/*', { schema: { hide: true } }, async (request, reply) => {
        const file = path.resolve(assets, request.params['*']);
        if (!built || !file.startsWith(assets) || !existsSync(file))
          return reply.status(404).type('text/plain; charset=utf-8').send('not found\n');
        return secure(reply)
          .header('cache-control', 'public, max-age=31536000, immutable')
          .type(TYPES[path.extname(file)] ?? 'application/octet-stream')
          .send(await readFile(file));
      });
    },
    /** A browser navigating to one of the app's pages (`/profiles/prof_…`): answers the app; else undefined. */
    page(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> | undefined {
      const navigation =
        request.method === 'GET' &&
        !request.url.startsWith('/v1/') &&
        String(request.headers.accept ?? '').includes('text/html');
      return navigation ? sendIndex(reply) : undefined;
    },
  };
}
