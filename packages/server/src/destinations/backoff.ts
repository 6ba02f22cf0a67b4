/** Retry timing of deliveries (DESIGN §7): exponential, with jitter, capped. */
export const BACKOFF = Object.freeze({ baseMs: 1000, capMs: 3_600_000 });

/**
 * The wait before attempt `attempt + 1` after `attempt` failed ones: `base × 2^(attempt−1)`, capped at an hour,
 * times a jitter in [0.5, 1.5) so that messages failed together do not come back together; at least `retryAfterMs`
 * when the receiver said so.
 */
export function retryDelay(
  attempt: number,
  random: () => number,
  retryAfterMs?: number,
  backoff: { baseMs: number; capMs: number } = BACKOFF,
): number {
  const exp = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  const jittered = Math.round(exp * (0.5 + random()));
  return Math.max(jittered, retryAfterMs ?? 0);
}
