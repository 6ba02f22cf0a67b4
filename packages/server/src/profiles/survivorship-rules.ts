import type { SurvivorshipSettings, TraitRule } from '@tessera/protocol';

/**
 * Survivorship rules (DESIGN §5, `docs/survivorship.md`): the versioned business setting `profiles.survivorship`,
 * edited through `PUT /v1/settings/survivorship`. Every answer that applies them records the version it used.
 */

export const SURVIVORSHIP_KEY = 'profiles.survivorship';

/** A validated setting: `traits` always present, trait names as own properties. */
export type SurvivorshipRules = Required<SurvivorshipSettings>;

/** Before any setting is written (version 0): every trait keeps its most recent value. */
export const DEFAULT_SURVIVORSHIP: SurvivorshipRules = Object.freeze({
  default: Object.freeze({ rule: 'most_recent' }),
  traits: Object.freeze({}),
}) as SurvivorshipRules;

/** The rules in force and their version; `observations` is false when every rule is `most_recent`. */
export interface LoadedSurvivorship {
  rules: SurvivorshipRules;
  version: number;
  /** Whether some rule reads the observations of a trait (every rule but `most_recent`). */
  observations: boolean;
}

/** The rule of a trait: its own, else the default. Own properties only (a trait may be named `constructor`). */
export function ruleFor(rules: SurvivorshipRules, trait: string): TraitRule {
  return Object.hasOwn(rules.traits, trait) ? rules.traits[trait] : rules.default;
}

function loaded(rules: SurvivorshipRules, version: number): LoadedSurvivorship {
  return {
    rules,
    version,
    observations:
      rules.default.rule !== 'most_recent' || Object.values(rules.traits).some((r) => r.rule !== 'most_recent'),
  };
}

/** The latest version (0, the defaults, when none was written). */
export async function loadSurvivorship(settings: {
  latest(key: string): Promise<{ value: unknown; version: number } | undefined>;
}): Promise<LoadedSurvivorship> {
  const row = await settings.latest(SURVIVORSHIP_KEY);
  return row ? loaded(stored(row.value), row.version) : loaded(DEFAULT_SURVIVORSHIP, 0);
}

/** A stored value (validated by `PUT /v1/settings/survivorship`; `traits` may be absent in one written by hand). */
function stored(value: unknown): SurvivorshipRules {
  const v = value as Partial<SurvivorshipRules>;
  return { default: v.default ?? DEFAULT_SURVIVORSHIP.default, traits: v.traits ?? {} };
}

/** The version in force at record time `knownAt`: the last one written by then (0 before the first write). */
export async function loadSurvivorshipAt(
  settings: { history(key: string): Promise<{ value: unknown; version: number; createdAt: number }[]> },
  knownAt: number,
): Promise<LoadedSurvivorship> {
  const row = (await settings.history(SURVIVORSHIP_KEY)).filter((r) => r.createdAt <= knownAt).at(-1);
  return row ? loaded(stored(row.value), row.version) : loaded(DEFAULT_SURVIVORSHIP, 0);
}
