import { type Static, Type } from '@sinclair/typebox';
import { PropertyFilter } from './audiences.js';

/**
 * Destinations (DESIGN §7, `docs/destinations.md`): what flows to a destination (its subscription), the message a
 * destination plugin receives, and the marketing-pressure policy.
 */

export const MESSAGE_CHANNELS = ['email', 'sms', 'push'] as const;
export type MessageChannel = (typeof MESSAGE_CHANNELS)[number];

/** Which events flow: all of them when a list is absent; `where` filters on properties (all must hold). */
export const EventSubscription = Type.Object(
  {
    types: Type.Optional(
      Type.Array(Type.Union(['track', 'identify', 'page', 'screen', 'group', 'alias'].map((t) => Type.Literal(t))), {
        minItems: 1,
        uniqueItems: true,
        description: 'event types; all when absent',
      }),
    ),
    names: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        minItems: 1,
        maxItems: 200,
        description: 'track / screen / page names; all when absent',
      }),
    ),
    where: Type.Optional(Type.Array(PropertyFilter, { maxItems: 20, description: 'property filters, all must hold' })),
  },
  { additionalProperties: false, description: 'The events sent to the destination' },
);
export type EventSubscription = Static<typeof EventSubscription>;

/** What a destination receives from the change bus. At least one of the three. */
export const Subscription = Type.Object(
  {
    events: Type.Optional(EventSubscription),
    profiles: Type.Optional(Type.Boolean({ description: 'profile trait changes (the whole current profile)' })),
    audiences: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
        minItems: 1,
        maxItems: 200,
        description: 'audience keys whose enters and exits are kept in sync as list membership; ["*"] for all',
      }),
    ),
  },
  { additionalProperties: false, description: 'What flows to the destination' },
);
export type Subscription = Static<typeof Subscription>;

/** The identifiers of a profile a destination may need (the first of each type, most recent first). */
export interface MessageIdentifiers {
  userId?: string;
  email?: string;
  phone?: string;
  anonymousId?: string;
}

/**
 * One message handed to a destination plugin, snapshotted when it is routed: a retry or a replay sends the same
 * content. `id` is the idempotency key: the same change routed to the same destination always has the same id.
 */
export interface DeliveryMessage {
  id: string;
  kind: 'event' | 'profile' | 'audience';
  /** The profile (bare UUID). */
  profileId: string;
  /** When the change happened (ms since epoch). */
  at: number;
  identifiers: MessageIdentifiers;
  /** The profile's traits when the message was routed. */
  traits: Record<string, unknown>;
  event?: {
    id: string;
    type: string;
    name: string | null;
    messageId: string;
    timestamp: number;
    properties: Record<string, unknown> | null;
    traits: Record<string, unknown> | null;
    context: Record<string, unknown> | null;
  };
  audience?: { key: string; name: string; entered: boolean };
  /** The person's time zone (IANA) as marketing pressure resolved it; present for messaging destinations. */
  timezone?: string;
}

const LocalTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM, 24-hour' });

/** One cap: at most `max` messages on `channel` (`any`: every channel together) per person per `days` days. */
export const PressureCap = Type.Object(
  {
    channel: Type.Union([Type.Literal('any'), ...MESSAGE_CHANNELS.map((c) => Type.Literal(c))]),
    max: Type.Integer({ minimum: 0, maximum: 1000 }),
    days: Type.Number({ exclusiveMinimum: 0, maximum: 366 }),
  },
  { additionalProperties: false },
);
export type PressureCap = Static<typeof PressureCap>;

/**
 * The marketing-pressure policy (setting `pressure`, versioned): caps across and per channel, quiet hours in the
 * person's time zone (the `timezone` trait, else the last `context.timezone`, else `defaultTimezone`), and what
 * happens to a send over a cap: `hold` (sent when a slot frees up) or `drop` (recorded as skipped).
 */
export const PressurePolicy = Type.Object(
  {
    caps: Type.Array(PressureCap, { maxItems: 20 }),
    quietHours: Type.Union([
      Type.Object({ start: LocalTime, end: LocalTime }, { additionalProperties: false }),
      Type.Null(),
    ]),
    defaultTimezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/Paris' }),
    overCap: Type.Union([Type.Literal('hold'), Type.Literal('drop')]),
  },
  { additionalProperties: false, description: 'Marketing-pressure caps and quiet hours' },
);
export type PressurePolicy = Static<typeof PressurePolicy>;
