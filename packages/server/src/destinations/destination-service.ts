import { Value } from '@sinclair/typebox/value';
import {
  type DeliveryMessage,
  type DestinationCreate,
  type DestinationUpdate,
  fromPublicId,
  type PressurePolicy,
  PressurePolicy as PressurePolicySchema,
  toPublicId,
} from '@tessera/protocol';
import { explainSchemaError } from '../audiences/explain-schema-error.js';
import { TesseraError } from '../errors.js';
import { newUuid } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import { checkConfig, checkSubscription, maskConfig, unmask } from './destination-config.js';
import type { SendContext, SendResult } from './plugin.js';
import type { DeliveryRow, DeliveryStatus, DestinationRow } from './ports.js';
import {
  capUse,
  checkTimezone,
  decidePressure,
  loadPressurePolicy,
  longestWindow,
  PRESSURE_KEY,
  timezoneOf,
} from './pressure.js';
import type { DestinationRegistry } from './registry.js';
import { createResourceCache } from './resources.js';

const DEFAULT_MAX_RETRY_HOURS = 48;

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function deliveryView(r: DeliveryRow, withMessage = false) {
  return {
    id: toPublicId('delivery', r.id),
    profileId: toPublicId('profile', r.profileId),
    kind: r.kind,
    status: r.status,
    reason: r.reason,
    attempts: r.attempts,
    lastStatus: r.lastStatus,
    nextAttemptAt: r.status === 'pending' ? iso(r.nextAttemptAt) : null,
    createdAt: new Date(r.createdAt).toISOString(),
    finishedAt: iso(r.finishedAt),
    latencyMs: r.status === 'delivered' && r.finishedAt !== null ? r.finishedAt - r.createdAt : null,
    ...(withMessage ? { message: r.payload as unknown as Record<string, unknown> } : {}),
  };
}

/**
 * Destinations (DESIGN §7, `docs/destinations.md`): CRUD with versions, config checked against the plugin's schema
 * and secrets never shown, a test send, the delivery log, the dead-letter queue and its replay, and the
 * marketing-pressure policy and answers. Thin routes and the CLI call this; nothing here speaks HTTP.
 */
