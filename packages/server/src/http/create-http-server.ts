import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import type { AudienceService } from '../audiences/audience-service.js';
import type { ComputedTraitService } from '../audiences/computed-trait-service.js';
import type { RfmService } from '../audiences/rfm.js';
import type { AuditLog } from '../auth/audit-log.js';
import { ANONYMOUS } from '../auth/principal.js';
import type { TokenService } from '../auth/token-service.js';
import type { UserService } from '../auth/user-service.js';
import type { DestinationService } from '../destinations/destination-service.js';
import { TesseraError } from '../errors.js';
import type { DedupeOptions, DedupeSummary } from '../identity/dedupe.js';
import type { IdentityAdmin } from '../identity/identity-admin.js';
import type { RebuildOptions, RebuildSummary } from '../identity/rebuild.js';
import { newUuid } from '../ids.js';
import type { IngestService } from '../ingest/ingest-service.js';
import type { IngestWriter } from '../ingest/ingest-writer.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { PersonalizeService } from '../personalize/personalize-service.js';
import type { ConsentService } from '../privacy/consent-service.js';
import type { PiiClassification } from '../privacy/pii.js';
import type { PrivacyService } from '../privacy/privacy-service.js';
import type { ProfileService } from '../profiles/profile-service.js';
import type { SurvivorshipService } from '../profiles/survivorship-service.js';
import type { SourceService } from '../sources/source-service.js';
import type { Storage } from '../storage/storage.js';
import { auditChanges, cookieAllowed, piiMaskingFilter, profileReadAudit, sessionCookie } from './access-hooks.js';
import { installErrorHandler } from './errors.js';
import { bearer } from './principal.js';
import { accessRoutes } from './routes/access.js';
import { audienceRoutes } from './routes/audiences.js';
import { browserSdkRoutes, type StorefrontOptions } from './routes/browser-sdk.js';
import { changeRoutes } from './routes/changes.js';
import { computedTraitRoutes } from './routes/computed-traits.js';
import { debuggerRoutes } from './routes/debugger.js';
import { dedupeRoutes } from './routes/dedupe.js';
import { destinationRoutes } from './routes/destinations.js';
import { identityRoutes } from './routes/identity.js';
import { opsRoutes } from './routes/ops.js';
import { personalizeRoutes } from './routes/personalize.js';
import { privacyRoutes, type RetentionSettings } from './routes/privacy.js';
import { profileRoutes } from './routes/profiles.js';
import { sourceCallRoutes } from './routes/source-calls.js';
import { sourceRoutes } from './routes/sources.js';
import { statsRoutes } from './routes/stats.js';
import { survivorshipRoutes } from './routes/survivorship.js';
import { trackingRoutes } from './routes/tracking.js';
import { webhookRoutes } from './routes/webhooks.js';
import { createResponder, type ResponseFilter } from './serialise.js';
import { createWebApp } from './web-app.js';

export interface HttpDeps {
  logger: Logger;
  storage: Storage;
  writer: IngestWriter;
  metrics: Metrics;
  sources: SourceService;
  tokens: TokenService;
  ingest: IngestService;
  profiles: ProfileService;
  identity: IdentityAdmin;
  /** `POST /v1/identity/dedupe`. */
  dedupe: (opts: DedupeOptions) => Promise<DedupeSummary>;
  /** `POST /v1/identity/rebuild`. */
  rebuild: (opts: RebuildOptions) => Promise<RebuildSummary>;
  survivorship: SurvivorshipService;
  audiences: AudienceService;
  computedTraits: ComputedTraitService;
  rfm: RfmService;
  personalize: PersonalizeService;
  destinations: DestinationService;
  privacy: PrivacyService;
  consents: ConsentService;
  retention: RetentionSettings;
  /** Cluster mode: the change bus is a JetStream stream, not the `changes` table. */
  clusterBus?: boolean;
  consumer: string;
  users: UserService;
  audit: AuditLog;
  pii: PiiClassification;
  filters?: ResponseFilter[];
  /** The built web app (default `packages/web/dist`). */
  webDist?: string;
  /** `tessera demo`: serve the demo storefront at `/demo/store` (otherwise that path answers 404). */
  storefront?: StorefrontOptions;
}

