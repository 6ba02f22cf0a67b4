import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './passwords.js';

describe('passwords (scrypt)', () => {
  it('verifies the password it hashed, refuses another and a malformed hash; salts each hash', async () => {
    const cost = { N: 1024, r: 8, p: 1 };
    const a = await hashPassword('correct horse battery', cost);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
    expect(await hashPassword('correct horse battery', cost)).not.toBe(a);
    expect(await verifyPassword('x', 'sha256$abc')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$99999999$8$1$AAAA$AAAA')).toBe(false);
  });

  it('uses N=2^17 by default', async () => {
    expect(await hashPassword('a long password')).toMatch(/^scrypt\$131072\$8\$1\$/);
  });
});
