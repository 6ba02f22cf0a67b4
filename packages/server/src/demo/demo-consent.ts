import type { DemoRandom } from './demo-random.js';

/** Consent per category, as Segment's consent management sends it in `context.consent.categoryPreferences`. */
export interface ConsentPreferences {
  marketing: boolean;
  analytics: boolean;
  advertising: boolean;
}

/** A first answer to the consent banner: analytics mostly accepted, advertising mostly refused. */
export function createConsent(rnd: DemoRandom): ConsentPreferences {
  return { marketing: rnd.chance(0.55), analytics: rnd.chance(0.8), advertising: rnd.chance(0.35) };
}

/** A change of mind: marketing always flips, advertising sometimes. */
export function changeConsent(rnd: DemoRandom, before: ConsentPreferences): ConsentPreferences {
  return {
    marketing: !before.marketing,
    analytics: before.analytics,
    advertising: rnd.chance(0.5) ? !before.advertising : before.advertising,
  };
}

/** The `context.consent` object of a call. */
export function consentContext(prefs: ConsentPreferences): { categoryPreferences: ConsentPreferences } {
  return { categoryPreferences: { ...prefs } };
}
