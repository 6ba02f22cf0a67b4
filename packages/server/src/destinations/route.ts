import type { DeliveryMessage, EventSubscription, MessageIdentifiers } from '@tessera/protocol';
import { compareValue } from '../audiences/compare.js';
import { AUDIENCE_ENTERED, AUDIENCE_EXITED } from '../audiences/evaluate-profiles.js';
import { valueAt } from '../audiences/values.js';
import type { Change } from '../bus/ports.js';
import { derivedUuid } from '../ids.js';
import { consentsOf } from '../profiles/current-consents.js';
import type { EventRow } from '../profiles/ports.js';
import type { Stores } from '../storage/storage.js';
import type { DestinationPlugin } from './plugin.js';
import type { DeliveryRow, DestinationRow, MessageRow } from './ports.js';

/** A live destination and its plugin. */
export interface ActiveDestination {
  readonly row: DestinationRow;
  readonly plugin: DestinationPlugin;
}

/** The event name that counts as a marketing message sent by another tool (DESIGN §7). */
export const MESSAGE_SENT = 'Message Sent';

export interface RouteOutcome {
  /** Delivery rows written (pending or skipped). */
  routed: number;
  /** Of those, skipped for want of consent. */
  skippedConsent: number;
  /** `Message Sent` events recorded for the pressure caps. */
  messages: number;
  /** Destinations that got pending rows (their delivery loops can be woken). */
  destinations: Set<string>;
}

interface Candidate {
  destination: ActiveDestination;
  change: Change;
  kind: DeliveryMessage['kind'];
  /** The profile the change is about, as stored with the change. */
  profileId: string;
  eventKey?: { profileId: string; id: string };
  audience?: { key: string; entered: boolean };
}

/** Whether an event passes an event subscription (types, names, property filters). */
export function eventMatches(sub: EventSubscription, e: Pick<EventRow, 'type' | 'name' | 'properties'>): boolean {
  if (sub.types && !sub.types.includes(e.type as (typeof sub.types)[number])) return false;
  if (sub.names && (e.name === null || !sub.names.includes(e.name))) return false;
  for (const f of sub.where ?? []) if (!compareValue(f.compare, valueAt(e.properties, f.property))) return false;
  return true;
}

/**
 * Whether `routeChanges` has anything to do with `changes`: a destination taking one of their kinds, or a stored
 * event that may be a `Message Sent` (the pressure caps count those with or without destinations).
 */
export function routable(changes: readonly Change[], destinations: readonly ActiveDestination[]): boolean {
  const live = destinations.filter((d) => d.row.deletedAt === null);
  for (const c of changes) {
    if (c.kind === 'event.stored') {
      const name = (c.payload as { name?: unknown } | null)?.name;
      if (name === undefined || name === MESSAGE_SENT) return true;
      if (live.some((d) => d.row.subscription.events)) return true;
    } else if (c.kind === 'profile.traits_changed') {
      if (live.some((d) => d.row.subscription.profiles)) return true;
    } else if (c.kind === AUDIENCE_ENTERED || c.kind === AUDIENCE_EXITED) {
      if (live.some((d) => d.row.subscription.audiences)) return true;
    }
  }
  return false;
}

const wantsAudience = (d: DestinationRow, key: string) =>
  d.subscription.audiences?.includes('*') || d.subscription.audiences?.includes(key);

/**
 * Routes change-bus changes to destinations (DESIGN §7): for each destination whose subscription takes a change, one
 * delivery row holding the message as it is now (the profile's traits and identifiers, the event, the audience), with
 * an id derived from the destination and the change so routing the same change again writes nothing. A profile
 * without consent for the destination's purpose gets a `skipped` row (the log says so) and is not sent. Profile
 * changes and audience memberships carry a sync key: a later state replaces a pending earlier one. `Message Sent`
 * events are recorded for the pressure caps whether or not a destination takes them. Call in a write transaction,
 * with the consumer's offset commit.
 */
