import { TesseraError } from '../errors.js';
import { normaliseIdentifier } from '../identity/normalise-identifier.js';
import { loadIdentityRules } from '../identity/rules.js';
import { PERSON_OWNED_TABLES } from '../storage/schema.js';
import type { Storage, Stores } from '../storage/storage.js';
import type { ErasureTarget } from './ports.js';
import { suppressionHash } from './suppression.js';

/** What an identifier names: its normalised value and the person (survivor and family) holding it, if any. */
export async function findPerson(
  tx: Stores,
  identifier: { type: string; value: string },
): Promise<{ value: string; survivorId: string | undefined; family: string[] }> {
  const { rules } = await loadIdentityRules(tx.settings);
  const n = normaliseIdentifier(identifier.type, identifier.value, rules.defaultPhoneRegion);
  if (!n.ok)
    throw new TesseraError('invalid_request', `identifier.value: not a valid ${identifier.type} (${n.reason})`);
  const [row] = await tx.identities.find([{ type: identifier.type, value: n.value }]);
  if (!row) return { value: n.value, survivorId: undefined, family: [] };
  const survivorId = (await tx.identities.resolve([row.profileId])).get(row.profileId) ?? row.profileId;
  const family = (await tx.identities.families([survivorId])).get(survivorId) ?? [survivorId];
  return { value: n.value, survivorId, family: [...new Set([survivorId, ...family])] };
}

/** What an erasure did (the request's proof: counts only, no personal data). */
export interface ErasureReport {
  found: boolean;
  profiles: number;
  /** Rows deleted per person-owned table. */
  tables: Record<string, number>;
  /** Suppression hashes added. */
  suppressed: number;
  /** The store's files scrubbed (SQLite: WAL checkpoints with TRUNCATE). */
  scrub: { ok: boolean; attempts: number } | null;
  /** Cluster mode: the person's messages erased from the JetStream streams; and export files scrubbed. */
  streams: Record<string, number> | null;
  /** Why erasing outside the database failed (the request is then `incomplete`). */
  elsewhere: string | null;
}

/** Erases the person from stores outside the database (cluster mode's JetStream streams). */
export type PurgeElsewhere = (target: {
  values: readonly string[];
  profileIds: readonly string[];
}) => Promise<Record<string, number>>;

/**
 * Erases the person an identifier names (DESIGN §8, docs/privacy.md): every row of every person-owned table
 * (`PERSON_OWNED_TABLES`, one strategy each in the erasure store: by profile ids, by their events' message ids and
 * log positions, raw payloads naming one of their identifier values), after adding the HMAC of each of their
 * normalised identifiers (and of the one asked for) to the suppression list, in one transaction; then the store's
 * files are scrubbed, and `purgeElsewhere` (cluster mode: the JetStream streams) erases what the database does not
 * hold. An identifier nobody holds is still suppressed (`found: false`).
 */
export async function erasePerson(
  storage: Storage,
  secret: Buffer,
  identifier: { type: string; value: string },
  requestId: string,
  now: number,
  purgeElsewhere?: PurgeElsewhere,
  /** Runs as soon as the rows are gone and the hashes listed (the ingest path adds them to its suppression list). */
  afterCommit?: (hashes: string[]) => Promise<void>,
): Promise<ErasureReport> {
  const { target, hashes, ...report } = await storage.transaction(
    async (tx) => {
      const person = await findPerson(tx, identifier);
      const hashes = new Set([suppressionHash(secret, identifier.type, person.value)]);
      const values = new Set<string>([person.value]);
      const identities = person.family.length ? await tx.identities.ofProfiles(person.family) : [];
      for (const i of identities) {
        hashes.add(suppressionHash(secret, i.type, i.value));
        values.add(i.value);
      }
      const events = person.family.length
        ? await tx.events.list({ profileIds: person.family, limit: Number.MAX_SAFE_INTEGER })
        : [];
      const target: ErasureTarget = {
        profileIds: person.family,
        values: [...values],
        messages: events.map((e) => ({ sourceId: e.sourceId, messageId: e.messageId })),
        logPositions: events.map((e) => e.logPosition),
      };
      await tx.suppressions.add([...hashes], requestId, now);
      const tables: Record<string, number> = {};
      for (const table of PERSON_OWNED_TABLES) tables[table] = await tx.erasure.erase(table, target);
      return {
        found: person.survivorId !== undefined,
        profiles: person.family.length,
        tables,
        suppressed: hashes.size,
        target,
        hashes: [...hashes],
      };
    },
    { write: true },
  );
  await afterCommit?.(hashes);
  // After the commit, with the person suppressed at ingest: the scan of the whole log is not held in the transaction.
  report.tables.ingest_log = (report.tables.ingest_log ?? 0) + (await storage.erasure.eraseLogMentions(target.values));
  const scrub = storage.scrub ? await storage.scrub() : null;
  let streams: Record<string, number> | null = null;
  let elsewhere: string | null = null;
  if (purgeElsewhere) {
    try {
      streams = await purgeElsewhere(target);
    } catch (e) {
      // The rows are gone and the identifiers suppressed: the request ends `incomplete`, to be made again.
      elsewhere = e instanceof Error ? e.message : String(e);
    }
  }
  return { ...report, scrub, streams, elsewhere };
}
