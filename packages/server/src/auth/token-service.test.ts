import { describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../storage/sqlite/create-sqlite-storage.js';
import { createTokenService } from './token-service.js';

describe('createTokenService', () => {
  it('refuses an expired token, also once cached', async () => {
    const storage = createSqliteStorage({ file: ':memory:' });
    await storage.migrate();
    let now = 1_000_000;
    const tokens = createTokenService(storage, () => now);
    const { token } = await tokens.create('short', ['admin'], 60_000);
    const { token: forever } = await tokens.create('long', ['analyst']);
    expect(await tokens.authenticate(token)).toMatchObject({ kind: 'token', roles: ['admin'] });
    now += 60_001;
    expect(await tokens.authenticate(token)).toBeUndefined();
    expect(await tokens.authenticate(forever)).toMatchObject({ roles: ['analyst'] });
    expect(await tokens.authenticate('tk_unknown')).toBeUndefined();
    await storage.close();
  });
});
