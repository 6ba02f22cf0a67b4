import { randomBytes } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { Open } from '@tessera/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { storefrontCsp, storefrontPage } from '../../demo/storefront-page.js';
import { TesseraError } from '../../errors.js';
import type { SourceService } from '../../sources/source-service.js';
import { type AnalyticsBundle, type BundleFile, createAnalyticsBundle } from '../analytics-bundle.js';
import { errors, PUBLIC } from '../route-schemas.js';

/** `tessera demo`'s storefront (`/demo/store`); absent under `tessera serve`, where that path answers 404. */
export interface StorefrontOptions {
  /** The write key the page sends with: the demo's `website` source, known once the demo has (re)keyed it. */
  writeKey(): string | undefined;
}

const SettingsParams = Type.Object({
  writeKey: Type.String({ minLength: 1, maxLength: 200, description: 'the write key of a source' }),
});

/**
 * The document Segment's CDN answers at `/v1/projects/{writeKey}/settings`, as analytics.js reads it: only the
 * `Segment.io` integration (this server as API host), no device-mode destinations, remote plugins or middleware.
 */
const CdnSettings = Open(
  {
    integrations: Open(
      {
        'Segment.io': Open({
          apiKey: Type.String({ description: 'the write key asked for' }),
          apiHost: Type.String({ description: "this server's host and `/v1`, where analytics.js posts its calls" }),
          protocol: Type.Union([Type.Literal('http'), Type.Literal('https')]),
        }),
      },
      'Only `Segment.io`: the device-mode destinations of Segment do not exist here',
    ),
    plan: Open({}),
    edgeFunction: Open({}),
    analyticsNextEnabled: Type.Boolean(),
    middlewareSettings: Open({}),
    enabledMiddleware: Open({}),
    metrics: Open({ sampleRate: Type.Number({ description: '0: analytics.js sends no usage metrics' }) }),
    legacyVideoPluginsEnabled: Type.Boolean(),
    remotePlugins: Type.Array(Type.Unknown()),
  },
  'analytics.js settings of the source',
);

/** `Host` as analytics.js must reach it again; anything else is refused rather than copied into the document. */
const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** The CDN settings document for `writeKey`, pointing analytics.js at `protocol://host/v1`. */
export function cdnSettings(writeKey: string, protocol: 'http' | 'https', host: string) {
  const apiHost = `${host}/v1`;
  return {
    integrations: {
      'Segment.io': {
        apiKey: writeKey,
        apiHost,
        protocol,
        unbundledIntegrations: [],
        addBundledMetadata: true,
        maybeBundledConfigIds: {},
        versionSettings: { version: '4.4.7', componentTypes: ['browser'] },
      },
    },
    plan: {
      track: { __default: { enabled: true, integrations: {} } },
      identify: { __default: { enabled: true } },
      group: { __default: { enabled: true } },
    },
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0, host: apiHost },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  };
}

function sendBundleFile(request: FastifyRequest, reply: FastifyReply, f: BundleFile): FastifyReply {
  reply
    .header('cache-control', f.immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=3600')
    .header('etag', f.etag)
    .header('vary', 'Accept-Encoding')
    .header('access-control-allow-origin', '*')
    .header('x-content-type-options', 'nosniff')
    .type(f.type);
  if (request.headers['if-none-match'] === f.etag) return reply.status(304).send();
  if (f.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? '')))
    return reply.header('content-encoding', 'gzip').send(f.gzip);
  return reply.send(f.body);
}

/**
 * The browser SDK path (issue 8): Tessera answers what analytics.js asks Segment's CDN for, so an unchanged
 * `@segment/analytics-next` with Tessera as its CDN and API host tracks into Tessera:
 * - `GET /v1/projects/{writeKey}/settings`, the settings document (public: it holds only the write key asked for);
 * - `GET /analytics.js/v1/{writeKey}/analytics.min.js`, the standalone bundle, at the path of Segment's snippet;
 * - `GET /analytics-next/bundles/{file}`, the chunks it loads lazily from `<cdn>/analytics-next/bundles/`;
 * - `GET /demo/store`, the demo storefront, under `tessera demo` only.
 */
export function browserSdkRoutes(deps: {
  sources: SourceService;
  storefront?: StorefrontOptions;
  bundle?: AnalyticsBundle;
}) {
  const bundle = deps.bundle ?? createAnalyticsBundle();
  const serve = (name: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    const f = bundle.file(name);
    if (!f)
      throw new TesseraError(
        'not_found',
        bundle.version ? 'no such analytics.js file' : 'analytics.js (@segment/analytics-next) is not installed',
      );
    return sendBundleFile(request, reply, f);
  };
  return async (app: FastifyInstance) => {
    app.get<{ Params: Static<typeof SettingsParams> }>(
      '/v1/projects/:writeKey/settings',
      {
        schema: {
          tags: ['tracking'],
          summary: 'Get the analytics.js settings of a source',
          description:
            'What Segment’s CDN answers at this path, so that analytics.js configured with this server as its CDN ' +
            '(`cdnURL`, or `analytics._cdn` in the snippet) sends its calls here: `integrations["Segment.io"]` ' +
            'with `apiKey` (the write key of the path), `apiHost` (`<this host>/v1`) and `protocol`. No credential ' +
            'beyond the write key of the path; any origin may read it (CORS). An unknown or rotated key answers 404.',
          security: PUBLIC,
          params: SettingsParams,
          response: { 200: CdnSettings, ...errors(400, 404, 500) },
        },
      },
      async (request, reply) => {
        reply.header('access-control-allow-origin', '*');
        const { writeKey } = request.params;
        if (!(await deps.sources.authenticate(writeKey))) throw new TesseraError('not_found', 'unknown write key');
        const host = request.host;
        if (!HOST.test(host)) throw new TesseraError('invalid_request', 'the Host header is not a host name');
        reply.header('cache-control', 'public, max-age=300').header('vary', 'Host');
        return cdnSettings(writeKey, request.protocol === 'https' ? 'https' : 'http', host);
      },
    );
    app.get('/analytics.js/v1/:writeKey/analytics.min.js', { schema: { hide: true } }, serve('standalone.js'));
    app.get<{ Params: { file: string } }>(
      '/analytics-next/bundles/:file',
      { schema: { hide: true } },
      async (request, reply) => serve(request.params.file)(request, reply),
    );
    app.get('/demo/store', { schema: { hide: true } }, async (_request, reply) => {
      if (!deps.storefront) throw new TesseraError('not_found', 'the demo storefront is only served by `tessera demo`');
      const writeKey = deps.storefront.writeKey();
      if (!writeKey) throw new TesseraError('unavailable', 'the demo is still loading its data', { retryAfter: 2 });
      const nonce = randomBytes(16).toString('base64');
      return reply
        .header('content-security-policy', storefrontCsp(nonce))
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'same-origin')
        .type('text/html; charset=utf-8')
        .send(storefrontPage({ writeKey, nonce }));
    });
  };
}
