import type { Principal, Role } from './principal.js';

/**
 * The permission table (DESIGN §8, docs/access-control.md): what each role may do. `admin` holds every permission;
 * the lists name the other roles that hold one. Every management route asks for exactly one permission
 * (`authorize(request, permission)`), so this table is the whole access policy, and `access-control.test.ts` checks
 * it route by route.
 */
export const PERMISSIONS = {
  /** Profiles, their events, identities, history, merges, accounts, consents, pressure. */
  'profiles.read': ['marketer', 'analyst', 'dpo'],
  /** Personal data in clear (e-mail, phone, names, addresses, IPs…); without it answers are masked. */
  'pii.read': ['dpo'],
  /** Business settings (survivorship, matching, RFM, retention, consent purposes, pressure, PII classes). */
  'settings.read': ['marketer', 'analyst', 'dpo'],
  /** Identity and survivorship settings. */
  'settings.write': [],
  /** Retention, consent purposes and PII classes. */
  'privacy.settings': ['dpo'],
  /** Data-subject requests (access, rectify, erase). */
  'privacy.requests': ['dpo'],
  /** Consents set by hand (a call-centre answer, a paper form). */
  'consents.write': ['marketer', 'dpo'],
  /** The audit log. */
  'audit.read': ['dpo'],
  'audiences.read': ['marketer', 'analyst', 'dpo'],
  /** Audiences, computed traits and RFM settings. */
  'audiences.write': ['marketer'],
  'destinations.read': ['marketer', 'analyst', 'dpo'],
  'destinations.write': ['marketer'],
  /** The list of sources (no keys). */
  'sources.read': ['marketer', 'analyst'],
  /** Sources, write and read keys, mappings, source calls. */
  'sources.manage': [],
  'quarantine.read': ['analyst'],
  'changes.read': ['marketer', 'analyst'],
  'personalization.read': ['marketer'],
  /** The review queue and match explanations. */
  'identity.read': ['marketer', 'analyst', 'dpo'],
  /** Review decisions, unmerge, dedupe, rebuild. */
  'identity.manage': [],
  /** Users and every API token. */
  'users.manage': [],
  /** API tokens for oneself, holding at most one's own roles. */
  'tokens.own': ['marketer', 'analyst', 'dpo'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

/** Whether roles grant a permission. */
export function rolesAllow(roles: readonly Role[], permission: Permission): boolean {
  if (roles.includes('admin')) return true;
  const granted: readonly Role[] = PERMISSIONS[permission];
  return roles.some((r) => granted.includes(r));
}

/** Whether a principal may see personal data unmasked (write keys and anonymous callers read nothing anyway). */
export function seesPii(principal: Principal): boolean {
  return rolesAllow(principal.roles, 'pii.read');
}

/** Every permission a set of roles holds, for `GET /v1/me` (the web app hides what it cannot do). */
export function permissionsOf(roles: readonly Role[]): Permission[] {
  return (Object.keys(PERMISSIONS) as Permission[]).filter((p) => rolesAllow(roles, p));
}
