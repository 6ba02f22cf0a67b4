import { type ComputedTraitDefinition, MAX_COMPUTED_TRAITS } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { writeTransaction } from '../storage/write-transaction.js';
import { referencedTraits } from './audience-input.js';
import { computeTrait } from './computed-trait.js';
import { COMPUTED_TRAITS_KEY, type ComputedTraitEntry, loadComputedTraits } from './computed-trait-settings.js';
import { loadSnapshots, rfmTraits } from './evaluate-profiles.js';
import { parseAudience } from './parse-audience.js';
import { isRfmTrait } from './rfm-segments.js';
import { summariseTrait } from './summarise.js';

const KEY = /^[A-Za-z0-9_-]{1,64}$/;
const WITH_PROPERTY = new Set(['sum', 'average', 'min', 'max', 'first', 'last', 'most_frequent']);
const FUNCTIONS = ['count', 'sum', 'average', 'min', 'max', 'first', 'last', 'most_frequent', 'days_since'];

function invalid(field: string, message: string): never {
  throw new TesseraError('invalid_request', `invalid computed trait: ${field}: ${message}`, { details: { field } });
}

/**
 * Validates a computed trait definition: `fn`, `event`, `property` (required except for `count` and `days_since`,
 * refused for them), and `where` / `window` by the audience language's rules (the parser of an event condition,
 * whose errors are renamed to this definition's fields).
 */
export function parseComputedTrait(value: unknown): ComputedTraitDefinition {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid('definition', 'expected an object');
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v))
    if (!['fn', 'event', 'property', 'where', 'window'].includes(k))
      invalid(`definition.${k}`, 'unknown field (expected fn, event, property, where, window)');
  if (typeof v.fn !== 'string' || !FUNCTIONS.includes(v.fn))
    invalid('definition.fn', `expected one of ${FUNCTIONS.join(', ')}`);
  const needsProperty = WITH_PROPERTY.has(v.fn);
  if (needsProperty && v.property === undefined) invalid('definition.property', `is required for ${v.fn}`);
  if (!needsProperty && v.property !== undefined) invalid('definition.property', `${v.fn} takes no property`);
  if (
    v.property !== undefined &&
    (typeof v.property !== 'string' || !/^[^.]+(\.[^.]+)*$/.test(v.property) || v.property.length > 200)
  )
    invalid('definition.property', 'expected a property path (dots walk into objects), up to 200 characters');
  try {
    parseAudience({
      type: 'event',
      name: v.event,
      ...(v.where === undefined ? {} : { where: v.where }),
      ...(v.window === undefined ? {} : { window: v.window }),
    });
  } catch (e) {
    if (!(e instanceof TesseraError) || typeof e.details?.field !== 'string') throw e;
    const field = e.details.field.replace(/^name/, 'event');
    invalid(`definition.${field === '(root)' ? 'event' : field}`, e.message.replace(/^invalid audience: [^:]*: /, ''));
  }
  return structuredClone(v) as ComputedTraitDefinition;
}

/** A computed trait as the API shows it. */
export interface ComputedTraitDetails extends ComputedTraitEntry {
  key: string;
  summary: { en: string; fr: string };
}

const details = (key: string, e: ComputedTraitEntry): ComputedTraitDetails => ({
  key,
  ...e,
  summary: { en: summariseTrait(e.definition, 'en'), fr: summariseTrait(e.definition, 'fr') },
});

/**
 * Computed traits (docs/audiences.md, "Computed traits"): definitions kept in one versioned setting
 * (`computed_traits`), values computed when read. Changing a definition asks for a full recomputation of every
 * audience that reads it; deleting one that an audience reads is refused.
 */
