import { type Static, Type } from '@sinclair/typebox';
import { IsoTime, JsonObject, Nullable, Open, Page, PublicId } from './api.js';
import { TrackingResponse } from './events.js';

/** Wire schemas of the sources API (`/v1/sources…`, DESIGN §9). */

export const SOURCE_KINDS = ['tracking', 'webhook', 'import'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** Body of `POST /v1/sources`; the mapping is checked by the server (`docs/mapping.md`), not by this schema. */
export const CreateSourceBody = Type.Object(
  {
    name: Type.String({ description: '1–100 letters, digits, spaces, dots, dashes or underscores; unique' }),
    kind: Type.Optional(Type.Unsafe<SourceKind>({ enum: [...SOURCE_KINDS], description: 'default `tracking`' })),
    mapping: Type.Optional(
      Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'a Mapping (`docs/mapping.md`)' }),
    ),
  },
  { additionalProperties: false },
);
export type CreateSourceBody = Static<typeof CreateSourceBody>;

const sourceFields = {
  id: PublicId('source'),
  name: Type.String(),
  kind: Type.Unsafe<SourceKind>({ type: 'string', enum: [...SOURCE_KINDS] }),
  mapping: Nullable(JsonObject),
  createdAt: IsoTime,
  updatedAt: IsoTime,
};

export const SourceView = Open(sourceFields, 'A source');
export type SourceView = Static<typeof SourceView>;

/** A source with its write key: answered once, at creation or rotation (only a hash is stored). */
export const SourceWithKey = Open(
  { ...sourceFields, writeKey: Type.String({ description: 'shown once; keep it' }) },
  'The source and its new write key (shown once)',
);
export type SourceWithKey = Static<typeof SourceWithKey>;

export const SourcePage = Page(SourceView, 'Every source (one page)');
export type SourcePage = Static<typeof SourcePage>;

/** An event refused at ingest or by the pipeline, kept with its reason until replayed. */
export const QuarantineView = Open({
  id: PublicId('quarantine'),
  code: Type.String({ description: 'a quarantine code (`docs/errors.md`)' }),
  reason: Type.String(),
  messageId: Nullable(Type.String()),
  receivedAt: IsoTime,
  status: Type.Unsafe<'open' | 'replayed'>({ type: 'string', enum: ['open', 'replayed'] }),
  payload: Type.Unknown({ description: 'the call as received (without its write key), or null' }),
});
export type QuarantineView = Static<typeof QuarantineView>;

export const QuarantinePage = Page(QuarantineView, 'Quarantined events of the source, oldest first');
export type QuarantinePage = Static<typeof QuarantinePage>;

/** Answer of a replay: the tracking API's answer for the replayed call. */
export const ReplayResponse = Open(
  { replayed: Type.Boolean(), ...TrackingResponse.properties },
  'The event was accepted again (or is a duplicate)',
);
export type ReplayResponse = Static<typeof ReplayResponse>;
