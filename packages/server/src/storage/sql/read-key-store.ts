import type { Kysely } from 'kysely';
import type { ReadKeyRow, ReadKeyStore } from '../../personalize/ports.js';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { fromJson, toJson } from './json.js';
import { rawQuery } from './raw.js';

const toRow = (r: Database['source_read_keys']): ReadKeyRow => ({
  sourceId: r.source_id,
  keyHash: r.key_hash,
  origins: fromJson<string[]>(r.origins),
  traits: fromJson<string[]>(r.traits),
  audiences: fromJson<string[]>(r.audiences),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  updatedBy: r.updated_by,
});

export function createReadKeyStore(db: Kysely<Database>, d: SqlDialect): ReadKeyStore {
  const one = async (where: string, value: string) => {
    const [row] = await rawQuery<Database['source_read_keys']>(
      db,
      d,
      `select * from source_read_keys where ${where} = ?`,
      [value],
    );
    return row ? toRow(row) : undefined;
  };
  return {
    get: (sourceId) => one('source_id', sourceId),
    byHash: (keyHash) => one('key_hash', keyHash),
    async list() {
      return (await rawQuery<Database['source_read_keys']>(db, d, 'select * from source_read_keys', [])).map(toRow);
    },
    async save(r) {
      await rawQuery(
        db,
        d,
        `insert into source_read_keys (source_id, key_hash, origins, traits, audiences, created_at, updated_at, updated_by)
         values (?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (source_id) do update set key_hash = excluded.key_hash, origins = excluded.origins, traits = excluded.traits,
           audiences = excluded.audiences, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        [
          r.sourceId,
          r.keyHash,
          toJson(r.origins),
          toJson(r.traits),
          toJson(r.audiences),
          r.createdAt,
          r.updatedAt,
          r.updatedBy,
        ],
      );
    },
  };
}