export async function routeChanges(
  tx: Stores,
  changes: readonly Change[],
  destinations: readonly ActiveDestination[],
  now: number,
): Promise<RouteOutcome> {
  const outcome: RouteOutcome = { routed: 0, skippedConsent: 0, messages: 0, destinations: new Set() };
  // A disabled destination is paused: its messages are routed and wait for it to be enabled again.
  const live = destinations.filter((d) => d.row.deletedAt === null);
  const candidates: Candidate[] = [];
  const sentKeys: { profileId: string; id: string }[] = [];
  for (const change of changes) {
    const p = (change.payload ?? {}) as Record<string, unknown>;
    if (change.kind === 'event.stored') {
      const key = { profileId: change.profileId, id: String(p.eventId) };
      const name = typeof p.name === 'string' ? p.name : p.name === null ? null : undefined;
      if (name === MESSAGE_SENT || name === undefined) sentKeys.push(key);
      for (const d of live) {
        const sub = d.row.subscription.events;
        if (!sub || !d.plugin.kinds.includes('event')) continue;
        // A cheap pre-filter on what the change says; properties are checked on the loaded event.
        if (sub.types && !sub.types.includes(p.type as (typeof sub.types)[number])) continue;
        if (sub.names && name !== undefined && (name === null || !sub.names.includes(name))) continue;
        candidates.push({ destination: d, change, kind: 'event', profileId: change.profileId, eventKey: key });
      }
    } else if (change.kind === 'profile.traits_changed') {
      for (const d of live)
        if (d.row.subscription.profiles && d.plugin.kinds.includes('profile'))
          candidates.push({ destination: d, change, kind: 'profile', profileId: change.profileId });
    } else if (change.kind === AUDIENCE_ENTERED || change.kind === AUDIENCE_EXITED) {
      const key = String(p.audienceKey);
      for (const d of live)
        if (wantsAudience(d.row, key) && d.plugin.kinds.includes('audience'))
          candidates.push({
            destination: d,
            change,
            kind: 'audience',
            profileId: change.profileId,
            audience: { key, entered: change.kind === AUDIENCE_ENTERED },
          });
    }
  }
  const eventKeys = [...candidates.flatMap((c) => (c.eventKey ? [c.eventKey] : [])), ...sentKeys];
  const events = new Map((eventKeys.length ? await tx.events.byIds(uniqueKeys(eventKeys)) : []).map((e) => [e.id, e]));
  outcome.messages = await recordMessagesSent(tx, sentKeys, events);
  if (candidates.length === 0) return outcome;

  // Everything is sent about the profile each change's profile now redirects to.
  const survivors = await tx.identities.resolve([...new Set(candidates.map((c) => c.profileId))]);
  const survivorOf = (id: string) => survivors.get(id) ?? id;
  const ids = [...new Set(candidates.map((c) => survivorOf(c.profileId)))];
  const families = await tx.identities.families(ids);
  const owner = new Map<string, string>();
  for (const [survivor, family] of families) for (const id of family) owner.set(id, survivor);
  for (const id of ids) if (!owner.has(id)) owner.set(id, id);
  const profiles = new Map((await tx.profiles.get(ids)).map((p) => [p.id, p]));
  const identifiers = identifiersOf(await tx.identities.ofProfiles([...owner.keys()]), owner);
  const consents = live.some((d) => d.row.purpose !== null)
    ? await consentsOf(tx, [...owner.keys()], owner, now)
    : new Map<string, Map<string, boolean>>();
  const audienceNames = candidates.some((c) => c.audience)
    ? new Map((await tx.audiences.list({ includeDeleted: true })).map((a) => [a.key, a.name]))
    : new Map<string, string>();

  const rows: DeliveryRow[] = [];
  for (const c of candidates) {
    const profileId = survivorOf(c.profileId);
    const profile = profiles.get(profileId);
    if (!profile) continue; // erased since
    let event: EventRow | undefined;
    if (c.eventKey) {
      event = events.get(c.eventKey.id);
      const sub = c.destination.row.subscription.events;
      if (!event || !sub || !eventMatches(sub, event)) continue;
    }
    const d = c.destination.row;
    const id = derivedUuid(d.id, c.change.id);
    const message: DeliveryMessage = {
      id,
      kind: c.kind,
      profileId,
      at: c.change.createdAt,
      identifiers: identifiers.get(profileId) ?? {},
      traits: profile.traits,
      ...(event
        ? {
            event: {
              id: event.id,
              type: event.type,
              name: event.name,
              messageId: event.messageId,
              timestamp: event.timestamp,
              properties: event.properties,
              traits: event.traits,
              context: event.context,
            },
          }
        : {}),
      ...(c.audience
        ? {
            audience: {
              key: c.audience.key,
              name: audienceNames.get(c.audience.key) ?? c.audience.key,
              entered: c.audience.entered,
            },
          }
        : {}),
    };
    const granted = d.purpose === null || consents.get(profileId)?.get(d.purpose) === true;
    rows.push({
      id,
      profileId,
      destinationId: d.id,
      changeId: c.change.id,
      kind: c.kind,
      payload: message,
      status: granted ? 'pending' : 'skipped',
      reason: granted ? null : `no consent for purpose ${d.purpose}`,
      syncKey: c.audience
        ? `audience:${c.audience.key}:${profileId}`
        : c.kind === 'profile'
          ? `profile:${profileId}`
          : null,
      attempts: 0,
      nextAttemptAt: now,
      leasedUntil: null,
      lastStatus: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: granted ? null : now,
    });
    if (granted) outcome.destinations.add(d.id);
    else outcome.skippedConsent++;
  }
  outcome.routed = await tx.deliveries.enqueue(rows, now);
  return outcome;
}

