import type { ComputedTraitDefinition } from '@tessera/protocol';
import type { SettingsStore } from '../settings/ports.js';
import type { ComputedTraits } from './computed-trait.js';

/** The versioned setting holding every computed trait (DESIGN §9: business settings are versioned rows). */
export const COMPUTED_TRAITS_KEY = 'computed_traits';

/** One computed trait as stored in the setting. */
export interface ComputedTraitEntry {
  name: string;
  definition: ComputedTraitDefinition;
  updatedAt: number;
  updatedBy: string;
}

/** The computed traits in force: entries by key, their definitions, and the setting's version (0: none yet). */
export async function loadComputedTraits(
  settings: SettingsStore,
): Promise<{ entries: Record<string, ComputedTraitEntry>; definitions: ComputedTraits; version: number }> {
  const row = await settings.latest(COMPUTED_TRAITS_KEY);
  const entries = (row?.value ?? {}) as Record<string, ComputedTraitEntry>;
  return {
    entries,
    definitions: new Map(Object.entries(entries).map(([k, e]) => [k, e.definition])),
    version: row?.version ?? 0,
  };
}
