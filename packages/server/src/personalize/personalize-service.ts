import { generateSecret, hashSecret } from '../auth/secrets.js';
import { TesseraError } from '../errors.js';
import { normaliseIdentifier } from '../identity/normalise-identifier.js';
import type { SourceService } from '../sources/source-service.js';
import type { Storage } from '../storage/storage.js';
import type { ReadKeyRow } from './ports.js';

/** What a source's read key may read (`PUT /v1/sources/{id}/personalization`). */
export interface PersonalizationSettings {
  origins: string[];
  traits: string[];
  audiences: string[];
}

/** The answer of `GET /v1/personalize`. */
export interface Personalization {
  /** Whether the identifier belongs to a profile. */
  known: boolean;
  /** The allow-listed traits the profile has. */
  traits: Record<string, unknown>;
  /** The allow-listed audiences the profile is in, with entry times (ms). */
  audiences: { key: string; enteredAt: number }[];
}

const LIMIT = 100;
/** An origin as browsers send it: scheme, host, optional port; nothing else. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;
const TRAIT = /^[^\s.][^\s]{0,199}$/;
const AUDIENCE = /^[A-Za-z0-9_-]{1,64}$/;
const CACHE_MS = 30_000;

function invalid(field: string, message: string): never {
  throw new TesseraError('invalid_request', `invalid personalization settings: ${field}: ${message}`, {
    details: { field },
  });
}

function list(body: Record<string, unknown>, field: keyof PersonalizationSettings, pattern: RegExp, what: string) {
  const v = body[field] ?? [];
  if (!Array.isArray(v)) invalid(field, 'expected an array of strings');
  if (v.length > LIMIT) invalid(field, `at most ${LIMIT} entries`);
  v.forEach((x, i) => {
    if (typeof x !== 'string' || !pattern.test(x)) invalid(`${field}.${i}`, `expected ${what}`);
  });
  return [...new Set(v as string[])];
}

/** Validates a settings body: `{origins?, traits?, audiences?}`, each an array of strings (default empty). */
export function parsePersonalizationSettings(body: unknown): PersonalizationSettings {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) invalid('(root)', 'expected a JSON object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (!['origins', 'traits', 'audiences'].includes(k))
      invalid(k, 'unknown field (expected origins, traits, audiences)');
  return {
    origins: list(b, 'origins', ORIGIN, 'an origin such as https://shop.example or http://localhost:8080'),
    traits: list(b, 'traits', TRAIT, 'a trait key (up to 200 characters, no spaces)'),
    audiences: list(b, 'audiences', AUDIENCE, 'an audience key'),
  };
}

const settingsOf = (r: ReadKeyRow): PersonalizationSettings => ({
  origins: r.origins,
  traits: r.traits,
  audiences: r.audiences,
});

/**
 * The personalisation endpoint's side (issue 5, `docs/personalization.md`): per source, one read key (shown once,
 * stored as SHA-256) and its settings — allowed browser origins, answered traits and audience keys. Answers come
 * from stored rows only (the golden record as stored, the open stays): no evaluation on the request path. Key
 * look-ups are cached in memory for 30 s, like write keys.
 */
export function createPersonalizeService(storage: Storage, sources: SourceService, clock: () => number = Date.now) {
  const byHash = new Map<string, { row: ReadKeyRow | null; until: number }>();
  let origins: { set: Set<string>; until: number } | undefined;
  const forget = () => {
    byHash.clear();
    origins = undefined;
  };

  return {
    /** The source's settings, or the defaults (nothing allowed) and `hasKey: false` before a key exists. */
    async settings(sourceIdOrName: string): Promise<PersonalizationSettings & { hasKey: boolean }> {
      const source = await sources.get(sourceIdOrName);
      const row = await storage.readKeys.get(source.id);
      return row ? { ...settingsOf(row), hasKey: true } : { origins: [], traits: [], audiences: [], hasKey: false };
    },

    /** Sets what the read key may read; creates the key when the source has none (then answered once). */
    async configure(
      sourceIdOrName: string,
      body: unknown,
      by: string,
    ): Promise<PersonalizationSettings & { readKey?: string }> {
      const settings = parsePersonalizationSettings(body);
      const source = await sources.get(sourceIdOrName);
      const now = clock();
      const existing = await storage.readKeys.get(source.id);
      const readKey = existing ? undefined : generateSecret('rk');
      await storage.readKeys.save({
        sourceId: source.id,
        keyHash: existing?.keyHash ?? hashSecret(readKey as string),
        ...settings,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
        updatedBy: by,
      });
      forget();
      return { ...settings, ...(readKey ? { readKey } : {}) };
    },

    /** A new read key for the source (the old one stops working at once here, within 30 s on other nodes). */
    async rotate(sourceIdOrName: string, by: string): Promise<{ readKey: string } & PersonalizationSettings> {
      const source = await sources.get(sourceIdOrName);
      const existing = await storage.readKeys.get(source.id);
      const readKey = generateSecret('rk');
      const now = clock();
      const settings = existing ? settingsOf(existing) : { origins: [], traits: [], audiences: [] };
      await storage.readKeys.save({
        sourceId: source.id,
        keyHash: hashSecret(readKey),
        ...settings,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
        updatedBy: by,
      });
      forget();
      return { readKey, ...settings };
    },

    /** The row of a read key, or undefined (cached 30 s). */
    async authenticate(readKey: string): Promise<ReadKeyRow | undefined> {
      const hash = hashSecret(readKey);
      const cached = byHash.get(hash);
      if (cached && cached.until > clock()) return cached.row ?? undefined;
      const row = await storage.readKeys.byHash(hash);
      if (byHash.size > 10_000) for (const [h, e] of byHash) if (e.row === null) byHash.delete(h);
      if (row || byHash.size <= 10_000) byHash.set(hash, { row: row ?? null, until: clock() + CACHE_MS });
      return row;
    },

    /** Whether some source's read key allows `origin` (a preflight carries no key; the call itself is checked). */
    async originAllowed(origin: string): Promise<boolean> {
      if (!origins || origins.until <= clock()) {
        const set = new Set((await storage.readKeys.list()).flatMap((r) => r.origins));
        origins = { set, until: clock() + CACHE_MS };
      }
      return origins.set.has(origin);
    },

    /** What `row`'s key may read of the profile holding `userId` or `anonymousId`. */
    async answer(row: ReadKeyRow, who: { type: 'user_id' | 'anonymous_id'; value: string }): Promise<Personalization> {
      const none: Personalization = { known: false, traits: {}, audiences: [] };
      const n = normaliseIdentifier(who.type, who.value, 'US');
      if (!n.ok) return none;
      const [identity] = await storage.identities.find([{ type: who.type, value: n.value }]);
      if (!identity) return none;
      const survivor = (await storage.identities.resolve([identity.profileId])).get(identity.profileId) as string;
      const [profile] = await storage.profiles.get([survivor]);
      if (!profile) return none;
      const traits: Record<string, unknown> = {};
      for (const k of row.traits) if (Object.hasOwn(profile.traits, k)) traits[k] = profile.traits[k];
      const wanted = new Set(row.audiences);
      const audiences =
        wanted.size === 0
          ? []
          : (await storage.memberships.current([survivor]))
              .filter((s) => wanted.has(s.audienceKey))
              .map((s) => ({ key: s.audienceKey, enteredAt: s.enteredAt }))
              .sort((a, b) => (a.key < b.key ? -1 : 1));
      return { known: true, traits, audiences };
    },
  };
}

export type PersonalizeService = ReturnType<typeof createPersonalizeService>;
