import type { Static, TObject } from '@sinclair/typebox';
import type { DeliveryMessage, MessageChannel } from '@tessera/protocol';
import type { Logger } from '../logger.js';

/**
 * The outcome of sending one batch (STYLE #9): `ok` delivered; `retry` a transient failure (5xx, 408, 429, network
 * error, timeout), tried again after a backoff that is at least `retryAfterMs`; `drop` a permanent refusal (4xx),
 * which dead-letters the message. `each` gives one outcome per message id, for APIs that accept part of a batch;
 * a message it does not name is `ok`.
 */
export type SendResult =
  | { kind: 'ok' }
  | { kind: 'retry'; reason: string; status?: number; retryAfterMs?: number }
  | { kind: 'drop'; reason: string; status?: number };

export type SendOutcome = SendResult | { kind: 'each'; results: ReadonlyMap<string, SendResult> };

export const SENT: SendResult = Object.freeze({ kind: 'ok' });

/** What the runner hands a plugin for one send. */
export interface SendContext<C> {
  /** The destination's config, validated against the plugin's `configSchema`. */
  readonly config: C;
  readonly destinationId: string;
  /** `fetch` bound to the send's abort signal and timeout. Plugins never call the global one. */
  readonly fetch: typeof fetch;
  readonly logger: Logger;
  readonly now: () => number;
  /** Aborted at the send's timeout or when the runner stops. */
  readonly signal: AbortSignal;
  /**
   * A connection or handle kept between sends (a PostgreSQL pool, a NATS connection, an open file): opened once
   * by `open` and closed by the runner when the destination changes, is deleted, or the server stops.
   */
  resource<R>(key: string, open: () => Promise<R>, close: (r: R) => Promise<void>): Promise<R>;
}

/**
 * A destination plugin (DESIGN §7, STYLE #10): a type name, a config schema (the UI's form is generated from it; a
 * property with `secret: true` is write-only through the API), and `send`. Plugins are values in a registry, never
 * cases of a `switch`.
 */
export interface DestinationPlugin<S extends TObject = TObject> {
  readonly type: string;
  /** A short human name, and what it does, for the UI. */
  readonly title: string;
  readonly description: string;
  readonly configSchema: S;
  /** Messages per `send` call at most. */
  readonly maxBatch: number;
  /** A smaller batch the destination's config asks for (a webhook's `batchSize`). */
  batchSizeOf?(config: Static<S>): number;
  /** The consent purpose a destination of this type declares unless its config names another. */
  readonly defaultPurpose?: string;
  /** The message channel when the plugin sends e-mail, SMS or push (marketing pressure counts those sends). */
  readonly channel?: MessageChannel;
  /** Which message kinds it can deliver (a subscription asking for another kind is refused). */
  readonly kinds: readonly DeliveryMessage['kind'][];
  send(batch: readonly DeliveryMessage[], ctx: SendContext<Static<S>>): Promise<SendOutcome>;
}
