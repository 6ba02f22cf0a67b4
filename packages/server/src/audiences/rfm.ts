import { RFM_TRAITS, type RfmSettings } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import type { SettingsStore } from '../settings/ports.js';
import type { Storage } from '../storage/storage.js';
import { writeTransaction } from '../storage/write-transaction.js';
import { referencedTraits } from './audience-input.js';
import { compileRfm } from './compile-sql.js';
import { parseAudience } from './parse-audience.js';

/** The versioned setting of RFM (DESIGN §9). */
export const RFM_KEY = 'rfm';

/** The RFM settings in force and their version, or undefined before any is set. */
export async function loadRfmSettings(
  settings: SettingsStore,
): Promise<{ settings: RfmSettings; version: number } | undefined> {
  const row = await settings.latest(RFM_KEY);
  return row ? { settings: row.value as RfmSettings, version: row.version } : undefined;
}

function invalid(field: string, message: string): never {
  throw new TesseraError('invalid_request', `invalid rfm settings: ${field}: ${message}`, { details: { field } });
}

/** Validates `{event, amountProperty, windowDays?}`. */
export function parseRfmSettings(body: unknown): RfmSettings {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) invalid('(root)', 'expected a JSON object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (!['event', 'amountProperty', 'windowDays'].includes(k))
      invalid(k, 'unknown field (expected event, amountProperty, windowDays)');
  if (typeof b.event !== 'string' || b.event === '' || b.event.length > 200)
    invalid('event', 'is required: the purchase event name, up to 200 characters');
  // The amount is a property path, checked as the audience language checks one.
  try {
    parseAudience({ type: 'event', name: b.event, where: [{ property: b.amountProperty, compare: { op: 'exists' } }] });
  } catch {
    invalid('amountProperty', 'is required: a property path (dots walk into objects), up to 200 characters');
  }
  if (
    b.windowDays !== undefined &&
    (!Number.isInteger(b.windowDays) || (b.windowDays as number) < 1 || (b.windowDays as number) > 3650)
  )
    invalid('windowDays', 'a whole number of days from 1 to 3650');
  return {
    event: b.event,
    amountProperty: b.amountProperty as string,
    ...(b.windowDays === undefined ? {} : { windowDays: b.windowDays as number }),
  };
}

/** What a run did. */
export interface RfmRunSummary {
  profiles: number;
  settingsVersion: number;
  ms: number;
}

/**
 * Scores every profile with a purchase (docs/audiences.md, "RFM") in one transaction: `rfm_scores` is replaced by
 * the compiled run, then every audience reading an RFM trait is asked for a full recomputation. `undefined` when RFM
 * is not configured.
 */
export async function runRfm(storage: Storage, now = Date.now()): Promise<RfmRunSummary | undefined> {
  const started = performance.now();
  return writeTransaction(storage, async (tx) => {
    const loaded = await loadRfmSettings(tx.settings);
    if (!loaded) return undefined;
    const profiles = await tx.rfm.replace(compileRfm(loaded.settings, storage.dialect, now, loaded.version));
    const rfmTraits = new Set<string>(RFM_TRAITS);
    for (const a of await tx.audiences.list())
      if ([...referencedTraits(a.definition)].some((k) => rfmTraits.has(k)))
        await tx.audiences.requestRecompute(a.key, now);
    return { profiles, settingsVersion: loaded.version, ms: Math.round(performance.now() - started) };
  });
}

/** RFM settings and scores as the API handles them. */
export function createRfmService(storage: Storage, clock: () => number = Date.now) {
  return {
    async settings() {
      const loaded = await loadRfmSettings(storage.settings);
      return loaded ? { version: loaded.version, settings: loaded.settings } : { version: 0, settings: null };
    },
    /** Saves new settings (a version) and scores every profile with them at once. */
    async put(body: unknown, by: string) {
      const settings = parseRfmSettings(body);
      const row = await storage.settings.put(RFM_KEY, settings, by, clock());
      const run = await runRfm(storage, clock());
      return { version: row.version, settings, run };
    },
    /** The last run and the number of profiles per (R, F) cell and segment. */
    async summary() {
      const [grid, last, loaded] = await Promise.all([
        storage.rfm.grid(),
        storage.rfm.lastRun(),
        loadRfmSettings(storage.settings),
      ]);
      const segments: Record<string, number> = {};
      for (const cell of grid) segments[cell.segment] = (segments[cell.segment] ?? 0) + cell.profiles;
      return {
        configured: loaded !== undefined,
        computedAt: last?.computedAt ?? null,
        settingsVersion: last?.settingsVersion ?? null,
        grid,
        segments,
      };
    },
  };
}

export type RfmService = ReturnType<typeof createRfmService>;
