import type { DeliveryMessage } from '@tessera/protocol';
import pino from 'pino';
import type { SendContext } from '../plugin.js';
import { createResourceCache } from '../resources.js';

/** A `SendContext` for plugin tests: the real `fetch` with a timeout, resources closed by `close()`. */
export function testSendContext<C>(config: C, opts: { timeoutMs?: number; now?: () => number } = {}) {
  const controller = new AbortController();
  const resources = createResourceCache();
  const ctx: SendContext<C> = {
    config,
    destinationId: '00000000-0000-7000-8000-000000000001',
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(opts.timeoutMs ?? 5000)]),
      }),
    logger: pino({ level: 'silent' }),
    now: opts.now ?? Date.now,
    signal: controller.signal,
    resource: (key, open, close) => resources.get(key, open, close),
  };
  return {
    ctx,
    async close() {
      controller.abort();
      await resources.close();
    },
  };
}

let seq = 0;

/** A message for plugin tests; `over` replaces fields. */
export function testMessage(over: Partial<DeliveryMessage> = {}): DeliveryMessage {
  seq++;
  return {
    id: `0191a000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
    kind: 'profile',
    profileId: `0191b000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
    at: Date.UTC(2026, 10, 1, 12, 0, 0),
    identifiers: { userId: `u${seq}`, email: `person${seq}@example.com` },
    traits: { firstName: 'Ada', lastName: 'Lovelace', plan: 'gold' },
    ...over,
  };
}