export function createDestinationService(deps: {
  storage: Storage;
  registry: DestinationRegistry;
  /** Tells the router and delivery loops that the destinations changed (they reload them before resolving). */
  changed: () => Promise<void>;
  /** Wakes a destination's delivery loops (replay); absent when this process does not deliver. */
  wake?: (destinationId: string) => void;
  logger: Logger;
  clock?: () => number;
  fetch?: typeof fetch;
}) {
  const { storage, registry } = deps;
  const clock = deps.clock ?? Date.now;

  async function row(publicId: string): Promise<DestinationRow> {
    const id = fromPublicId('destination', publicId);
    const r = id ? await storage.destinations.get(id) : undefined;
    if (!r || r.deletedAt !== null) throw new TesseraError('not_found', `no destination ${publicId}`);
    return r;
  }

  async function view(r: DestinationRow) {
    const plugin = registry.get(r.type);
    return {
      id: toPublicId('destination', r.id),
      name: r.name,
      type: r.type,
      config: plugin ? maskConfig(plugin, r.config) : {},
      subscription: r.subscription,
      purpose: r.purpose,
      channel: r.channel,
      enabled: r.enabled,
      ratePerSecond: r.ratePerSecond,
      maxRetryHours: r.maxRetryHours,
      version: r.version,
      counts: await storage.deliveries.counts(r.id),
      createdAt: new Date(r.createdAt).toISOString(),
      createdBy: r.createdBy,
      updatedAt: new Date(r.updatedAt).toISOString(),
      updatedBy: r.updatedBy,
    };
  }

  async function saved(r: DestinationRow) {
    await storage.transaction((tx) => tx.destinations.save(r), { write: true });
    await deps.changed();
    return view(r);
  }

  return {
    types() {
      return registry.list().map((p) => ({
        type: p.type,
        title: p.title,
        description: p.description,
        kinds: [...p.kinds],
        channel: p.channel ?? null,
        defaultPurpose: p.defaultPurpose ?? null,
        configSchema: p.configSchema as unknown as Record<string, unknown>,
      }));
    },
    async list() {
      return Promise.all((await storage.destinations.list()).map(view));
    },
    async get(publicId: string) {
      return view(await row(publicId));
    },
    async create(input: DestinationCreate, by: string) {
      const plugin = registry.require(input.type);
      const config = checkConfig(plugin, input.config);
      await checkSubscription(storage, plugin, input.subscription);
      const now = clock();
      return saved({
        id: newUuid(),
        name: input.name,
        type: plugin.type,
        config,
        subscription: input.subscription,
        purpose: input.purpose === undefined ? (plugin.defaultPurpose ?? null) : input.purpose,
        channel: input.channel === undefined ? (plugin.channel ?? null) : input.channel,
        enabled: input.enabled ?? true,
        ratePerSecond: input.ratePerSecond ?? null,
        maxRetryHours: input.maxRetryHours ?? DEFAULT_MAX_RETRY_HOURS,
        version: 1,
        createdAt: now,
        createdBy: by,
        updatedAt: now,
        updatedBy: by,
        deletedAt: null,
      });
    },
    async update(publicId: string, patch: DestinationUpdate, by: string) {
      const before = await row(publicId);
      const plugin = registry.require(before.type);
      const config = patch.config ? checkConfig(plugin, unmask(plugin, patch.config, before.config)) : before.config;
      const subscription = patch.subscription ?? before.subscription;
      if (patch.subscription) await checkSubscription(storage, plugin, subscription);
      return saved({
        ...before,
        name: patch.name ?? before.name,
        config,
        subscription,
        purpose: patch.purpose === undefined ? before.purpose : patch.purpose,
        channel: patch.channel === undefined ? before.channel : patch.channel,
        enabled: patch.enabled ?? before.enabled,
        ratePerSecond: patch.ratePerSecond === undefined ? before.ratePerSecond : patch.ratePerSecond,
        maxRetryHours: patch.maxRetryHours ?? before.maxRetryHours,
        version: before.version + 1,
        updatedAt: clock(),
        updatedBy: by,
      });
    },
    /**
     * Deletes a destination (a last version marked deleted): nothing more is routed or sent to it; its pending
     * messages stay, unsent, until purged.
     */
    async remove(publicId: string, by: string) {
      const before = await row(publicId);
      const now = clock();
      const after = { ...before, version: before.version + 1, updatedAt: now, updatedBy: by, deletedAt: now };
      await storage.transaction((tx) => tx.destinations.save(after), { write: true });
      await deps.changed();
      return view(after);
    },
    async versions(publicId: string) {
      const r = await row(publicId);
      return storage.destinations.versions(r.id);
    },
    /** Sends one sample message now through the plugin (not stored, not retried). */
    async test(publicId: string, sample?: Partial<DeliveryMessage>) {
      const r = await row(publicId);
      const plugin = registry.require(r.type);
      const now = clock();
      const kind =
        sample?.kind ?? (plugin.kinds.includes('event') ? 'event' : (plugin.kinds[0] as DeliveryMessage['kind']));
      const message: DeliveryMessage = {
        id: newUuid(),
        kind,
        profileId: newUuid(),
        at: now,
        identifiers: { userId: 'tessera-test', email: 'test@tessera.invalid' },
        traits: { firstName: 'Test', lastName: 'Tessera' },
        ...(kind === 'event'
          ? {
              event: {
                id: newUuid(),
                type: 'track',
                name: 'Tessera Test',
                messageId: newUuid(),
                timestamp: now,
                properties: { test: true },
                traits: null,
                context: null,
              },
            }
          : {}),
        ...(kind === 'audience' ? { audience: { key: 'tessera-test', name: 'Tessera test', entered: true } } : {}),
        ...sample,
      };
      const started = performance.now();
      const signal = AbortSignal.timeout(10_000);
      const resources = createResourceCache();
      let result: SendResult;
      try {
        const ctx: SendContext<Record<string, unknown>> = {
          config: r.config,
          destinationId: r.id,
          fetch: (input, init) => (deps.fetch ?? fetch)(input, { ...init, signal }),
          logger: deps.logger,
          now: clock,
          signal,
          resource: (key, open, close) => resources.get(key, open, close),
        };
        const outcome = await plugin.send([message], ctx as never);
        result = outcome.kind === 'each' ? (outcome.results.get(message.id) ?? { kind: 'ok' }) : outcome;
      } catch (e) {
        result = { kind: 'retry', reason: `${r.type}: ${e instanceof Error ? e.message : String(e)}` };
      } finally {
        await resources.close();
      }
      return {
        status: result.kind,
        reason: result.kind === 'ok' ? null : result.reason,
        httpStatus: result.kind === 'ok' ? null : (result.status ?? null),
        latencyMs: Math.round(performance.now() - started),
      };
    },
    async deliveries(
      publicId: string,
      q: { status?: DeliveryStatus; limit: number; before?: { createdAt: number; id: string } },
    ) {
      const r = await row(publicId);
      return storage.deliveries.list(r.id, { ...q, limit: q.limit + 1 });
    },
    async delivery(publicId: string, deliveryId: string) {
      const r = await row(publicId);
      const id = fromPublicId('delivery', deliveryId);
      const [d] = id ? await storage.deliveries.get(r.id, [id]) : [];
      if (!d) throw new TesseraError('not_found', `no delivery ${deliveryId} for destination ${publicId}`);
      return d;
    },
    /** Dead-lettered messages (all, or some) back in the queue, due now; wakes the delivery loops. */
    async replay(publicId: string, ids?: readonly string[]) {
      const r = await row(publicId);
      let bare: string[] | 'all' = 'all';
      if (ids) {
        bare = ids.map((id) => {
          const u = fromPublicId('delivery', id);
          if (!u) throw new TesseraError('invalid_request', `ids: ${id} is not a delivery id (dlv_…)`);
          return u;
        });
      }
      const replayed = await storage.transaction((tx) => tx.deliveries.replay(r.id, bare, clock()), { write: true });
      deps.wake?.(r.id);
      return { replayed };
    },
    async stats(publicId: string) {
      const r = await row(publicId);
      const latency = await storage.deliveries.latency(r.id, clock() - 3_600_000);
      return {
        counts: await storage.deliveries.counts(r.id),
        lastHour: { delivered: latency.count, p50Ms: latency.p50, p99Ms: latency.p99 },
      };
    },
    async pressurePolicy() {
      const row = await storage.settings.latest(PRESSURE_KEY);
      const { policy, version } = await loadPressurePolicy(storage.settings);
      return {
        policy,
        version,
        updatedAt: row ? new Date(row.createdAt).toISOString() : null,
        updatedBy: row?.createdBy ?? null,
      };
    },
    async setPressurePolicy(policy: PressurePolicy, by: string) {
      if (!Value.Check(PressurePolicySchema, policy)) {
        const first = Value.Errors(PressurePolicySchema, policy).First();
        const { field, message } = first ? explainSchemaError(first) : { field: '(root)', message: 'invalid' };
        throw new TesseraError('invalid_request', `${field}: ${message}`);
      }
      checkTimezone(policy.defaultTimezone, 'defaultTimezone');
      await storage.transaction((tx) => tx.settings.put(PRESSURE_KEY, policy, by, clock()), { write: true });
      return this.pressurePolicy();
    },
    /** Whether one more `channel` message may go to a person now (no reservation): `GET /v1/profiles/{id}/pressure`. */
    /** A person's deliveries to every destination (the survivor's family), newest first, at most `limit`. */
    async ofProfile(profilePublicId: string, limit: number) {
      const bare = fromPublicId('profile', profilePublicId);
      if (!bare) throw new TesseraError('invalid_request', `${profilePublicId} is not a profile id (prof_…)`);
      const [survivor] = [...(await storage.identities.resolve([bare])).values()];
      const id = survivor ?? bare;
      if ((await storage.profiles.get([id])).length === 0)
        throw new TesseraError('not_found', `no profile ${profilePublicId}`);
      const family = await storage.identities.family(id);
      const rows = await storage.deliveries.ofProfiles(family.length > 0 ? family : [id]);
      return rows
        .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
        .slice(0, limit)
        .map((r) => ({ ...deliveryView(r), destinationId: toPublicId('destination', r.destinationId) }));
    },
    async pressure(profilePublicId: string, channel: string) {
      const bare = fromPublicId('profile', profilePublicId);
      if (!bare) throw new TesseraError('invalid_request', `${profilePublicId} is not a profile id (prof_…)`);
      const now = clock();
      return storage.transaction(async (tx) => {
        const [survivor] = [...(await tx.identities.resolve([bare])).values()];
        const id = survivor ?? bare;
        const [profile] = await tx.profiles.get([id]);
        if (!profile) throw new TesseraError('not_found', `no profile ${profilePublicId}`);
        const { policy } = await loadPressurePolicy(tx.settings);
        const timezone = await timezoneOf(tx, id, profile.traits, policy);
        const window = longestWindow(policy);
        const sent = await tx.messages.since([id], window > 0 ? now - window : now);
        const block = decidePressure(policy, sent, channel, now, timezone);
        return {
          profileId: toPublicId('profile', id),
          channel,
          allowed: block === undefined,
          rule: block?.rule ?? null,
          reason: block?.reason ?? null,
          nextAllowedAt: block && Number.isFinite(block.until) ? new Date(block.until).toISOString() : null,
          timezone,
          caps: capUse(policy, sent, now).filter((c) => c.channel === 'any' || c.channel === channel),
        };
      });
    },
  };
}

export type DestinationService = ReturnType<typeof createDestinationService>;
