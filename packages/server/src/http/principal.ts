import { toPublicId } from '@tessera/protocol';
import type { FastifyRequest } from 'fastify';
import { ANONYMOUS, type Principal, type Role } from '../auth/principal.js';
import { TesseraError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

/** Reads `Authorization: Basic <writeKey:>` (Segment's SDKs) and returns the key, if any. */
export function basicUser(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (!h?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const user = decoded.split(':')[0];
  return user || undefined;
}

/** Reads `Authorization: Bearer <token>`. */
export function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7).trim() || undefined : undefined;
}

/** Throws 401 / 403 unless the request's principal is a token holding one of `roles` (admin always passes). */
export function requireRole(request: FastifyRequest, roles: readonly Role[]): void {
  const p = request.principal ?? ANONYMOUS;
  if (p.kind === 'anonymous') throw new TesseraError('unauthorized', 'a Bearer token is required');
  if (p.kind !== 'token') throw new TesseraError('forbidden', 'this credential cannot call the management API');
  if (!p.roles.includes('admin') && !roles.some((r) => p.roles.includes(r)))
    throw new TesseraError('forbidden', 'your role does not allow this');
}

/** Who acts, as settings and decisions record it: the request's API token (`tok_…`), else the principal's kind. */
export function actorOf(request: FastifyRequest): string {
  const p = request.principal;
  return p.kind === 'token' ? toPublicId('token', p.tokenId) : p.kind;
}
