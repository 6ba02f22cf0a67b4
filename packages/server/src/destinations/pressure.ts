import type { PressureCap, PressurePolicy } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import { derivedUuid } from '../ids.js';
import type { SettingsStore } from '../settings/ports.js';
import type { Stores } from '../storage/storage.js';
import type { MessageRow } from './ports.js';

/** The versioned setting holding the marketing-pressure policy (DESIGN §9). */
export const PRESSURE_KEY = 'pressure';

const DAY = 86_400_000;

/** No caps, no quiet hours: every send goes. */
export const NO_PRESSURE: PressurePolicy = Object.freeze({
  caps: [],
  quietHours: null,
  defaultTimezone: 'UTC',
  overCap: 'hold',
}) as PressurePolicy;

/** The policy in force and its version (0: never set). */
export async function loadPressurePolicy(
  settings: SettingsStore,
): Promise<{ policy: PressurePolicy; version: number }> {
  const row = await settings.latest(PRESSURE_KEY);
  return { policy: (row?.value as PressurePolicy | undefined) ?? NO_PRESSURE, version: row?.version ?? 0 };
}

/** Refuses a time zone `Intl` does not know, naming the field. */
export function checkTimezone(tz: string, field: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new TesseraError(
      'invalid_request',
      `${field}: unknown time zone ${JSON.stringify(tz)} (use an IANA name such as Europe/Paris)`,
    );
  }
}

/** Why a send may not go now, and when it may. */
export interface PressureBlock {
  rule: 'cap' | 'quiet_hours';
  reason: string;
  /** The earliest instant the rule lets it go (a slot frees up, or the quiet hours end). */
  until: number;
}

export interface CapUse {
  channel: PressureCap['channel'];
  max: number;
  days: number;
  used: number;
}

