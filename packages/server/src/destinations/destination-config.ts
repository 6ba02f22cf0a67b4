import type { TObject, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { DeliveryMessage, Subscription } from '@tessera/protocol';
import { explainSchemaError } from '../audiences/explain-schema-error.js';
import { TesseraError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import type { DestinationPlugin } from './plugin.js';

// A destination's config and subscription as the API takes and shows them (docs/destinations.md): secrets masked
// on the way out and kept when a masked value comes back, the plugin's schema checked, audiences named checked.

/** How a secret config value is shown: never the value. */
export const MASK = '********';

/** The names of the config properties a schema marks `secret: true`. */
function secretKeys(schema: TObject): string[] {
  return Object.entries(schema.properties as Record<string, TSchema & { secret?: boolean }>)
    .filter(([, s]) => s.secret === true)
    .map(([k]) => k);
}

/** The config with each secret masked (a record of secrets, such as headers, value by value). */
export function maskConfig(plugin: DestinationPlugin, config: Record<string, unknown>): Record<string, unknown> {
  const out = { ...config };
  for (const key of secretKeys(plugin.configSchema)) {
    const v = out[key];
    if (v === undefined) continue;
    out[key] = typeof v === 'object' && v !== null ? Object.fromEntries(Object.keys(v).map((k) => [k, MASK])) : MASK;
  }
  return out;
}

/** Config properties naming where a destination sends (its secrets go there). */
const ENDPOINTS = ['url', 'baseUrl', 'servers'] as const;

/**
 * A masked secret sent back on update keeps the stored value, unless the endpoint changes: a secret is then sent again
 * in clear (otherwise a user who cannot read it could send it to a host of their own).
 */
export function unmask(plugin: DestinationPlugin, next: Record<string, unknown>, stored: Record<string, unknown>) {
  const moved = ENDPOINTS.find((k) => k in next && next[k] !== stored[k]);
  if (moved)
    for (const key of secretKeys(plugin.configSchema)) {
      const v = next[key];
      const masked = v === MASK || (typeof v === 'object' && v !== null && Object.values(v).includes(MASK));
      if (masked)
        throw new TesseraError(
          'invalid_request',
          `config.${key}: ${moved} changes, so the secret must be given again (not "${MASK}")`,
        );
    }
  const out = { ...next };
  for (const key of secretKeys(plugin.configSchema)) {
    const v = out[key];
    if (v === MASK) out[key] = stored[key];
    else if (typeof v === 'object' && v !== null && typeof stored[key] === 'object' && stored[key] !== null) {
      const prev = stored[key] as Record<string, unknown>;
      out[key] = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === MASK ? prev[k] : x]));
    }
  }
  return out;
}

/** The config, defaults filled in, checked against the plugin's schema: a 400 naming the field. */
export function checkConfig(plugin: DestinationPlugin, config: Record<string, unknown>): Record<string, unknown> {
  const value = Value.Default(plugin.configSchema, structuredClone(config)) as Record<string, unknown>;
  const first = Value.Errors(plugin.configSchema, value).First();
  if (first) {
    const { field, message } = explainSchemaError(first);
    throw new TesseraError('invalid_request', `config.${field}: ${message}`, { details: { field: `config.${field}` } });
  }
  return value;
}

/** A subscription the plugin can serve, naming audiences that exist. */
export async function checkSubscription(storage: Storage, plugin: DestinationPlugin, sub: Subscription) {
  const asks: DeliveryMessage['kind'][] = [
    ...(sub.events ? (['event'] as const) : []),
    ...(sub.profiles ? (['profile'] as const) : []),
    ...(sub.audiences ? (['audience'] as const) : []),
  ];
  if (asks.length === 0)
    throw new TesseraError('invalid_request', 'subscription: name events, profiles or audiences (or several)');
  for (const kind of asks)
    if (!plugin.kinds.includes(kind))
      throw new TesseraError(
        'invalid_request',
        `subscription: a ${plugin.type} destination cannot receive ${kind} messages (it takes ${plugin.kinds.join(', ')})`,
      );
  const keys = (sub.audiences ?? []).filter((k) => k !== '*');
  if (keys.length > 0) {
    const known = new Set((await storage.audiences.list({ includeDeleted: false })).map((a) => a.key));
    const missing = keys.filter((k) => !known.has(k));
    if (missing.length > 0)
      throw new TesseraError(
        'invalid_request',
        `subscription.audiences: no audience ${missing.map((k) => JSON.stringify(k)).join(', ')}`,
      );
  }
}
