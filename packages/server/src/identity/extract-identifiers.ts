import type { LoggedEvent } from '../ingest/logged-event.js';
import { asJsonObject } from '../json-record.js';

/** An identifier as found on an event, before normalisation. */
export interface RawIdentifier {
  type: string;
  value: unknown;
  /** Where it was found, for evidence. */
  from: string;
}

const TRAIT_IDENTIFIERS = ['email', 'phone'] as const;

/**
 * The identifiers an event carries: `userId`, `anonymousId`, `traits.email` / `traits.phone` (identify),
 * `context.traits.email` / `.phone` (every type, RudderStack's place), `context.externalIds[{type, id}]`
 * (RudderStack / Segment external ids), and trait keys named like a configured identifier type (`crm_id`…).
 * `alias.previousId` is handled by the resolver. `group` traits describe the account, not the person.
 */
export function extractIdentifiers(event: LoggedEvent, configuredTypes: readonly string[]): RawIdentifier[] {
  const out: RawIdentifier[] = [];
  if (event.userId !== undefined) out.push({ type: 'user_id', value: event.userId, from: 'userId' });
  if (event.anonymousId !== undefined)
    out.push({ type: 'anonymous_id', value: event.anonymousId, from: 'anonymousId' });
  const context = asJsonObject(event.context);
  const places: [string, Record<string, unknown> | undefined][] = [['context.traits', asJsonObject(context?.traits)]];
  if (event.type === 'identify') places.unshift(['traits', asJsonObject(event.traits)]);
  for (const [where, traits] of places) {
    if (!traits) continue;
    for (const key of TRAIT_IDENTIFIERS)
      if (traits[key] !== undefined) out.push({ type: key, value: traits[key], from: `${where}.${key}` });
    for (const type of configuredTypes) {
      if (type === 'user_id' || type === 'anonymous_id' || type === 'email' || type === 'phone') continue;
      if (traits[type] !== undefined) out.push({ type, value: traits[type], from: `${where}.${type}` });
    }
  }
  const external = context?.externalIds;
  if (Array.isArray(external)) {
    for (const [i, item] of external.entries()) {
      const rec = asJsonObject(item);
      const type =
        typeof rec?.type === 'string'
          ? rec.type
              .trim()
              .toLowerCase()
              .replace(/[^a-z0-9]+/g, '_')
          : '';
      if (type && rec?.id !== undefined) out.push({ type, value: rec.id, from: `context.externalIds[${i}]` });
    }
  }
  return out;
}
