import { createHmac } from 'node:crypto';
import { extractIdentifiers } from '../identity/extract-identifiers.js';
import { normaliseIdentifier } from '../identity/normalise-identifier.js';
import { loadIdentityRules } from '../identity/rules.js';
import type { LoggedEvent } from '../ingest/logged-event.js';
import { OK, type Step } from '../pipeline/step.js';
import type { Stores } from '../storage/storage.js';
import type { SecretProvider } from './instance-secret.js';

/** The suppression hash of a normalised identifier: HMAC-SHA256 of `type \0 value` with the instance secret. */
export function suppressionHash(secret: Buffer, type: string, value: string): string {
  return createHmac('sha256', secret).update(`${type}\u0000${value}`, 'utf8').digest('hex');
}

/** The suppression hashes of the identifiers an event carries (normalised as identity resolution does). */
export function eventHashes(secret: Buffer, event: LoggedEvent, defaultRegion: string): string[] {
  const out: string[] = [];
  const ids = extractIdentifiers(event, []);
  if (event.type === 'alias' && event.previousId !== undefined)
    ids.push({ type: 'user_id', value: event.previousId, from: 'previousId' });
  for (const id of ids) {
    const n = normaliseIdentifier(id.type, id.value, defaultRegion);
    if (n.ok) out.push(suppressionHash(secret, id.type, n.value));
  }
  return out;
}

/**
 * The suppression list as the ingest path checks it, before the log append (DESIGN §8): the hashes held in memory,
 * loaded at start and after each erasure (and every 30 s in cluster mode, by the app). With an empty list, a call
 * costs nothing; otherwise its identifiers are hashed and looked up.
 */
export function createSuppressionList(deps: { storage: Stores; secret: SecretProvider }) {
  let hashes = new Set<string>();
  let region = 'US';
  return {
    async warm() {
      hashes = new Set(await deps.storage.suppressions.all());
      region = (await loadIdentityRules(deps.storage.settings)).rules.defaultPhoneRegion;
    },
    get size() {
      return hashes.size;
    },
    /** Whether a call (its JSON text: normalised, or as received when it is refused) carries an erased identifier. */
    matches(json: string): boolean {
      if (hashes.size === 0) return false;
      let event: unknown;
      try {
        event = JSON.parse(json);
      } catch {
        return false;
      }
      if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
      return eventHashes(deps.secret(), event as LoggedEvent, region).some((h) => hashes.has(h));
    },
  };
}

export type SuppressionList = ReturnType<typeof createSuppressionList>;

/**
 * The pipeline's check (DESIGN §8), after parsing: an event carrying an erased identifier is dropped (reason
 * `suppressed`), whatever let it into the log (appended before the erasure, or by another node). The list is read
 * once per batch, and hashing is skipped while it is empty.
 */
export function suppressionStep(secret: SecretProvider): Step {
  const perBatch = new WeakMap<Stores, Promise<{ hashes: Set<string>; region: string }>>();
  const load = async (tx: Stores) => {
    if ((await tx.suppressions.count()) === 0) return { hashes: new Set<string>(), region: 'US' };
    const region = (await loadIdentityRules(tx.settings)).rules.defaultPhoneRegion;
    return { hashes: new Set(await tx.suppressions.all()), region };
  };
  return {
    name: 'suppression',
    async run(ctx) {
      let list = perBatch.get(ctx.tx);
      if (!list) {
        list = load(ctx.tx);
        perBatch.set(ctx.tx, list);
      }
      const { hashes, region } = await list;
      if (hashes.size === 0) return OK;
      if (eventHashes(secret(), ctx.event, region).some((h) => hashes.has(h)))
        return { kind: 'drop', reason: 'suppressed' };
      return OK;
    },
  };
}
