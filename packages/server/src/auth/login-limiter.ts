/**
 * Login rate limiting: failed sign-ins counted per e-mail and per client address over a sliding window. Past the
 * limit, sign-in answers 429 `rate_limited` with `Retry-After` before checking the password (so a guess costs no
 * scrypt either). Kept in memory per process: in cluster mode each api node counts on its own (docs/access-control.md).
 */
export function createLoginLimiter(
  opts: { windowMs?: number; perAccount?: number; perAddress?: number; clock?: () => number } = {},
) {
  const windowMs = opts.windowMs ?? 15 * 60_000;
  const limits = { account: opts.perAccount ?? 5, address: opts.perAddress ?? 20 };
  const clock = opts.clock ?? Date.now;
  const failures = new Map<string, number[]>();

  const recent = (key: string, now: number) => {
    const times = (failures.get(key) ?? []).filter((t) => t > now - windowMs);
    if (times.length === 0) failures.delete(key);
    else failures.set(key, times);
    return times;
  };
  const keys = (email: string, address: string) =>
    [
      [`a:${email}`, limits.account],
      [`i:${address}`, limits.address],
    ] as const;

  return {
    /** Milliseconds to wait before another attempt, or 0 when one is allowed now. */
    retryAfter(email: string, address: string): number {
      const now = clock();
      let wait = 0;
      for (const [key, limit] of keys(email, address)) {
        const times = recent(key, now);
        if (times.length >= limit) wait = Math.max(wait, times[times.length - limit] + windowMs - now);
      }
      return wait;
    },
    failed(email: string, address: string): void {
      const now = clock();
      if (failures.size > 100_000) failures.clear();
      for (const [key, limit] of keys(email, address)) failures.set(key, [...recent(key, now), now].slice(-limit));
    },
    /** A successful sign-in clears the account's count (not the address's). */
    succeeded(email: string): void {
      failures.delete(`a:${email}`);
    },
  };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