const parseHm = (hm: string) => Number(hm.slice(0, 2)) * 60 + Number(hm.slice(3, 5));

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Minutes since local midnight at `at` in `tz` (and the seconds into the minute). */
function localMinutes(at: number, tz: string): { minutes: number; seconds: number } {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(tz, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return { minutes: Number(parts.hour) * 60 + Number(parts.minute), seconds: Number(parts.second) };
}

/**
 * Whether `at` falls in the quiet hours `[start, end)` in `tz` (a window across midnight when start > end), and
 * if so the instant they end.
 */
export function quietUntil(quiet: PressurePolicy['quietHours'], at: number, tz: string): number | undefined {
  if (!quiet) return undefined;
  const start = parseHm(quiet.start);
  const end = parseHm(quiet.end);
  if (start === end) return undefined;
  const { minutes, seconds } = localMinutes(at, tz);
  const inside = start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
  if (!inside) return undefined;
  const left = (end - minutes + 1440) % 1440;
  // Whole minutes to the local end time, less the seconds already gone (a DST change inside the window shifts the
  // end by an hour: the held send is checked again then).
  return at + left * 60_000 - seconds * 1000 - (at % 1000);
}

const counts = (cap: PressureCap, channel: string) => cap.channel === 'any' || cap.channel === channel;

/**
 * The pressure decision for one more `channel` message to a person at `now` (pure): `undefined` when it may go,
 * else the first rule in its way. `sent` are the person's messages (any channel) in the longest cap window.
 */
export function decidePressure(
  policy: PressurePolicy,
  sent: readonly Pick<MessageRow, 'channel' | 'at'>[],
  channel: string,
  now: number,
  timezone: string,
): PressureBlock | undefined {
  const blocks: PressureBlock[] = [];
  for (const cap of policy.caps) {
    if (!counts(cap, channel)) continue;
    const from = now - cap.days * DAY;
    const inWindow = sent.filter((m) => counts(cap, m.channel) && m.at > from && m.at <= now).map((m) => m.at);
    if (inWindow.length < cap.max) continue;
    inWindow.sort((a, b) => a - b);
    // A slot frees up when enough of the oldest leave the window for one more to fit.
    const freeing = inWindow[inWindow.length - cap.max] ?? now;
    blocks.push({
      rule: 'cap',
      reason: `at most ${cap.max} ${cap.channel === 'any' ? '' : `${cap.channel} `}message${cap.max === 1 ? '' : 's'} per ${cap.days} day${cap.days === 1 ? '' : 's'} (${inWindow.length} sent)`,
      until: cap.max === 0 ? Number.POSITIVE_INFINITY : freeing + cap.days * DAY + 1,
    });
  }
  const quiet = quietUntil(policy.quietHours, now, timezone);
  if (quiet !== undefined)
    blocks.push({
      rule: 'quiet_hours',
      reason: `quiet hours ${policy.quietHours?.start}–${policy.quietHours?.end} in ${timezone}`,
      until: quiet,
    });
  // The binding rule is the one that lifts last.
  return blocks.sort((a, b) => b.until - a.until)[0];
}

/** How many messages each cap counts for a person at `now`. */
export function capUse(
  policy: PressurePolicy,
  sent: readonly Pick<MessageRow, 'channel' | 'at'>[],
  now: number,
): CapUse[] {
  return policy.caps.map((cap) => ({
    channel: cap.channel,
    max: cap.max,
    days: cap.days,
    used: sent.filter((m) => counts(cap, m.channel) && m.at > now - cap.days * DAY && m.at <= now).length,
  }));
}

/** The longest cap window of the policy (how far back messages matter). */
export function longestWindow(policy: PressurePolicy): number {
  return Math.max(0, ...policy.caps.map((c) => c.days * DAY));
}

/**
 * A person's time zone (DESIGN §7): the `timezone` trait, else the last `context.timezone` of their events, else the
 * policy's default. Values `Intl` does not know are passed over.
 */
export async function timezoneOf(
  tx: Stores,
  profileId: string,
  traits: Record<string, unknown>,
  policy: PressurePolicy,
): Promise<string> {
  const known = (tz: unknown): tz is string => {
    if (typeof tz !== 'string' || tz.length === 0) return false;
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  };
  if (known(traits.timezone)) return traits.timezone;
  const family = await tx.identities.family(profileId);
  const recent = await tx.events.list({ profileIds: family, limit: 50 });
  for (const e of recent) {
    const tz = e.context?.timezone;
    if (known(tz)) return tz;
  }
  return policy.defaultTimezone;
}

/** One send a messaging destination wants to make. */
export interface PressureRequest {
  profileId: string;
  deliveryId: string;
  destinationId: string;
  channel: string;
  timezone: string;
}

/**
 * Reserves pressure slots for `requests` at `now`, atomically (DESIGN §7): under the profiles' pressure locks, each
 * request is decided against the messages already recorded — those of earlier requests of this call included — and
 * an allowed one records its message at once, so two workers never both take a person's last slot. A request whose
 * own reservation exists (a retried send) is not counted against itself. Call inside a write transaction.
 */
export async function reservePressure(
  tx: Stores,
  policy: PressurePolicy,
  requests: readonly PressureRequest[],
  now: number,
): Promise<Map<string, PressureBlock | undefined>> {
  const out = new Map<string, PressureBlock | undefined>();
  if (requests.length === 0) return out;
  const profileIds = [...new Set(requests.map((r) => r.profileId))];
  await tx.messages.lock(profileIds);
  const window = longestWindow(policy);
  const byProfile = new Map<string, MessageRow[]>();
  for (const m of await tx.messages.since(profileIds, window > 0 ? now - window : now)) {
    const list = byProfile.get(m.profileId) ?? [];
    list.push(m);
    byProfile.set(m.profileId, list);
  }
  const reserved: MessageRow[] = [];
  for (const r of requests) {
    const sent = (byProfile.get(r.profileId) ?? []).filter((m) => m.deliveryId !== r.deliveryId);
    const block = decidePressure(policy, sent, r.channel, now, r.timezone);
    out.set(r.deliveryId, block);
    if (block) continue;
    const row: MessageRow = {
      id: derivedUuid('message', r.deliveryId),
      profileId: r.profileId,
      channel: r.channel,
      at: now,
      destinationId: r.destinationId,
      deliveryId: r.deliveryId,
      origin: 'destination',
    };
    reserved.push(row);
    byProfile.set(r.profileId, [...(byProfile.get(r.profileId) ?? []), row]);
  }
  await tx.messages.insert(reserved);
  return out;
}

/** Releases the reservations of sends that were finally refused (dead-lettered). */
export async function releasePressure(tx: Stores, sends: readonly { profileId: string; deliveryId: string }[]) {
  await tx.messages.remove(sends.map((s) => ({ profileId: s.profileId, id: derivedUuid('message', s.deliveryId) })));
}
