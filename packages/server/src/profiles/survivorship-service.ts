import { fromPublicId } from '@tessera/protocol';
import type { SettingRow, SettingsStore } from '../settings/ports.js';
import type { SourceStore } from '../sources/ports.js';
import { fail, parseSurvivorship } from './parse-survivorship.js';
import { DEFAULT_SURVIVORSHIP, SURVIVORSHIP_KEY, type SurvivorshipRules } from './survivorship-rules.js';

/** One version of the setting; version 0 (the defaults) has no author nor time. */
export interface SurvivorshipVersionRow {
  version: number;
  settings: SurvivorshipRules;
  createdAt: number | null;
  createdBy: string | null;
}

const DEFAULTS: SurvivorshipVersionRow = {
  version: 0,
  settings: DEFAULT_SURVIVORSHIP,
  createdAt: null,
  createdBy: null,
};

const toVersion = (r: SettingRow): SurvivorshipVersionRow => ({
  version: r.version,
  settings: r.value as SurvivorshipRules,
  createdAt: r.createdAt,
  createdBy: r.createdBy,
});

/**
 * The survivorship setting (DESIGN §5, §9): read, write (every write a new version, with its author), list versions.
 * Reads of profiles apply the latest version at once (`golden-record.ts`).
 */
export function createSurvivorshipService(
  stores: { settings: SettingsStore; sources: Pick<SourceStore, 'list'> },
  clock: () => number = Date.now,
) {
  return {
    /** The version in force (0 with the defaults). */
    async current(): Promise<SurvivorshipVersionRow> {
      const row = await stores.settings.latest(SURVIVORSHIP_KEY);
      return row ? toVersion(row) : DEFAULTS;
    },

    /**
     * Validates `body` and writes it as the next version. Every source a `source_priority` rule names must exist
     * (by name or `src_…` id): a typo would otherwise rank a source last without a word.
     *
     * @throws TesseraError `invalid_request` (`invalid survivorship settings: <field>: …`, `details.field`).
     */
    async put(body: unknown, createdBy: string): Promise<SurvivorshipVersionRow> {
      const settings = parseSurvivorship(body);
      const sources = await stores.sources.list();
      const idOf = new Map([
        ...sources.map((s) => [s.name, s.id] as const),
        ...sources.map((s) => [s.id, s.id] as const),
      ]);
      const rules = [
        ['default', settings.default] as const,
        ...Object.entries(settings.traits).map(([trait, rule]) => [`traits.${trait}`, rule] as const),
      ];
      for (const [field, rule] of rules) {
        if (rule.rule !== 'source_priority') continue;
        const seen = new Set<string>();
        for (const [i, s] of rule.sources.entries()) {
          const id = idOf.get(fromPublicId('source', s) ?? s);
          if (id === undefined) fail(`${field}.sources.${i}`, `no source has the name or id ${JSON.stringify(s)}`);
          if (seen.has(id)) fail(`${field}.sources.${i}`, `${JSON.stringify(s)} names a source listed before`);
          seen.add(id);
        }
      }
      return toVersion(await stores.settings.put(SURVIVORSHIP_KEY, settings, createdBy, clock()));
    },

    /** Every version, newest first, ending with version 0 (the defaults). */
    async versions(): Promise<SurvivorshipVersionRow[]> {
      return [...(await stores.settings.history(SURVIVORSHIP_KEY)).map(toVersion).reverse(), DEFAULTS];
    },
  };
}

export type SurvivorshipService = ReturnType<typeof createSurvivorshipService>;
