import { newUuid } from '../ids.js';
import type { Storage } from '../storage/storage.js';
import type { Principal, Role } from './principal.js';
import { generateSecret, hashSecret } from './secrets.js';

/** API tokens (Bearer): 32 random bytes, stored as SHA-256 (DESIGN §8). */
export function createTokenService(storage: Storage, clock: () => number = Date.now) {
  /** Known tokens by hash, with their expiry (unknown ones are not cached: a token created elsewhere works at once). */
  const cache = new Map<string, { principal: Principal; expiresAt: number | null }>();
  return {
    /** A new token; `ttlMs` makes it expire (e.g. the short-lived token `tessera import` uses). */
    async create(name: string, roles: Role[], ttlMs?: number): Promise<{ id: string; token: string }> {
      const token = generateSecret('tk');
      const id = newUuid();
      const now = clock();
      await storage.tokens.create({
        id,
        name,
        tokenHash: hashSecret(token),
        roles,
        createdAt: now,
        expiresAt: ttlMs === undefined ? null : now + ttlMs,
      });
      return { id, token };
    },
    async authenticate(token: string): Promise<Principal | undefined> {
      const hash = hashSecret(token);
      let entry = cache.get(hash);
      if (!entry) {
        const row = await storage.tokens.byHash(hash);
        if (!row) return undefined;
        entry = { principal: { kind: 'token', tokenId: row.id, roles: row.roles as Role[] }, expiresAt: row.expiresAt };
        if (cache.size > 10_000) cache.clear();
        cache.set(hash, entry);
      }
      if (entry.expiresAt !== null && entry.expiresAt <= clock()) return undefined;
      return entry.principal;
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
