import { createHmac } from 'node:crypto';
import { extractIdentifiers } from '../identity/extract-identifiers.js';
import { normaliseIdentifier } from '../identity/normalise-identifier.js';
import { loadIdentityRules } from '../identity/rules.js';
import type { LoggedEvent } from '../ingest/logged-event.js';
import { OK, type PipelineContext, type Step, type StepResult } from '../pipeline/step.js';
import type { Stores } from '../storage/storage.js';
import type { SecretProvider } from './instance-secret.js';

/** The suppression hash of a normalised identifier: HMAC-SHA256 of `type \0 value` with the instance secret. */
export function suppressionHash(secret: Buffer, type: string, value: string): string {
  return createHmac('sha256', secret).update(`${type}\u0000${value}`, 'utf8').digest('hex');
}

/** What hashing an event's identifiers needs of the identity rules: the configured types and the phone region. */
export interface HashRules {
  types: readonly string[];
  region: string;
}

export async function hashRules(settings: Stores['settings']): Promise<HashRules> {
  const { rules } = await loadIdentityRules(settings);
  return { types: Object.keys(rules.types), region: rules.defaultPhoneRegion };
}

/** {@link suppressionHash} with the instance secret, for each (type, normalised value). */
export type SuppressionHasher = (type: string, value: string) => string;

/**
 * {@link suppressionHash} remembered for the last `max` identifiers (then forgotten all at once): once the list holds
 * a single hash, every call's identifiers are hashed, and an HMAC costs about 3 µs where most calls repeat the ids of
 * a few people (docs/privacy.md). The values stay in this process's memory only, as the calls themselves do.
 */
export function suppressionHasher(secret: SecretProvider, max = 50_000): SuppressionHasher {
  let key: Buffer | undefined;
  const memo = new Map<string, string>();
  return (type, value) => {
    const current = secret();
    if (current !== key) {
      memo.clear();
      key = current;
    }
    const k = `${type}\u0000${value}`;
    let hash = memo.get(k);
    if (hash === undefined) {
      if (memo.size >= max) memo.clear();
      hash = suppressionHash(current, type, value);
      memo.set(k, hash);
    }
    return hash;
  };
}

/**
 * The suppression hashes of the identifiers an event carries, found and normalised as identity resolution does (the
 * configured identifier types included); an alias's `previousId` under both types the resolver may give it.
 */
export function eventHashes(hash: SuppressionHasher, event: LoggedEvent, rules: HashRules): string[] {
  const out: string[] = [];
  const ids = extractIdentifiers(event, rules.types);
  if (event.type === 'alias' && event.previousId !== undefined)
    for (const type of ['user_id', 'anonymous_id']) ids.push({ type, value: event.previousId, from: 'previousId' });
  for (const id of ids) {
    const n = normaliseIdentifier(id.type, id.value, rules.region);
    if (n.ok) out.push(hash(id.type, n.value));
  }
  return out;
}

/**
 * The suppression list as the ingest path checks it, before the log append (DESIGN §8): the hashes held in memory,
 * loaded at start and after each erasure. In cluster mode an erasure's hashes also reach every api node over the
 * change bus (`remember`, no store read: it works while PostgreSQL is down), and the list is reloaded every 30 s.
 * With an empty list, a call costs nothing; otherwise its identifiers are hashed and looked up.
 */
export function createSuppressionList(deps: { storage: Stores; secret: SecretProvider }) {
  const hash = suppressionHasher(deps.secret);
  let hashes = new Set<string>();
  let rules: HashRules = { types: [], region: 'US' };
  const listeners: ((added: readonly string[]) => void)[] = [];
  async function warm() {
    const loaded = new Set(await deps.storage.suppressions.all());
    rules = await hashRules(deps.storage.settings);
    // Hashes remembered from the bus while the load ran are in the store too, unless their erasure is not yet
    // visible here: keep them either way (a hash is never removed from the list).
    for (const h of hashes) loaded.add(h);
    hashes = loaded;
  }
  function remember(added: readonly string[]): void {
    for (const h of added) hashes.add(h);
  }
  return {
    warm,
    /** Adds hashes another node's erasure suppressed (from the change bus). */
    remember,
    /** This node's erasure committed these hashes: hold them, reload, and tell the listeners (cluster: the bus). */
    async erased(added: readonly string[]): Promise<void> {
      remember(added);
      for (const l of listeners) l(added);
      await warm();
    },
    /** Called with the hashes of each erasure this node commits. */
    onErased(listener: (added: readonly string[]) => void): void {
      listeners.push(listener);
    },
    get size() {
      return hashes.size;
    },
    /** Whether a call (normalised, or as received when it is refused) carries an erased identifier. */
    matches(event: unknown): boolean {
      if (hashes.size === 0) return false;
      if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
      return eventHashes(hash, event as LoggedEvent, rules).some((h) => hashes.has(h));
    },
  };
}

export type SuppressionList = ReturnType<typeof createSuppressionList>;

function checkSuppressed(
  hash: SuppressionHasher,
  ctx: PipelineContext,
  { hashes, rules }: { hashes: Set<string>; rules: HashRules },
): StepResult {
  if (hashes.size === 0) return OK;
  if (eventHashes(hash, ctx.event, rules).some((h) => hashes.has(h))) return { kind: 'drop', reason: 'suppressed' };
  return OK;
}

/**
 * The pipeline's check (DESIGN §8), after parsing: an event carrying an erased identifier is dropped (reason
 * `suppressed`), whatever let it into the log (appended before the erasure, or by another node). The list is
 * counted once per batch and read again only when the count changed (hashes are only ever added), and hashing is
 * skipped while it is empty.
 */
export function suppressionStep(secret: SecretProvider): Step {
  type List = { hashes: Set<string>; rules: HashRules };
  const hash = suppressionHasher(secret);
  /** The batch's list: loading (a promise) for its first event, then the list itself, so the others do not wait. */
  const perBatch = new WeakMap<Stores, Promise<List> | List>();
  /** The hashes as last read, with their count. */
  let held: { count: number; hashes: Set<string> } = { count: 0, hashes: new Set() };
  const load = async (tx: Stores) => {
    const count = await tx.suppressions.count();
    if (count === 0) return { hashes: new Set<string>(), rules: { types: [], region: 'US' } };
    if (count !== held.count) held = { count, hashes: new Set(await tx.suppressions.all()) };
    return { hashes: held.hashes, rules: await hashRules(tx.settings) };
  };
  return {
    name: 'suppression',
    run(ctx) {
      const list = perBatch.get(ctx.tx);
      if (list && !(list instanceof Promise)) return checkSuppressed(hash, ctx, list);
      const loading =
        list ??
        load(ctx.tx).then((loaded) => {
          perBatch.set(ctx.tx, loaded);
          return loaded;
        });
      perBatch.set(ctx.tx, loading);
      return loading.then((loaded) => checkSuppressed(hash, ctx, loaded));
    },
  };
}
