import { type Static, Type } from '@sinclair/typebox';

/**
 * Wire schemas of the tracking API: Segment's spec, with RudderStack's variants accepted
 * (`originalTimestamp`, `context.traits`, `context.externalIds`, `context.consentManagement`).
 * Unknown fields are kept (they are part of the raw payload) but not interpreted.
 */

export const EVENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const Json = Type.Record(Type.String(), Type.Unknown());
const OptString = Type.Optional(Type.Union([Type.String(), Type.Null()]));
/** Ids may come as numbers from some SDKs; they are turned into strings on the way in. */
const IdValue = Type.Optional(Type.Union([Type.String({ maxLength: 512 }), Type.Number(), Type.Null()]));
const Timestamp = Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()]));

/** Fields every call type shares. */
export const CommonFields = {
  messageId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Number()])),
  userId: IdValue,
  anonymousId: IdValue,
  timestamp: Timestamp,
  originalTimestamp: Timestamp,
  sentAt: Timestamp,
  receivedAt: Timestamp,
  context: Type.Optional(Json),
  integrations: Type.Optional(Json),
  writeKey: Type.Optional(Type.String()),
};

export const TrackEvent = Type.Object(
  {
    type: Type.Literal('track'),
    event: Type.String({ minLength: 1, maxLength: 512 }),
    properties: Type.Optional(Json),
    ...CommonFields,
  },
  { additionalProperties: true },
);
export const IdentifyEvent = Type.Object(
  { type: Type.Literal('identify'), traits: Type.Optional(Json), ...CommonFields },
  { additionalProperties: true },
);
export const PageEvent = Type.Object(
  {
    type: Type.Literal('page'),
    name: OptString,
    category: OptString,
    properties: Type.Optional(Json),
    ...CommonFields,
  },
  { additionalProperties: true },
);
export const ScreenEvent = Type.Object(
  {
    type: Type.Literal('screen'),
    name: OptString,
    category: OptString,
    properties: Type.Optional(Json),
    ...CommonFields,
  },
  { additionalProperties: true },
);
export const GroupEvent = Type.Object(
  {
    type: Type.Literal('group'),
    groupId: Type.Union([Type.String({ minLength: 1, maxLength: 512 }), Type.Number()]),
    traits: Type.Optional(Json),
    ...CommonFields,
  },
  { additionalProperties: true },
);
export const AliasEvent = Type.Object(
  {
    type: Type.Literal('alias'),
    previousId: Type.Union([Type.String({ minLength: 1, maxLength: 512 }), Type.Number()]),
    ...CommonFields,
  },
  { additionalProperties: true },
);

/** The wire schema of each call type. */
export const CALL_SCHEMAS = {
  track: TrackEvent,
  identify: IdentifyEvent,
  page: PageEvent,
  screen: ScreenEvent,
  group: GroupEvent,
  alias: AliasEvent,
} as const satisfies Record<EventType, unknown>;

/** Any single call, as received (before normalisation). */
export const TrackingEvent = Type.Union([TrackEvent, IdentifyEvent, PageEvent, ScreenEvent, GroupEvent, AliasEvent]);
export type TrackingEvent = Static<typeof TrackingEvent>;

/** Body of `POST /v1/batch` (Segment's `batch`; RudderStack sends the same). */
export const BatchBody = Type.Object(
  {
    batch: Type.Array(Type.Unknown()),
    sentAt: Timestamp,
    context: Type.Optional(Json),
    writeKey: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type BatchBody = Static<typeof BatchBody>;

/** One quarantined event in the answer of the tracking API. */
export const QuarantinedItem = Type.Object({
  index: Type.Integer(),
  messageId: Type.Union([Type.String(), Type.Null()]),
  code: Type.String(),
  reason: Type.String(),
});
export type QuarantinedItem = Static<typeof QuarantinedItem>;

/** 200 answer of every tracking endpoint (DESIGN §9). */
export const TrackingResponse = Type.Object({
  success: Type.Boolean(),
  accepted: Type.Integer(),
  duplicates: Type.Integer(),
  quarantined: Type.Array(QuarantinedItem),
});
export type TrackingResponse = Static<typeof TrackingResponse>;

/** Limits of the tracking API, measured on the decompressed body. */
export const TRACKING_LIMITS = {
  maxEventBytes: 32 * 1024,
  maxRequestBytes: 500 * 1024,
  maxDepth: 32,
  maxKeys: 10_000,
} as const;
