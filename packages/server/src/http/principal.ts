import { toPublicId } from '@tessera/protocol';
import type { FastifyRequest } from 'fastify';
import { type Permission, rolesAllow } from '../auth/permissions.js';
import { ANONYMOUS, type Principal } from '../auth/principal.js';
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

/**
 * Throws 401 / 403 unless the request's principal (an API token or a signed-in user) holds `permission` in the
 * permission table (`auth/permissions.ts`). Write keys and read keys never pass: they only reach their own endpoints.
 */
export function authorize(request: FastifyRequest, permission: Permission): void {
  const p = request.principal ?? ANONYMOUS;
  if (p.kind === 'anonymous') throw new TesseraError('unauthorized', 'a Bearer token or a session is required');
  if (p.kind !== 'token' && p.kind !== 'session')
    throw new TesseraError('forbidden', 'this credential cannot call the management API');
  if (!rolesAllow(p.roles, permission)) throw new TesseraError('forbidden', `your role does not allow ${permission}`);
}

/**
 * Who acts, as settings, decisions and the audit log record it: the signed-in user (`usr_…`), the request's API token
 * (`tok_…`), else the principal's kind.
 */
export function actorOf(request: FastifyRequest): string {
  const p = request.principal;
  if (p.kind === 'session') return toPublicId('user', p.userId);
  return p.kind === 'token' ? toPublicId('token', p.tokenId) : p.kind;
}