/** Builds the Fastify instance: thin handlers, one error mapping, one response serialiser (STYLE #11). */
export async function createHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    // No per-request log lines: URLs may carry a webhook key; handlers log ids and codes themselves.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => newUuid(),
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    // Errors Fastify meets before routing (a malformed URL…) answer with our error body too.
    frameworkErrors: (error, request, reply) => {
      const body = {
        error: { code: 'invalid_request', message: error.message.slice(0, 200), requestId: String(request.id) },
      };
      (reply as unknown as FastifyReply).status(400).send(body);
    },
    forceCloseConnections: false,
    // Refuse unknown fields and wrong types instead of silently dropping or coercing them.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true } },
  });
  app.decorateRequest('principal', null as never);
  app.addHook('onRequest', async (request) => {
    request.principal = ANONYMOUS;
  });
  const web = createWebApp(deps.webDist);
  installErrorHandler(app, web.page);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Tessera API',
        version: '0.1.0',
        description: 'Tracking API (Segment-compatible) and management API of Tessera.',
      },
      tags: [
        { name: 'tracking', description: 'Segment-compatible tracking API; auth: a source write key' },
        { name: 'webhooks', description: 'Inbound webhooks, mapped to tracking calls by the source mapping' },
        { name: 'sources', description: 'Sources, write keys, mappings and quarantine; auth: a Bearer token' },
        {
          name: 'profiles',
          description: 'Profiles, their events, identifiers, history and merges; auth: a Bearer token',
        },
        {
          name: 'settings',
          description: 'Business settings, versioned (survivorship rules); auth: a Bearer token',
        },
        {
          name: 'audiences',
          description: 'Audiences: definitions, preview, members (DESIGN §6); auth: a Bearer token',
        },
        {
          name: 'identity',
          description: 'The identity review queue (probabilistic matches, guarded merges); auth: a Bearer token',
        },
        {
          name: 'access',
          description: 'Users, sign-in, API tokens and the audit log (docs/access-control.md)',
        },
        { name: 'operations', description: 'Health and Prometheus metrics; no auth' },
      ],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'an API token (`tessera init` prints an admin token)',
          },
          writeKey: { type: 'http', scheme: 'basic', description: "a source's write key as user name, no password" },
          webhookKey: { type: 'apiKey', in: 'header', name: 'X-Tessera-Key', description: "a source's write key" },
          readKey: { type: 'apiKey', in: 'query', name: 'key', description: "a source's read key (personalisation)" },
          readKeyHeader: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Tessera-Key',
            description: "a source's read key (personalisation)",
          },
          webhookKeyQuery: {
            type: 'apiKey',
            in: 'query',
            name: 'key',
            description: "a source's write key, for senders that can only set a URL (it then sits in their logs)",
          },
        },
      },
    },
  });
  app.addHook('onRequest', async (request) => {
    const token = bearer(request);
    if (token) {
      const principal = await deps.tokens.authenticate(token);
      if (!principal) throw new TesseraError('unauthorized', 'unknown token');
      request.principal = principal;
      return;
    }
    // The web app's session cookie: an unknown or expired one leaves the request anonymous (a tracking call from a
    // page of the same host carries it too, and must not fail for it).
    const session = sessionCookie(request);
    if (session && cookieAllowed(request)) {
      const principal = await deps.tokens.authenticate(session);
      if (principal?.kind === 'session') request.principal = principal;
    }
  });
  auditChanges(app, deps.audit);
  const respond = createResponder([profileReadAudit(deps.audit), piiMaskingFilter(deps.pii), ...(deps.filters ?? [])]);
  await app.register(trackingRoutes(deps));
  await app.register(browserSdkRoutes(deps));
  await app.register(webhookRoutes(deps));
  await app.register(sourceCallRoutes(deps));
  await app.register(sourceRoutes({ ...deps, respond }));
  await app.register(profileRoutes({ ...deps, respond }));
  await app.register(survivorshipRoutes({ ...deps, respond }));
  await app.register(identityRoutes({ ...deps, respond }));
  await app.register(dedupeRoutes({ ...deps, respond }));
  await app.register(audienceRoutes({ ...deps, respond }));
  await app.register(computedTraitRoutes({ ...deps, respond }));
  await app.register(personalizeRoutes({ ...deps, respond }));
  await app.register(destinationRoutes({ ...deps, respond }));
  await app.register(privacyRoutes({ ...deps, respond }));
  await app.register(changeRoutes({ ...deps, clusterBus: deps.clusterBus ?? false, respond }));
  await app.register(debuggerRoutes({ ...deps, clusterBus: deps.clusterBus ?? false, respond }));
  await app.register(accessRoutes({ ...deps, respond }));
  await app.register(statsRoutes({ ...deps, respond }));
  await app.register(opsRoutes(deps));
  await app.register(web.routes);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
