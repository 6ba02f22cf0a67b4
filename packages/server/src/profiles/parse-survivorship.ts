import { SURVIVORSHIP_LIMITS, SURVIVORSHIP_RULES, type TraitRule } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import type { SurvivorshipRules } from './survivorship-rules.js';

/**
 * Validates a parsed JSON body as a survivorship setting (`@tessera/protocol` `SurvivorshipSettings`) and returns a
 * copy with `traits` always present. Whether the sources a `source_priority` rule names exist is checked by the
 * caller, which has the store.
 *
 * @throws TesseraError `invalid_request` whose message starts with `invalid survivorship settings:` and the offending
 *   field path (`traits.email.sources`), also given as `details.field`.
 */
export function parseSurvivorship(json: unknown): SurvivorshipRules {
  if (!isObject(json)) fail('(root)', 'must be an object');
  for (const key of Object.keys(json))
    if (key !== 'default' && key !== 'traits') fail(key, 'unknown field (expected default, traits)');
  if (!Object.hasOwn(json, 'default')) fail('default', 'is required');
  const out: SurvivorshipRules = { default: parseRule(json.default, 'default'), traits: Object.create(null) };
  if (Object.hasOwn(json, 'traits')) {
    const traits = json.traits;
    if (!isObject(traits)) fail('traits', 'must be an object of trait name → rule');
    const names = Object.keys(traits);
    if (names.length > SURVIVORSHIP_LIMITS.maxTraits)
      fail('traits', `at most ${SURVIVORSHIP_LIMITS.maxTraits} traits (got ${names.length})`);
    for (const name of names) {
      if (name.length === 0 || name.length > SURVIVORSHIP_LIMITS.maxTraitName)
        fail(`traits.${name}`, `a trait name has 1 to ${SURVIVORSHIP_LIMITS.maxTraitName} characters`);
      // A plain assignment of `__proto__` would set the prototype: define it as the own property it is in JSON.
      Object.defineProperty(out.traits, name, {
        value: parseRule(traits[name], `traits.${name}`),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return out;
}

function parseRule(json: unknown, field: string): TraitRule {
  if (!isObject(json)) fail(field, 'must be an object such as {"rule": "most_recent"}');
  const rule = json.rule;
  if (typeof rule !== 'string' || !(SURVIVORSHIP_RULES as readonly string[]).includes(rule))
    fail(`${field}.rule`, `expected one of ${SURVIVORSHIP_RULES.map((r) => JSON.stringify(r)).join(', ')}`);
  const allowed = rule === 'source_priority' ? ['rule', 'sources'] : ['rule'];
  for (const key of Object.keys(json))
    if (!allowed.includes(key)) fail(`${field}.${key}`, `unknown field for rule ${rule}`);
  if (rule !== 'source_priority') return { rule } as TraitRule;
  const sources = json.sources;
  if (!Array.isArray(sources) || sources.length === 0)
    fail(`${field}.sources`, 'source_priority needs a non-empty array of source names or ids, most trusted first');
  if (sources.length > SURVIVORSHIP_LIMITS.maxSources)
    fail(`${field}.sources`, `at most ${SURVIVORSHIP_LIMITS.maxSources} sources`);
  const seen = new Set<string>();
  for (const [i, s] of sources.entries()) {
    if (typeof s !== 'string' || s.length === 0 || s.length > 200)
      fail(`${field}.sources.${i}`, 'must be a source name or id (1 to 200 characters)');
    if (seen.has(s)) fail(`${field}.sources.${i}`, `${JSON.stringify(s)} is listed twice`);
    seen.add(s);
  }
  return { rule: 'source_priority', sources: [...sources] as string[] };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The error of a field: thrown, never returned. */
export function fail(field: string, message: string): never {
  throw new TesseraError('invalid_request', `invalid survivorship settings: ${field}: ${message}`, {
    details: { field },
  });
}
