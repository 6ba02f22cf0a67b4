/**
 * Handles kept between sends (`SendContext.resource`: a PostgreSQL pool, a NATS connection, an open file), by key:
 * opened once, closed when their destination changes or the runner stops.
 */
export function createResourceCache() {
  // The promise is held, so that two sends at once open one handle; a failed open is forgotten (tried again).
  const held = new Map<string, { value: Promise<unknown>; close: (r: unknown) => Promise<void> }>();
  return {
    get<R>(key: string, open: () => Promise<R>, close: (r: R) => Promise<void>): Promise<R> {
      const found = held.get(key);
      if (found) return found.value as Promise<R>;
      const value = open();
      held.set(key, { value, close: close as (r: unknown) => Promise<void> });
      value.catch(() => {
        if (held.get(key)?.value === value) held.delete(key);
      });
      return value;
    },
    /** Closes and forgets every handle whose key `keep` refuses (all without `keep`); `onError` hears failures. */
    async close(keep: (key: string) => boolean = () => false, onError: (e: unknown) => void = () => {}) {
      for (const [key, r] of held) {
        if (keep(key)) continue;
        held.delete(key);
        await r.value.then((v) => r.close(v)).catch(onError);
      }
    },
  };
}
