import { fromPublicId, type Mapping, toPublicId } from '@tessera/protocol';
import { generateSecret, hashSecret } from '../auth/secrets.js';
import { TesseraError } from '../errors.js';
import { newUuid } from '../ids.js';
import type { Storage } from '../storage/storage.js';
import type { SourceKind, SourceRow } from './ports.js';

export interface SourceView {
  id: string;
  name: string;
  kind: SourceKind;
  mapping: unknown | null;
  createdAt: string;
  updatedAt: string;
}

export function toSourceView(s: SourceRow): SourceView {
  return {
    id: toPublicId('source', s.id),
    name: s.name,
    kind: s.kind,
    mapping: s.mapping,
    createdAt: new Date(s.createdAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
  };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/;

/**
 * Sources and their write keys. A key is shown once, at creation or rotation; only its SHA-256 is stored. Key
 * look-ups are cached in memory by hash for 30 s (a rotation in this process clears the entry at once).
 */
export function createSourceService(storage: Storage, clock: () => number = Date.now) {
  /** Key look-ups cached for 30 s: a rotation made by another process (or node) takes effect within that time. */
  const byHash = new Map<string, { row: SourceRow | null; until: number }>();
  const CACHE_MS = 30_000;
  const listeners: (() => void)[] = [];
  const changed = () => {
    for (const l of listeners) l();
  };
  return {
    /** Called after a source is created, or its key or mapping changes (cluster mode tells the other nodes). */
    onChange(listener: () => void): void {
      listeners.push(listener);
    },
    async create(input: {
      name: string;
      kind?: SourceKind;
      mapping?: Mapping | null;
    }): Promise<{ source: SourceView; writeKey: string }> {
      if (!NAME.test(input.name))
        throw new TesseraError(
          'invalid_request',
          'name must be 1–100 letters, digits, spaces, dots, dashes or underscores',
        );
      if (await storage.sources.byName(input.name))
        throw new TesseraError('conflict', `a source named "${input.name}" exists`);
      const writeKey = generateSecret('wk');
      const now = clock();
      const row: SourceRow = {
        id: newUuid(),
        name: input.name,
        kind: input.kind ?? 'tracking',
        writeKeyHash: hashSecret(writeKey),
        mapping: input.mapping ?? null,
        createdAt: now,
        updatedAt: now,
      };
      await storage.sources.create(row);
      changed();
      return { source: toSourceView(row), writeKey };
    },
    async list(): Promise<SourceView[]> {
      return (await storage.sources.list()).map(toSourceView);
    },
    /** A source by public id or name; 404 when absent. */
    async get(idOrName: string): Promise<SourceRow> {
      const uuid = fromPublicId('source', idOrName);
      const row = uuid ? await storage.sources.get(uuid) : await storage.sources.byName(idOrName);
      if (!row) throw new TesseraError('not_found', `no source "${idOrName}"`);
      return row;
    },
    async rotateKey(idOrName: string): Promise<{ source: SourceView; writeKey: string }> {
      const row = await this.get(idOrName);
      const writeKey = generateSecret('wk');
      await storage.sources.setKeyHash(row.id, hashSecret(writeKey), clock());
      byHash.delete(row.writeKeyHash);
      changed();
      return { source: toSourceView({ ...row, updatedAt: clock() }), writeKey };
    },
    async setMapping(idOrName: string, mapping: Mapping): Promise<SourceView> {
      const row = await this.get(idOrName);
      await storage.sources.setMapping(row.id, mapping, clock());
      byHash.delete(row.writeKeyHash);
      changed();
      return toSourceView({ ...row, mapping, updatedAt: clock() });
    },
    /**
     * The source a write key belongs to, or undefined. When the store cannot be read, a key looked up before (or
     * loaded by `warm`) is still answered from memory, however old: an api node keeps accepting while the database
     * is down.
     */
    async authenticate(writeKey: string): Promise<SourceRow | undefined> {
      const hash = hashSecret(writeKey);
      const cached = byHash.get(hash);
      if (cached && cached.until > clock()) return cached.row ?? undefined;
      let row: SourceRow | undefined;
      try {
        row = await storage.sources.byKeyHash(hash);
      } catch (e) {
        if (cached) return cached.row ?? undefined;
        throw e;
      }
      if (byHash.size > 10_000) {
        // Unknown keys (random ones, an attack) must not push out known ones: forget the negatives only.
        for (const [h, entry] of byHash) if (entry.row === null) byHash.delete(h);
      }
      if (row || byHash.size <= 10_000) byHash.set(hash, { row: row ?? null, until: clock() + CACHE_MS });
      return row;
    },
    /**
     * Loads every source's key hash into memory, forgetting keys that are gone (rotated): cluster api nodes, at
     * start and then periodically. While the store is down, the keys of the last load keep being accepted.
     */
    async warm(): Promise<void> {
      const until = clock() + CACHE_MS;
      const rows = await storage.sources.list();
      const live = new Set(rows.map((r) => r.writeKeyHash));
      for (const [h, entry] of byHash) if (entry.row && !live.has(h)) byHash.delete(h);
      for (const row of rows) byHash.set(row.writeKeyHash, { row, until });
    },
  };
}

export type SourceService = ReturnType<typeof createSourceService>;
