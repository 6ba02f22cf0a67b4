import { Value } from '@sinclair/typebox/value';
import { SURVIVORSHIP_EXAMPLE, SurvivorshipSettings } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../errors.js';
import { parseSurvivorship } from './parse-survivorship.js';
import { ruleFor } from './survivorship-rules.js';

/** The field `parseSurvivorship` names for a body, or `ok`. */
function verdict(body: unknown): string {
  try {
    parseSurvivorship(body);
    return 'ok';
  } catch (e) {
    if (!isTesseraError(e) || e.code !== 'invalid_request') throw e;
    expect(e.message).toMatch(/^invalid survivorship settings: /);
    expect(e.message).toContain(`: ${(e.details as { field: string }).field}: `);
    return (e.details as { field: string }).field;
  }
}

const tooManyTraits = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`t${i}`, { rule: 'longest' }]));
const tooManySources = Array.from({ length: 101 }, (_, i) => `s${i}`);

/** [name, body, field named (or `ok`), whether the protocol schema alone can tell] */
const CASES: [string, unknown, string, boolean][] = [
  ['the documented example', SURVIVORSHIP_EXAMPLE, 'ok', true],
  ['a default alone', { default: { rule: 'longest' } }, 'ok', true],
  ['every rule', { default: { rule: 'most_frequent' }, traits: { a: { rule: 'most_recent' } } }, 'ok', true],
  ['not an object', [], '(root)', true],
  ['null', null, '(root)', true],
  ['no default', { traits: {} }, 'default', true],
  ['an unknown field', { default: { rule: 'longest' }, extra: 1 }, 'extra', true],
  ['an unknown rule', { default: { rule: 'oldest' } }, 'default.rule', true],
  ['a rule as a bare string', { default: 'most_recent' }, 'default', true],
  ['no rule', { default: {} }, 'default.rule', true],
  ['traits not an object', { default: { rule: 'longest' }, traits: [] }, 'traits', true],
  [
    'a trait rule that is unknown',
    { default: { rule: 'longest' }, traits: { plan: { rule: 'x' } } },
    'traits.plan.rule',
    true,
  ],
  [
    'source_priority without sources',
    { default: { rule: 'most_recent' }, traits: { email: { rule: 'source_priority' } } },
    'traits.email.sources',
    true,
  ],
  ['source_priority with no source', { default: { rule: 'source_priority', sources: [] } }, 'default.sources', true],
  [
    'sources that are not strings',
    { default: { rule: 'source_priority', sources: ['crm', 3] } },
    'default.sources.1',
    true,
  ],
  ['an empty source name', { default: { rule: 'source_priority', sources: [''] } }, 'default.sources.0', true],
  [
    'a source listed twice',
    { default: { rule: 'source_priority', sources: ['a', 'b', 'a'] } },
    'default.sources.2',
    true,
  ],
  ['too many sources', { default: { rule: 'source_priority', sources: tooManySources } }, 'default.sources', true],
  ['sources on another rule', { default: { rule: 'longest', sources: ['crm'] } }, 'default.sources', true],
  ['too many traits', { default: { rule: 'longest' }, traits: tooManyTraits }, 'traits', true],
  ['an empty trait name', { default: { rule: 'longest' }, traits: { '': { rule: 'longest' } } }, 'traits.', false],
  [
    'a trait name too long',
    { default: { rule: 'longest' }, traits: { ['x'.repeat(257)]: { rule: 'longest' } } },
    `traits.${'x'.repeat(257)}`,
    false,
  ],
];

describe('parseSurvivorship', () => {
  it.each(CASES)('%s', (_, body, field) => {
    expect(verdict(body)).toBe(field);
  });

  it.each(CASES.filter(([, , , schema]) => schema))('agrees with the protocol schema: %s', (_, body, field) => {
    expect(Value.Check(SurvivorshipSettings, body)).toBe(field === 'ok');
  });

  it('fills in traits and copies the body', () => {
    const body = { default: { rule: 'source_priority', sources: ['crm'] } };
    const parsed = parseSurvivorship(body);
    expect(parsed).toEqual({ default: { rule: 'source_priority', sources: ['crm'] }, traits: {} });
    body.default.sources.push('web');
    expect(parsed.default).toEqual({ rule: 'source_priority', sources: ['crm'] });
  });

  it('keeps traits named like Object.prototype members as ordinary traits (regression)', () => {
    const parsed = parseSurvivorship(
      JSON.parse(
        '{"default":{"rule":"most_recent"},"traits":{"__proto__":{"rule":"longest"},"constructor":{"rule":"most_frequent"}}}',
      ),
    );
    expect(Object.keys(parsed.traits).sort()).toEqual(['__proto__', 'constructor']);
    expect(ruleFor(parsed, '__proto__')).toEqual({ rule: 'longest' });
    expect(ruleFor(parsed, 'constructor')).toEqual({ rule: 'most_frequent' });
    expect(ruleFor(parsed, 'toString')).toEqual({ rule: 'most_recent' });
    const stored = JSON.parse(JSON.stringify(parsed)).traits;
    expect(Object.getOwnPropertyDescriptor(stored, '__proto__')?.value).toEqual({ rule: 'longest' });
  });
});
