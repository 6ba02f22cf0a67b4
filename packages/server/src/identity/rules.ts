/**
 * Identity rules (DESIGN §4): a versioned business setting (`identity.rules`), edited through the API. The engine
 * records the version it used with every merge and decision.
 */
export interface IdentifierTypeRule {
  /** `false` = link-only: the identifier is attached to a profile but never joins two profiles. */
  merge: boolean;
  /** At most this many identifiers of the type per profile… */
  limit?: number;
  /** …counting only those first seen within this many days of the event. */
  windowDays?: number;
}

export interface IdentityRules {
  types: Record<string, IdentifierTypeRule>;
  /** Highest priority first. On a limit conflict, incoming identifiers are dropped lowest priority first. */
  priority: string[];
  /** Values never used as identifiers, compared after normalisation, case-insensitively. */
  blockedValues: string[];
  /** A merge that would join more profiles than this goes to review instead. */
  maxProfilesPerMerge: number;
  /** A profile never holds more identifiers than this; the overflow goes to review. */
  maxIdentifiersPerProfile: number;
  /** Region for phone numbers written without a country code (ISO 3166 alpha-2). */
  defaultPhoneRegion: string;
}

export const IDENTITY_RULES_KEY = 'identity.rules';

export const DEFAULT_IDENTITY_RULES: IdentityRules = Object.freeze({
  types: {
    user_id: { merge: true, limit: 1 },
    crm_id: { merge: true, limit: 1 },
    email: { merge: true, limit: 5 },
    phone: { merge: true, limit: 5 },
    loyalty_card: { merge: true, limit: 3 },
    wallet: { merge: true, limit: 10 },
    anonymous_id: { merge: true, limit: 100, windowDays: 30 },
    device_id: { merge: false },
  },
  priority: ['user_id', 'crm_id', 'email', 'phone', 'loyalty_card', 'wallet', 'anonymous_id', 'device_id'],
  blockedValues: [
    'null',
    'undefined',
    'nil',
    'none',
    'nan',
    '0',
    '-1',
    'anonymous',
    'unknown',
    'n/a',
    'na',
    '-',
    'test',
    'guest',
    '[object object]',
    'test@test.com',
    'test@example.com',
    'noemail@example.com',
    'no@email.com',
  ],
  maxProfilesPerMerge: 10,
  maxIdentifiersPerProfile: 1000,
  defaultPhoneRegion: 'US',
}) as IdentityRules;

/** The rule of a type; types not configured are link-only (they can never cause a merge until configured). */
export function ruleOf(rules: IdentityRules, type: string): IdentifierTypeRule {
  return rules.types[type] ?? { merge: false };
}

/** Priority rank of a type: 0 is highest; unknown types rank last. */
export function rankOf(rules: IdentityRules, type: string): number {
  const i = rules.priority.indexOf(type);
  return i === -1 ? rules.priority.length : i;
}

/** The identity rules in force and their settings version (0 = the defaults, never edited). */
export async function loadIdentityRules(settings: {
  latest(key: string): Promise<{ value: unknown; version: number } | undefined>;
}): Promise<{ rules: IdentityRules; version: number }> {
  const row = await settings.latest(IDENTITY_RULES_KEY);
  return { rules: (row?.value as IdentityRules | undefined) ?? DEFAULT_IDENTITY_RULES, version: row?.version ?? 0 };
}