function uniqueKeys(keys: readonly { profileId: string; id: string }[]) {
  const seen = new Map<string, { profileId: string; id: string }>();
  for (const k of keys) seen.set(`${k.profileId}\u0000${k.id}`, k);
  return [...seen.values()];
}

/** `Message Sent` events as messages of the pressure caps (channel: `properties.channel`, lower case; else e-mail). */
async function recordMessagesSent(
  tx: Stores,
  keys: readonly { profileId: string; id: string }[],
  events: ReadonlyMap<string, EventRow>,
): Promise<number> {
  const rows: MessageRow[] = [];
  for (const k of keys) {
    const e = events.get(k.id);
    if (e?.type !== 'track' || e.name !== MESSAGE_SENT) continue;
    const channel = e.properties?.channel;
    rows.push({
      id: derivedUuid('message', e.id),
      profileId: e.profileId,
      channel: typeof channel === 'string' && channel.trim() ? channel.trim().toLowerCase() : 'email',
      at: e.timestamp,
      destinationId: null,
      deliveryId: null,
      origin: 'event',
    });
  }
  await tx.messages.insert(rows);
  return rows.length;
}

const IDENTIFIER_FIELDS: Record<string, keyof MessageIdentifiers> = {
  user_id: 'userId',
  email: 'email',
  phone: 'phone',
  anonymous_id: 'anonymousId',
};

/** Per survivor, the most recently seen identifier of each type a destination may use. */
function identifiersOf(
  rows: readonly { type: string; value: string; profileId: string; firstSeenAt: number }[],
  owner: ReadonlyMap<string, string>,
): Map<string, MessageIdentifiers> {
  const best = new Map<string, Map<keyof MessageIdentifiers, { value: string; at: number }>>();
  for (const r of rows) {
    const field = IDENTIFIER_FIELDS[r.type];
    const survivor = owner.get(r.profileId);
    if (!field || !survivor) continue;
    const m = best.get(survivor) ?? new Map();
    const prev = m.get(field);
    if (!prev || r.firstSeenAt > prev.at || (r.firstSeenAt === prev.at && r.value < prev.value))
      m.set(field, { value: r.value, at: r.firstSeenAt });
    best.set(survivor, m);
  }
  return new Map([...best].map(([id, m]) => [id, Object.fromEntries([...m].map(([k, v]) => [k, v.value]))]));
}
