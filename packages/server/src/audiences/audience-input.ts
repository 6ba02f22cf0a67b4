import type { AudienceDefinition } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import type { SettingsStore } from '../settings/ports.js';
import { loadComputedTraits } from './computed-trait-settings.js';
import { parseAudience } from './parse-audience.js';
import { isRfmTrait } from './rfm-segments.js';

/**
 * The checks of an audience API body (`AudienceService`): each throws `invalid_request` naming the field from the
 * body's root, as `invalid audience: FIELD: …`.
 */

/** Throws `invalid_request` for `field`. */
export function invalid(field: string, message: string): never {
  throw new TesseraError('invalid_request', `invalid audience: ${field}: ${message}`, { details: { field } });
}

/** `parseAudience` on the `definition` field of a body: fields are named from the body's root. */
export function parseDefinition(value: unknown, key?: string): AudienceDefinition {
  if (value === undefined) invalid('definition', 'is required');
  try {
    return parseAudience(value, { key });
  } catch (e) {
    if (!(e instanceof TesseraError) || typeof e.details?.field !== 'string') throw e;
    const field = e.details.field === '(root)' ? 'definition' : `definition.${e.details.field}`;
    throw new TesseraError(
      'invalid_request',
      e.message.replace(/^invalid audience: [^:]*:/, `invalid audience: ${field}:`),
      {
        details: { field },
      },
    );
  }
}

/** Field `field` of `body`: a non-empty string of at most `max` characters, or absent when not `required`. */
export function text(body: Record<string, unknown>, field: string, max: number, required: boolean): string | undefined {
  const v = body[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.trim() === '')
    invalid(field, required ? 'is required: a non-empty string' : 'must be a non-empty string');
  if (v.length > max) invalid(field, `at most ${max} characters`);
  return v;
}

/** `body` as a JSON object holding only `allowed` fields. */
export function asBody(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) invalid('(root)', 'expected a JSON object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (!allowed.includes(k)) invalid(k, `unknown field (expected ${allowed.join(', ')})`);
  return b;
}

/** Keys of the computed traits `definition` reads, at any depth. */
export function referencedTraits(definition: AudienceDefinition): Set<string> {
  const out = new Set<string>();
  const walk = (n: AudienceDefinition): void => {
    if (n.type === 'computed_trait') out.add(n.key);
    if (n.type === 'and' || n.type === 'or') for (const c of n.conditions) walk(c);
    if (n.type === 'not') walk(n.condition);
  };
  walk(definition);
  return out;
}

/** Every computed trait `definition` reads exists. */
export async function checkTraits(settings: SettingsStore, definition: AudienceDefinition): Promise<void> {
  const wanted = referencedTraits(definition);
  if (wanted.size === 0) return;
  const { definitions } = await loadComputedTraits(settings);
  for (const key of wanted)
    if (!definitions.has(key) && !isRfmTrait(key))
      throw new TesseraError(
        'invalid_request',
        `invalid audience: definition: names computed trait ${JSON.stringify(key)}, which does not exist`,
        { details: { field: 'definition', computedTrait: key } },
      );
}
