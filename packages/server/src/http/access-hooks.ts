import { fromPublicId } from '@tessera/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../auth/audit-log.js';
import { seesPii } from '../auth/permissions.js';
import type { PiiClassification } from '../privacy/pii.js';
import { actorOf } from './principal.js';
import { SESSION_COOKIE } from './routes/access.js';
import type { ResponseFilter } from './serialise.js';

/** The session token in the request's cookie, if any. */
export function sessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/**
 * Whether a cookie may authenticate this request. A cookie travels with any request the browser makes to this
 * host, so a state-changing one must come from a page of Tessera itself (cross-site request forgery): the browser's
 * `Sec-Fetch-Site` must say so, or the `Origin` must be this host. Reads pass (SameSite=Strict covers them too).
 */
export function cookieAllowed(request: FastifyRequest): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return true;
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return site !== undefined;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** Answers whose content is not about customers: staff accounts, settings, plugin schemas. Never masked. */
const UNMASKED = ['/v1/settings/', '/v1/users', '/v1/me', '/v1/sessions', '/v1/tokens', '/v1/destination-types'];
/**
 * Destinations themselves (not their deliveries): their configs map trait names to vendor fields (`{firstName:
 * 'FNAME'}`), which masking would garble, and a marketer saving it back would break the destination.
 */
const UNMASKED_ROUTES = new Set(['/v1/destinations', '/v1/destinations/:id']);

/** Masks PII-classified values for principals without `pii.read` (DESIGN §8), in every management answer. */
export function piiMaskingFilter(pii: PiiClassification): ResponseFilter {
  return (body, { principal, route }) =>
    seesPii(principal) || UNMASKED_ROUTES.has(route) || UNMASKED.some((p) => route.startsWith(p))
      ? body
      : pii.masker().mask(body);
}

const profileOf = (v: unknown) => (typeof v === 'string' ? fromPublicId('profile', v) : undefined);

/** The profiles an answer shows: the profile of a `/v1/profiles/…` route, a search's results, an access bundle's. */
function profilesIn(route: string, params: unknown, body: unknown): Set<string> {
  const ids = new Set<string>();
  const add = (v: unknown) => {
    const id = profileOf(v);
    if (id) ids.add(id);
  };
  if (route.startsWith('/v1/profiles/:id')) add((params as { id?: unknown }).id);
  if (body && typeof body === 'object') {
    const b = body as { id?: unknown; items?: unknown; result?: { profile?: { id?: unknown } } | null };
    if (route.startsWith('/v1/profiles')) add(b.id);
    // A search answers profiles with their traits (a list of member ids is not a read of the profiles).
    if (route === '/v1/profiles' && Array.isArray(b.items))
      for (const item of b.items)
        if (item && typeof item === 'object') {
          add((item as { id?: unknown }).id);
          add((item as { profileId?: unknown }).profileId);
        }
    add(b.result?.profile?.id);
  }
  return ids;
}

/** Records every read of a profile by a user or an API token in the audit log (DESIGN §8). */
export function profileReadAudit(audit: AuditLog): ResponseFilter {
  return (body, { principal, route, request }) => {
    if (principal.kind !== 'session' && principal.kind !== 'token') return body;
    for (const profileId of profilesIn(route, request.params, body))
      audit.record({ actor: actorOf(request), action: 'profile.read', route, status: 200, profileId, target: null });
    return body;
  };
}

/** Path parameters as the audit log keeps them: ids and keys, never an identifier value. */
function targetOf(params: unknown): string | null {
  if (!params || typeof params !== 'object') return null;
  const parts = Object.entries(params as Record<string, unknown>)
    .filter(([k, v]) => k !== 'value' && typeof v === 'string')
    .map(([k, v]) => `${k}=${String(v).slice(0, 100)}`);
  return parts.length > 0 ? parts.join('&') : null;
}

/** POST routes that change nothing (an estimate the audience builder asks for at each keystroke). */
const READ_ONLY_POSTS = new Set(['/v1/audiences/preview']);

/** Records every management change (any method but GET / HEAD) by a user or token, with its answer's status. */
export function auditChanges(app: FastifyInstance, audit: AuditLog): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return;
    const p = request.principal;
    if (p.kind !== 'session' && p.kind !== 'token') return;
    const route = request.routeOptions.url;
    if (!route?.startsWith('/v1/') || READ_ONLY_POSTS.has(route)) return;
    audit.record({
      actor: actorOf(request),
      action: `${request.method} ${route}`,
      route,
      status: reply.statusCode,
      profileId: route.startsWith('/v1/profiles/:id')
        ? (profileOf((request.params as { id?: unknown }).id) ?? null)
        : null,
      target: targetOf(request.params),
    });
  });
}
