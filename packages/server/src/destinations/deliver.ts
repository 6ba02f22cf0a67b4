import type { DeliveryMessage } from '@tessera/protocol';
import { errorFields, type Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import { retryDelay } from './backoff.js';
import type { DestinationPlugin, SendContext, SendOutcome, SendResult } from './plugin.js';
import type { DeliveryRow, DeliverySettlement, DestinationRow } from './ports.js';
import { loadPressurePolicy, type PressureBlock, releasePressure, reservePressure, timezoneOf } from './pressure.js';

/** What one delivery round needs besides the destination. */
export interface DeliverDeps {
  storage: Storage;
  logger: Logger;
  clock: () => number;
  random: () => number;
  fetch: typeof fetch;
  /** How long one send may take before it is aborted (and retried). */
  timeoutMs: number;
  /** How long a claim holds its rows: longer than a send may take. */
  leaseMs: number;
  /** Handles kept between sends (`SendContext.resource`). */
  resource: SendContext<unknown>['resource'];
  /** Aborted when the runner stops. */
  signal: AbortSignal;
  /** Retry timing (tests shorten it). */
  backoff: { baseMs: number; capMs: number };
}

/** What a round did. */
export interface RoundOutcome {
  claimed: number;
  delivered: number;
  retried: number;
  dead: number;
  held: number;
  skipped: number;
  /** The rate limit left no token: try again after this many ms. */
  throttledMs?: number;
  /** Every send of the round was a retry (the destination looks down). */
  allFailed: boolean;
  /** The shortest `Retry-After` the destination asked for in this round. */
  retryAfterMs?: number;
}

/**
 * One delivery round of one destination (DESIGN §7): takes rate-limit tokens, claims due messages (a lease, so a
 * worker that dies mid-send leaves them to be claimed again), reserves marketing-pressure slots for a messaging
 * destination (holding or skipping the messages over a cap or in quiet hours), sends the rest in one `send`, and
 * settles each message: delivered; retried after an exponential backoff with jitter and at least `Retry-After`;
 * dead-lettered on a permanent refusal or once retried past the destination's `maxRetryHours`.
 */
export async function deliverRound(
  deps: DeliverDeps,
  destination: DestinationRow,
  plugin: DestinationPlugin,
  /** At most this many messages (a probe of a destination that looks down sends one). */
  limit?: number,
): Promise<RoundOutcome> {
  const { storage, clock } = deps;
  const outcome: RoundOutcome = {
    claimed: 0,
    delivered: 0,
    retried: 0,
    dead: 0,
    held: 0,
    skipped: 0,
    allFailed: false,
  };
  const now = clock();
  const lease = now + deps.leaseMs;
  const want = Math.max(
    1,
    Math.min(
      limit ?? plugin.maxBatch,
      plugin.maxBatch,
      plugin.batchSizeOf?.(destination.config as never) ?? plugin.maxBatch,
    ),
  );
  const claimed = await storage.transaction(
    async (tx) => {
      let allowed = want;
      const rate = destination.ratePerSecond;
      if (rate !== null) {
        allowed = await tx.destinations.takeTokens(destination.id, want, rate, Math.max(1, rate), now);
        if (allowed === 0) return { rows: [] as DeliveryRow[], throttled: true };
      }
      const rows = await tx.deliveries.claim(destination.id, now, lease, allowed);
      if (rate !== null && rows.length < allowed)
        await tx.destinations.takeTokens(destination.id, rows.length - allowed, rate, Math.max(1, rate), now);
      return { rows, throttled: false };
    },
    { write: true },
  );
  if (claimed.throttled) {
    outcome.throttledMs = Math.ceil(1000 / (destination.ratePerSecond as number));
    return outcome;
  }
  let rows = claimed.rows;
  outcome.claimed = rows.length;
  if (rows.length === 0) return outcome;

  const settlements: DeliverySettlement[] = [];
  const settle = (r: DeliveryRow, s: Omit<DeliverySettlement, 'profileId' | 'id' | 'lease' | 'at'>) =>
    settlements.push({ profileId: r.profileId, id: r.id, lease, at: clock(), ...s });

  // Marketing pressure: reserve a slot per message before sending; the others wait or are skipped.
  const channel = destination.channel;
  if (channel) {
    const blocks = await storage.transaction(
      async (tx) => {
        const { policy } = await loadPressurePolicy(tx.settings);
        const requests = [];
        for (const r of rows) {
          const timezone = r.payload.timezone ?? (await timezoneOf(tx, r.profileId, r.payload.traits, policy));
          requests.push({ profileId: r.profileId, deliveryId: r.id, destinationId: destination.id, channel, timezone });
        }
        return { policy, blocks: await reservePressure(tx, policy, requests, clock()) };
      },
      { write: true },
    );
    const go: DeliveryRow[] = [];
    for (const r of rows) {
      const block = blocks.blocks.get(r.id);
      if (!block) {
        go.push(r);
        continue;
      }
      if (blocks.policy.overCap === 'hold' && Number.isFinite(block.until)) {
        outcome.held++;
        settle(r, held(r, block));
      } else {
        outcome.skipped++;
        settle(r, {
          status: 'skipped',
          reason: `pressure: ${block.reason}`,
          lastStatus: null,
          attempted: 0,
          nextAttemptAt: null,
          finishedAt: clock(),
        });
      }
    }
    rows = go;
  }

  if (rows.length > 0) {
    const sendOutcome = await send(
      deps,
      destination,
      plugin,
      rows.map((r) => r.payload),
    );
    const end = clock();
    const dead: DeliveryRow[] = [];
    let failures = 0;
    let retryAfter: number | undefined;
    for (const r of rows) {
      const result = resultFor(sendOutcome, r.id);
      if (result.kind === 'ok') {
        outcome.delivered++;
        settle(r, {
          status: 'delivered',
          reason: null,
          lastStatus: null,
          attempted: 1,
          nextAttemptAt: null,
          finishedAt: end,
        });
        continue;
      }
      if (result.kind === 'retry') {
        failures++;
        if (result.retryAfterMs !== undefined) retryAfter = Math.min(retryAfter ?? Infinity, result.retryAfterMs);
        const attempt = r.attempts + 1;
        const next = end + retryDelay(attempt, deps.random, result.retryAfterMs, deps.backoff);
        if (next <= r.createdAt + destination.maxRetryHours * 3_600_000) {
          outcome.retried++;
          settle(r, {
            status: 'pending',
            reason: result.reason,
            lastStatus: result.status ?? null,
            attempted: 1,
            nextAttemptAt: next,
            finishedAt: null,
          });
          continue;
        }
        dead.push(r);
        settle(r, {
          status: 'dead',
          reason: `gave up after ${attempt} attempts over ${destination.maxRetryHours} h: ${result.reason}`,
          lastStatus: result.status ?? null,
          attempted: 1,
          nextAttemptAt: null,
          finishedAt: end,
        });
        continue;
      }
      dead.push(r);
      settle(r, {
        status: 'dead',
        reason: result.reason,
        lastStatus: result.status ?? null,
        attempted: 1,
        nextAttemptAt: null,
        finishedAt: end,
      });
    }
    outcome.dead = dead.length;
    outcome.allFailed = failures === rows.length;
    outcome.retryAfterMs = retryAfter;
    await storage.transaction(
      async (tx) => {
        await tx.deliveries.settle(settlements);
        if (channel && dead.length > 0)
          await releasePressure(
            tx,
            dead.map((r) => ({ profileId: r.profileId, deliveryId: r.id })),
          );
      },
      { write: true },
    );
    if (dead.length > 0)
      deps.logger.warn(
        { destinationId: destination.id, type: destination.type, dead: dead.length },
        'deliveries dead-lettered',
      );
    return outcome;
  }
  await storage.transaction((tx) => tx.deliveries.settle(settlements), { write: true });
  return outcome;
}

function held(r: DeliveryRow, block: PressureBlock): Omit<DeliverySettlement, 'profileId' | 'id' | 'lease' | 'at'> {
  return {
    status: 'pending',
    reason: `held (${block.rule}): ${block.reason}`,
    lastStatus: null,
    attempted: 0,
    nextAttemptAt: Math.max(block.until, r.nextAttemptAt),
    finishedAt: null,
  };
}

function resultFor(outcome: SendOutcome, id: string): SendResult {
  if (outcome.kind !== 'each') return outcome;
  return outcome.results.get(id) ?? { kind: 'ok' };
}

/** One `send`, bounded by the timeout; a plugin that throws is a bug, logged, and its messages retried. */
async function send(
  deps: DeliverDeps,
  destination: DestinationRow,
  plugin: DestinationPlugin,
  batch: readonly DeliveryMessage[],
): Promise<SendOutcome> {
  // One controller per send, aborted at the timeout or when the runner stops; the listener on the runner's signal is
  // removed after the send (`AbortSignal.any` would leave one per send on that long-lived signal).
  const controller = new AbortController();
  const stop = () => controller.abort();
  deps.signal.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(stop, deps.timeoutMs);
  const signal = controller.signal;
  const ctx: SendContext<Record<string, unknown>> = {
    config: destination.config,
    destinationId: destination.id,
    fetch: (input, init) =>
      deps.fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([signal, init.signal]) : signal }),
    logger: deps.logger,
    now: deps.clock,
    signal,
    resource: (key, open, close) =>
      deps.resource(`${destination.id}\u0000${destination.version}\u0000${key}`, open, close),
  };
  // A plugin that does not honour the signal still lets go at the timeout (its messages are retried; its lease,
  // three timeouts long, has not lapsed, so no other worker sends them meanwhile).
  const aborted = new Promise<never>((_, reject) =>
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
  );
  aborted.catch(() => {});
  try {
    return await Promise.race([plugin.send(batch, ctx as never), aborted]);
  } catch (e) {
    if (signal.aborted) return { kind: 'retry', reason: `${plugin.type}: timed out after ${deps.timeoutMs} ms` };
    deps.logger.error(
      { err: errorFields(e), destinationId: destination.id, type: plugin.type },
      'destination plugin threw',
    );
    return { kind: 'retry', reason: `${plugin.type}: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    clearTimeout(timer);
    deps.signal.removeEventListener('abort', stop);
  }
}
