import { type Static, Type } from '@sinclair/typebox';
import { IsoTime, JsonObject, Nullable, Open, Page, PublicId } from './api.js';
import { MESSAGE_CHANNELS, PressureCap, PressurePolicy, Subscription } from './destinations.js';

/**
 * Wire schemas of the destinations API (DESIGN §7, `docs/destinations.md`): `/v1/destinations` (CRUD, test send,
 * delivery log, dead-letter queue, replay), `/v1/destination-types`, `/v1/settings/pressure` and
 * `/v1/profiles/{id}/pressure`.
 */

const Channel = Type.Union(MESSAGE_CHANNELS.map((c) => Type.Literal(c)));
const Purpose = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'a consent purpose (e.g. marketing)' });

const Fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  config: JsonObject,
  subscription: Subscription,
  purpose: Nullable(Purpose),
  channel: Nullable(Channel),
  enabled: Type.Boolean(),
  ratePerSecond: Nullable(
    Type.Number({ exclusiveMinimum: 0, maximum: 100_000, description: 'sends per second at most' }),
  ),
  maxRetryHours: Type.Number({
    minimum: 0.0001,
    maximum: 720,
    description: 'how long a failing message is retried before it is dead-lettered (default 48)',
  }),
};

/** `POST /v1/destinations`. `config` is checked against the type's schema (`GET /v1/destination-types`). */
export const DestinationCreate = Type.Object(
  {
    name: Fields.name,
    type: Type.String({ minLength: 1, maxLength: 50 }),
    config: Fields.config,
    subscription: Fields.subscription,
    purpose: Type.Optional(Fields.purpose),
    channel: Type.Optional(Fields.channel),
    enabled: Type.Optional(Fields.enabled),
    ratePerSecond: Type.Optional(Fields.ratePerSecond),
    maxRetryHours: Type.Optional(Fields.maxRetryHours),
  },
  { additionalProperties: false, description: 'A new destination' },
);
export type DestinationCreate = Static<typeof DestinationCreate>;

/** `PATCH /v1/destinations/{id}`: the fields to change. A secret sent back masked keeps its stored value. */
export const DestinationUpdate = Type.Object(
  {
    name: Type.Optional(Fields.name),
    config: Type.Optional(Fields.config),
    subscription: Type.Optional(Fields.subscription),
    purpose: Type.Optional(Fields.purpose),
    channel: Type.Optional(Fields.channel),
    enabled: Type.Optional(Fields.enabled),
    ratePerSecond: Type.Optional(Fields.ratePerSecond),
    maxRetryHours: Type.Optional(Fields.maxRetryHours),
  },
  { additionalProperties: false, description: 'Fields to change; each save is a new version' },
);
export type DestinationUpdate = Static<typeof DestinationUpdate>;

const Counts = Open({
  pending: Type.Integer(),
  delivered: Type.Integer(),
  dead: Type.Integer(),
  skipped: Type.Integer(),
});

export const DestinationView = Open(
  {
    id: PublicId('destination'),
    name: Type.String(),
    type: Type.String(),
    config: Type.Unsafe<Record<string, unknown>>({
      type: 'object',
      additionalProperties: true,
      description: 'secrets are masked as "********"',
    }),
    subscription: Subscription,
    purpose: Nullable(Type.String()),
    channel: Nullable(Type.String()),
    enabled: Type.Boolean(),
    ratePerSecond: Nullable(Type.Number()),
    maxRetryHours: Type.Number(),
    version: Type.Integer(),
    counts: Counts,
    createdAt: IsoTime,
    createdBy: Type.String(),
    updatedAt: IsoTime,
    updatedBy: Type.String(),
  },
  'A destination',
);
export type DestinationView = Static<typeof DestinationView>;
export const DestinationPage = Page(DestinationView, 'Destinations, oldest first');

export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'skipped'] as const;

export const DeliveryView = Open(
  {
    id: PublicId('delivery'),
    profileId: PublicId('profile'),
    kind: Type.String(),
    status: Type.Unsafe<(typeof DELIVERY_STATUSES)[number]>({ type: 'string', enum: [...DELIVERY_STATUSES] }),
    reason: Nullable(Type.String()),
    attempts: Type.Integer(),
    lastStatus: Nullable(Type.Integer({ description: 'the last HTTP status, when there was one' })),
    nextAttemptAt: Nullable(IsoTime),
    createdAt: IsoTime,
    finishedAt: Nullable(IsoTime),
    latencyMs: Nullable(Type.Integer({ description: 'routed to delivered' })),
    message: Type.Optional(JsonObject),
  },
  'One message routed to a destination: its state, attempts and latency',
);
export type DeliveryView = Static<typeof DeliveryView>;
export const DeliveryPage = Page(DeliveryView, 'Deliveries, newest first');

export const ReplayRequest = Type.Object(
  {
    ids: Type.Optional(
      Type.Array(PublicId('delivery'), {
        minItems: 1,
        maxItems: 1000,
        description: 'dead-lettered deliveries; all when absent',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ReplayRequest = Static<typeof ReplayRequest>;
export const ReplayResult = Open({ replayed: Type.Integer() }, 'How many dead-lettered messages are queued again');

export const TestSendResult = Open(
  {
    status: Type.Unsafe<'ok' | 'retry' | 'drop'>({ type: 'string', enum: ['ok', 'retry', 'drop'] }),
    reason: Nullable(Type.String()),
    httpStatus: Nullable(Type.Integer()),
    latencyMs: Type.Integer(),
  },
  'The outcome of one test message sent now (not stored, not retried)',
);

export const DestinationTypeView = Open(
  {
    type: Type.String(),
    title: Type.String(),
    description: Type.String(),
    kinds: Type.Array(Type.String()),
    channel: Nullable(Type.String()),
    defaultPurpose: Nullable(Type.String()),
    configSchema: JsonObject,
  },
  'A destination plugin: its config schema is JSON Schema, properties marked `secret: true` are write-only',
);
export const DestinationTypeList = Open({ items: Type.Array(DestinationTypeView) });

export const DestinationStats = Open(
  {
    counts: Counts,
    lastHour: Open({ delivered: Type.Integer(), p50Ms: Nullable(Type.Integer()), p99Ms: Nullable(Type.Integer()) }),
  },
  'Delivery counts by status, and latency over the last hour',
);

export const PressurePolicyView = Open(
  {
    policy: PressurePolicy,
    version: Type.Integer({ description: '0: never set (no caps)' }),
    updatedAt: Nullable(IsoTime),
    updatedBy: Nullable(Type.String()),
  },
  'The marketing-pressure policy in force',
);

export const PressureAnswer = Open(
  {
    profileId: PublicId('profile'),
    channel: Type.String(),
    allowed: Type.Boolean({ description: 'whether a message on this channel may be sent now' }),
    rule: Nullable(Type.String({ description: '`cap` or `quiet_hours` when not allowed' })),
    reason: Nullable(Type.String()),
    nextAllowedAt: Nullable(IsoTime),
    timezone: Type.String(),
    caps: Type.Array(
      Open({ channel: PressureCap.properties.channel, max: Type.Integer(), days: Type.Number(), used: Type.Integer() }),
    ),
  },
  'Whether a person may receive one more message on a channel now, and why not',
);