export function createComputedTraitService(storage: Storage, clock: () => number = Date.now) {
  return {
    async list(): Promise<ComputedTraitDetails[]> {
      const { entries } = await loadComputedTraits(storage.settings);
      return Object.keys(entries)
        .sort()
        .map((k) => details(k, entries[k]));
    },

    async get(key: string): Promise<ComputedTraitDetails> {
      const { entries } = await loadComputedTraits(storage.settings);
      if (!Object.hasOwn(entries, key)) throw new TesseraError('not_found', `no computed trait ${JSON.stringify(key)}`);
      return details(key, entries[key]);
    },

    /** Creates or replaces `key` (a new version of the setting). */
    async put(key: string, body: unknown, by: string): Promise<ComputedTraitDetails> {
      if (!KEY.test(key)) invalid('key', '1 to 64 letters, digits, `_` or `-`');
      if (isRfmTrait(key)) invalid('key', `${key} is an RFM trait (set by PUT /v1/settings/rfm)`);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) invalid('(root)', 'expected a JSON object');
      const b = body as Record<string, unknown>;
      for (const k of Object.keys(b))
        if (!['name', 'definition'].includes(k)) invalid(k, 'unknown field (expected name, definition)');
      if (typeof b.name !== 'string' || b.name.trim() === '' || b.name.length > 200)
        invalid('name', 'is required: 1 to 200 characters');
      const definition = parseComputedTrait(b.definition);
      return writeTransaction(storage, async (tx) => {
        const { entries } = await loadComputedTraits(tx.settings);
        if (!Object.hasOwn(entries, key) && Object.keys(entries).length >= MAX_COMPUTED_TRAITS)
          throw new TesseraError('conflict', `at most ${MAX_COMPUTED_TRAITS} computed traits`);
        const now = clock();
        const entry: ComputedTraitEntry = { name: b.name as string, definition, updatedAt: now, updatedBy: by };
        await tx.settings.put(COMPUTED_TRAITS_KEY, { ...entries, [key]: entry }, by, now);
        for (const a of await tx.audiences.list())
          if (referencedTraits(a.definition).has(key)) await tx.audiences.requestRecompute(a.key, now);
        return details(key, entry);
      });
    },

    /** Deletes `key`. @throws `conflict` while an audience reads it. */
    async remove(key: string, by: string): Promise<void> {
      await writeTransaction(storage, async (tx) => {
        const { entries } = await loadComputedTraits(tx.settings);
        if (!Object.hasOwn(entries, key))
          throw new TesseraError('not_found', `no computed trait ${JSON.stringify(key)}`);
        const users = (await tx.audiences.list()).filter((a) => referencedTraits(a.definition).has(key));
        if (users.length > 0)
          throw new TesseraError(
            'conflict',
            `computed trait ${JSON.stringify(key)} is read by audience ${users.map((a) => JSON.stringify(a.key)).join(', ')}`,
            { details: { key, audiences: users.map((a) => a.key) } },
          );
        const rest = { ...entries };
        delete rest[key];
        await tx.settings.put(COMPUTED_TRAITS_KEY, rest, by, clock());
      });
    },

    /** Every computed trait of a profile (its survivor's) at `now`; missing values are left out. */
    async values(profileId: string, now = clock()): Promise<Record<string, unknown>> {
      const survivor = (await storage.identities.resolve([profileId])).get(profileId) as string;
      const [profile] = await storage.profiles.get([survivor]);
      if (!profile) throw new TesseraError('not_found', 'no such profile');
      const { definitions } = await loadComputedTraits(storage.settings);
      const [scores] = await storage.rfm.get([survivor]);
      if (definitions.size === 0) return rfmTraits(scores);
      // One snapshot reading every trait's events: as if one audience read them all.
      const reads = [...definitions.keys()].map((key) => ({
        type: 'computed_trait' as const,
        key,
        compare: { op: 'exists' as const },
      }));
      const snapshot = (
        await loadSnapshots(storage, [survivor], [{ type: 'or', conditions: reads }], now, definitions)
      ).get(survivor);
      const out: Record<string, unknown> = rfmTraits(scores);
      for (const [key, definition] of definitions) {
        const v = computeTrait(definition, snapshot?.events ?? [], now);
        if (v !== undefined) out[key] = v;
      }
      return out;
    },
  };
}

export type ComputedTraitService = ReturnType<typeof createComputedTraitService>;
