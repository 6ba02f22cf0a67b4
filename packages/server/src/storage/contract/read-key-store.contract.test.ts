import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newUuid } from '../../ids.js';
import type { ReadKeyRow } from '../../personalize/ports.js';
import { testDatabases } from '../../test/databases.js';
import type { Storage } from '../storage.js';

/** The contract of `ReadKeyStore` (personalisation read keys), on every adapter. */
const row = (over: Partial<ReadKeyRow> = {}): ReadKeyRow => ({
  sourceId: newUuid(),
  keyHash: newUuid(),
  origins: ['https://shop.example'],
  traits: ['plan', 'firstName'],
  audiences: ['vip'],
  createdAt: 1,
  updatedAt: 1,
  updatedBy: 'tok_x',
  ...over,
});

for (const db of testDatabases()) {
  if (db.skip) console.log(`read-key store contract on ${db.name} skipped: ${db.skip}`);
  describe.skipIf(db.skip !== undefined)(`ReadKeyStore contract: ${db.name}`, () => {
    let s: Storage;
    beforeEach(async () => {
      s = await db.create();
    });
    afterEach(async () => {
      await s.close();
    });

    it('saves, reads by source and by key hash, lists; a save replaces the source’s row', async () => {
      const a = row();
      const b = row();
      await s.readKeys.save(a);
      await s.readKeys.save(b);
      expect(await s.readKeys.get(a.sourceId)).toEqual(a);
      expect(await s.readKeys.byHash(b.keyHash)).toEqual(b);
      expect(await s.readKeys.get(newUuid())).toBeUndefined();
      expect(await s.readKeys.byHash('nope')).toBeUndefined();
      const rotated = { ...a, keyHash: newUuid(), traits: [], updatedAt: 2 };
      await s.readKeys.save(rotated);
      expect(await s.readKeys.byHash(a.keyHash)).toBeUndefined();
      expect(await s.readKeys.get(a.sourceId)).toEqual(rotated);
      expect((await s.readKeys.list()).map((r) => r.sourceId).sort()).toEqual([a.sourceId, b.sourceId].sort());
    });

    it('refuses one key hash for two sources', async () => {
      const a = row();
      await s.readKeys.save(a);
      await expect(s.readKeys.save(row({ keyHash: a.keyHash }))).rejects.toThrow();
    });
  });
}
