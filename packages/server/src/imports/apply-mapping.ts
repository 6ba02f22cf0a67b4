import type { FieldRef, Mapping } from '@tessera/protocol';
import type { FieldType } from './convert-value.js';
import { resolveField } from './resolve-field.js';

/** What a mapping needs besides the record: the fallback message id and the fallback event time. */
export interface ApplyContext {
  /** Used when the mapping has no `messageId` or the record has none (see `deriveMessageId`). */
  defaultMessageId: string;
  /** Used when the mapping has no `timestamp` or the record has none (the import / receive time). */
  now: Date;
}

/** A Segment-style call ready for the tracking API, or the field that could not be mapped and why. */
export type ApplyResult = { ok: true; call: Record<string, unknown> } | { ok: false; field: string; message: string };

class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Maps one record (a CSV row keyed by header, an NDJSON line, a JSON / webhook item) to a tracking call
 * `{ type, messageId, timestamp, userId?, anonymousId?, event?, name?, groupId?, traits?, properties?, context }`.
 *
 * Identifiers: `user_id` → `userId`, `anonymous_id` → `anonymousId`; `email` / `phone` → `traits` for identify and
 * `context.traits` for the other types; any other type (`crm_id`, `loyalty_card`, `wallet`…) →
 * `context.externalIds[]` as `{ type, id }`. Ids are strings. Missing identifiers are omitted; a record with none at
 * all fails on the field `identifiers`. Mapped `traits` go to `traits` (identify / group) or `context.traits`
 * (track / page); `consent` goes to `context.consent.categoryPreferences` as booleans.
 *
 * Never throws for bad data: a value that does not convert, a missing `event` (track) or `groupId` (group) is a
 * `{ ok: false }` naming the field path (`properties.total`, `identifiers.email`). The mapping is expected to have
 * been checked by `parseMapping`.
 */
export function applyMapping(mapping: Mapping, record: Record<string, unknown>, ctx: ApplyContext): ApplyResult {
  try {
    return { ok: true, call: buildCall(mapping, record, ctx) };
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, field: err.field, message: `${err.field} ${err.message}` };
    throw err;
  }
}

function buildCall(mapping: Mapping, record: Record<string, unknown>, ctx: ApplyContext): Record<string, unknown> {
  const read = (field: string, ref: FieldRef | undefined, target?: FieldType): unknown => {
    if (ref === undefined) return undefined;
    const result = resolveField(ref, record, target);
    if (!result.ok) throw new FieldError(field, result.message);
    return result.value;
  };
  const readMap = (field: string, refs: Record<string, FieldRef> | undefined, target?: FieldType) => {
    const out: Record<string, unknown> = {};
    for (const [key, ref] of Object.entries(refs ?? {})) {
      const value = read(`${field}.${key}`, ref, target);
      if (value !== undefined) out[key] = value;
    }
    return out;
  };

  const type = mapping.type;
  const call: Record<string, unknown> = {
    type,
    messageId: read('messageId', mapping.messageId, 'string') ?? ctx.defaultMessageId,
    timestamp: read('timestamp', mapping.timestamp, 'date') ?? ctx.now.toISOString(),
  };
  const required = (field: 'event' | 'groupId', ref: FieldRef | undefined) => {
    const value = read(field, ref, 'string');
    if (value === undefined) throw new FieldError(field, `is required for ${type} calls and is missing`);
    call[field] = value;
  };
  if (type === 'track') required('event', mapping.event);
  if (type === 'group') required('groupId', mapping.groupId);
  const name = type === 'page' ? read('name', mapping.name, 'string') : undefined;
  if (name !== undefined) call.name = name;

  const ids = readMap('identifiers', mapping.identifiers, 'string') as Record<string, string>;
  if (Object.keys(ids).length === 0) {
    const tried = Object.keys(mapping.identifiers).join(', ');
    throw new FieldError('identifiers', `are all missing (mapped: ${tried}); a record needs at least one`);
  }
  const traits = readMap('traits', mapping.traits);
  const contactTraits: Record<string, unknown> = {};
  const externalIds: { type: string; id: string }[] = [];
  for (const [idType, id] of Object.entries(ids)) {
    if (idType === 'user_id') call.userId = id;
    else if (idType === 'anonymous_id') call.anonymousId = id;
    else if (idType === 'email' || idType === 'phone') contactTraits[idType] = id;
    else externalIds.push({ type: idType, id });
  }

  const context: Record<string, unknown> = {};
  if (type === 'identify' || type === 'group') {
    const callTraits = type === 'identify' ? { ...traits, ...contactTraits } : traits;
    if (Object.keys(callTraits).length > 0) call.traits = callTraits;
    if (type === 'group' && Object.keys(contactTraits).length > 0) context.traits = contactTraits;
  } else {
    const properties = readMap('properties', mapping.properties);
    if (Object.keys(properties).length > 0) call.properties = properties;
    const contextTraits = { ...traits, ...contactTraits };
    if (Object.keys(contextTraits).length > 0) context.traits = contextTraits;
  }
  if (externalIds.length > 0) context.externalIds = externalIds;
  const consent = readMap('consent', mapping.consent, 'boolean');
  if (Object.keys(consent).length > 0) context.consent = { categoryPreferences: consent };
  call.context = context;
  return call;
}
