import { newUuid } from '../ids.js';
import type { Storage } from '../storage/storage.js';
import type { UserRow } from './ports.js';
import type { Principal, Role } from './principal.js';
import { generateSecret, hashSecret } from './secrets.js';

/** How long a token or user read from the store is trusted before it is read again (revocation on other nodes). */
const RECHECK_MS = 30_000;

interface Cached {
  id: string;
  roles: Role[];
  expiresAt: number | null;
  revoked: boolean;
  userId: string | null;
  kind: 'api' | 'session';
  readAt: number;
}

/**
 * API tokens and sessions (Bearer, or the web app's cookie): 32 random bytes, stored as SHA-256 (DESIGN §8). A token
 * of a user acts with the roles it was given that the user still holds, and stops with the user. Rows are cached
 * for 30 s: a revocation on this node counts at once, on another within 30 s.
 */
export function createTokenService(storage: Storage, clock: () => number = Date.now) {
  const cache = new Map<string, Cached>();
  const users = new Map<string, { user: UserRow | undefined; readAt: number }>();

  async function userOf(id: string): Promise<UserRow | undefined> {
    const hit = users.get(id);
    if (hit && clock() - hit.readAt < RECHECK_MS) return hit.user;
    const user = await storage.users.get(id);
    if (users.size > 10_000) users.clear();
    users.set(id, { user, readAt: clock() });
    return user;
  }

  return {
    /** A new token; `ttlMs` makes it expire (e.g. the short-lived token `tessera import` uses, or a session). */
    async create(
      name: string,
      roles: Role[],
      ttlMs?: number,
      opts: { userId?: string; kind?: 'api' | 'session' } = {},
    ): Promise<{ id: string; token: string; expiresAt: number | null }> {
      const token = generateSecret('tk');
      const id = newUuid();
      const now = clock();
      const expiresAt = ttlMs === undefined ? null : now + ttlMs;
      await storage.tokens.create({
        id,
        name,
        tokenHash: hashSecret(token),
        roles,
        createdAt: now,
        expiresAt,
        userId: opts.userId ?? null,
        kind: opts.kind ?? 'api',
        revokedAt: null,
      });
      return { id, token, expiresAt };
    },
    async authenticate(token: string): Promise<Principal | undefined> {
      const hash = hashSecret(token);
      let entry = cache.get(hash);
      if (!entry || clock() - entry.readAt >= RECHECK_MS) {
        const row = await storage.tokens.byHash(hash);
        if (!row) {
          cache.delete(hash);
          return undefined;
        }
        entry = {
          id: row.id,
          roles: row.roles as Role[],
          expiresAt: row.expiresAt,
          revoked: row.revokedAt !== null,
          userId: row.userId,
          kind: row.kind,
          readAt: clock(),
        };
        if (cache.size > 10_000) cache.clear();
        cache.set(hash, entry);
      }
      if (entry.revoked || (entry.expiresAt !== null && entry.expiresAt <= clock())) return undefined;
      if (entry.userId === null) return { kind: 'token', tokenId: entry.id, roles: entry.roles };
      const user = await userOf(entry.userId);
      if (!user || user.disabledAt !== null) return undefined;
      // An admin may hand out any role (`POST /v1/tokens`); anyone else only the roles they still hold.
      const roles = user.roles.includes('admin') ? entry.roles : entry.roles.filter((r) => user.roles.includes(r));
      if (roles.length === 0) return undefined;
      return entry.kind === 'session'
        ? { kind: 'session', sessionId: entry.id, userId: user.id, roles }
        : { kind: 'token', tokenId: entry.id, roles, userId: user.id };
    },
    /** Revokes a token or session; this node forgets it at once. */
    async revoke(id: string): Promise<boolean> {
      const done = await storage.tokens.revoke(id, clock());
      for (const [hash, e] of cache) if (e.id === id) cache.delete(hash);
      return done;
    },
    /** A user changed (roles, password, disabled): this node reads them and their tokens again. */
    forgetUser(userId: string): void {
      users.delete(userId);
      for (const [hash, e] of cache) if (e.userId === userId) cache.delete(hash);
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
