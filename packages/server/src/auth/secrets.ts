import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new secret (write key or API token): 32 random bytes, base64url, with a readable prefix. */
export function generateSecret(prefix: 'wk' | 'tk' | 'rk'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 hex of a secret: what is stored and indexed (DESIGN §8). Never store or log the secret itself. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex hashes. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
