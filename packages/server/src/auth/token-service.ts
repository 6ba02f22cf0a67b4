import { newUuid } from '../ids.js';
import type { Storage } from '../storage/storage.js';
import type { Principal, Role } from './principal.js';
import { generateSecret, hashSecret } from './secrets.js';

/** API tokens (Bearer): 32 random bytes, stored as SHA-256 (DESIGN §8). */
export function createTokenService(storage: Storage, clock: () => number = Date.now) {
  const cache = new Map<string, Principal | null>();
  return {
    async create(name: string, roles: Role[]): Promise<{ id: string; token: string }> {
      const token = generateSecret('tk');
      const id = newUuid();
      await storage.tokens.create({ id, name, tokenHash: hashSecret(token), roles, createdAt: clock() });
      return { id, token };
    },
    async authenticate(token: string): Promise<Principal | undefined> {
      const hash = hashSecret(token);
      if (cache.has(hash)) return cache.get(hash) ?? undefined;
      const row = await storage.tokens.byHash(hash);
      const principal: Principal | null = row ? { kind: 'token', tokenId: row.id, roles: row.roles as Role[] } : null;
      if (principal) cache.set(hash, principal);
      return principal ?? undefined;
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
