/**
 * What the vendor plugins (Brevo, Mailchimp, HubSpot, Customer.io) share: pieces of their config schemas, keying by
 * e-mail and keeping the newest message of a record, reading a vendor's answer (JSON, masked e-mails), pacing calls
 * behind a gate that closes at the first `retry`, and folding per-message results into one outcome.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import type { DeliveryMessage } from '@tessera/protocol';
import { SENT, type SendOutcome, type SendResult } from '../plugin.js';

/** The default prefix of the property or attribute that holds an audience membership: prefix + audience key. */
export const DEFAULT_AUDIENCE_PREFIX = 'tessera_audience_';

/** Pieces of a vendor's config schema, built the same way by every vendor plugin. */
export const fields = {
  /** A required API credential: non-empty and `secret` (write-only through the API); `pattern` when it has a shape. */
  secret(description: string, pattern?: string) {
    return Type.String({ minLength: 1, ...(pattern ? { pattern } : {}), secret: true, description });
  },
  /** The optional `baseUrl` of the vendor's API: http(s), `defaultUrl` shown as the default when there is one. */
  baseUrl(description: string, defaultUrl?: string) {
    return Type.Optional(
      Type.String({ pattern: '^https?://', ...(defaultUrl ? { default: defaultUrl } : {}), description }),
    );
  },
  /** An optional Tessera trait → vendor field name map, `defaults` shown as the default when given. */
  traitMap(description: string, defaults?: Record<string, string>) {
    return Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
        ...(defaults ? { default: defaults } : {}),
        description,
      }),
    );
  },
  /** An optional audience key → `value` map (a list id, a tag, a property), empty by default. */
  audienceMap<T extends TSchema>(value: T, description: string) {
    return Type.Optional(Type.Record(Type.String({ minLength: 1 }), value, { default: {}, description }));
  },
};

/** The drop of a message without an e-mail address: `<vendor>: the profile has no e-mail address, which <keyedBy>`. */
export function noEmail(vendor: string, keyedBy: string): SendResult {
  return Object.freeze({ kind: 'drop', reason: `${vendor}: the profile has no e-mail address, which ${keyedBy}` });
}

/** The message's e-mail identifier, trimmed; `undefined` when it has none. */
export function emailOf(message: DeliveryMessage): string | undefined {
  const email = message.identifiers.email?.trim();
  return email ? email : undefined;
}

/**
 * Keeps only the newest message of a slot (a contact, a membership) in `latest`: the older message it replaces, or
 * `entry` itself when it is the older one, is done.
 */
export function keepNewest<E extends { message: DeliveryMessage }>(
  latest: Map<string, E>,
  slot: string,
  entry: E,
  results: Map<string, SendResult>,
): void {
  const before = latest.get(slot);
  if (before && before.message.at > entry.message.at) {
    results.set(entry.message.id, SENT);
    return;
  }
  if (before) results.set(before.message.id, SENT);
  latest.set(slot, entry);
}

/** A vendor's body as JSON; `undefined` when empty or not JSON. */
export function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Vendor messages can quote the address they refused; reasons are stored and shown, so it is masked. */
export function redact(text: string): string {
  return text.replace(/[^\s"'<>(),;:@]+@[^\s"'<>(),;:@]+/g, '<e-mail>');
}

/** The first `retry` of a send (a rate limit, an outage): the calls not yet made get it instead of being made. */
export interface Gate {
  readonly stopped: SendResult | undefined;
  note(result: SendResult): void;
}

/** A gate, open until the first `retry` it is told of. */
export function createGate(): Gate {
  let stopped: SendResult | undefined;
  return {
    get stopped() {
      return stopped;
    },
    note(result) {
      if (result.kind === 'retry' && !stopped) stopped = result;
    },
  };
}

/**
 * `task` over `items`, `concurrency` at a time, in order of start; after the gate closes the rest get its `retry`.
 */
export async function inTurn<T>(
  items: readonly T[],
  concurrency: number,
  gate: Gate,
  task: (item: T) => Promise<SendResult>,
): Promise<SendResult[]> {
  const results: SendResult[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      if (gate.stopped) {
        results[i] = gate.stopped;
        continue;
      }
      results[i] = await task(items[i]);
      gate.note(results[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** One outcome when every message had the same, else `each` naming the messages that were not delivered. */
export function outcomeOf(batch: readonly DeliveryMessage[], results: ReadonlyMap<string, SendResult>): SendOutcome {
  const all = batch.map((m) => results.get(m.id) ?? SENT);
  const first = JSON.stringify(all[0]);
  if (all.every((r) => JSON.stringify(r) === first)) return all[0] ?? SENT;
  const failed = new Map<string, SendResult>();
  batch.forEach((m, i) => {
    if (all[i].kind !== 'ok') failed.set(m.id, all[i]);
  });
  return { kind: 'each', results: failed };
}
