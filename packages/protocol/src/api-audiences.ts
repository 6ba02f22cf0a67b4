import { type Static, Type } from '@sinclair/typebox';
import { IsoTime, Nullable, Open, Page, PublicId } from './api.js';
import { AudienceDefinition, AudienceKey } from './audiences.js';

/**
 * Wire schemas of the audiences API (DESIGN §6, §9, `docs/audiences.md`): definitions (`/v1/audiences`), the
 * preview, members, and a profile's stays (`/v1/profiles/{id}/audiences`).
 */

const Name = Type.String({ minLength: 1, maxLength: 200, description: 'shown in the UI and in destinations' });
const Description = Type.String({ minLength: 1, maxLength: 2000 });

/** `POST /v1/audiences`. The definition is checked by the parser, which names the faulty field. */
export const AudienceCreate = Type.Object(
  {
    key: AudienceKey,
    name: Name,
    description: Type.Optional(Description),
    definition: AudienceDefinition,
  },
  { additionalProperties: false, description: 'A new audience: its key (never changes), name and definition' },
);
export type AudienceCreate = Static<typeof AudienceCreate>;

/** `PATCH /v1/audiences/{key}`: the fields to change (a new version). */
export const AudienceUpdate = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Nullable(Description)),
    definition: Type.Optional(AudienceDefinition),
  },
  { additionalProperties: false, description: 'Fields to change; each save is a new version' },
);
export type AudienceUpdate = Static<typeof AudienceUpdate>;

export const AudienceSummaryText = Open(
  { en: Type.String(), fr: Type.String() },
  'The definition as one readable line, in English and French',
);

export const AUDIENCE_STATUSES = ['computing', 'ready'] as const;

export const AudienceView = Open(
  {
    key: AudienceKey,
    name: Type.String(),
    description: Nullable(Type.String()),
    definition: AudienceDefinition,
    summary: AudienceSummaryText,
    version: Type.Integer(),
    members: Type.Integer({ description: 'current members (open stays)' }),
    status: Type.Unsafe<(typeof AUDIENCE_STATUSES)[number]>({
      type: 'string',
      enum: [...AUDIENCE_STATUSES],
      description:
        '`computing`: this version has not been recomputed in full yet (the scheduler does it; events already ' +
        'move profiles in and out); `ready`: it has',
    }),
    computedAt: Nullable(IsoTime),
    createdAt: IsoTime,
    createdBy: Type.String(),
    updatedAt: IsoTime,
    updatedBy: Type.String(),
  },
  'An audience',
);
export type AudienceView = Static<typeof AudienceView>;

export const AudiencePage = Page(AudienceView, 'Audiences by key');

export const AudienceVersionView = Open(
  {
    version: Type.Integer(),
    name: Type.String(),
    description: Nullable(Type.String()),
    definition: AudienceDefinition,
    deleted: Type.Boolean(),
    createdAt: IsoTime,
    createdBy: Type.String(),
  },
  'One saved version of an audience',
);
export const AudienceVersionPage = Page(AudienceVersionView, 'Versions, newest first');

/** `POST /v1/audiences/preview`. */
export const AudiencePreviewRequest = Type.Object(
  {
    definition: AudienceDefinition,
    exact: Type.Optional(
      Type.Boolean({ description: 'also count every member exactly (a full evaluation; slower on large stores)' }),
    ),
    sampleSize: Type.Optional(
      Type.Integer({ minimum: 100, maximum: 100_000, description: 'profiles in the sample (default 5,000)' }),
    ),
  },
  { additionalProperties: false },
);
export type AudiencePreviewRequest = Static<typeof AudiencePreviewRequest>;

export const AudiencePreview = Open(
  {
    summary: AudienceSummaryText,
    estimate: Open(
      {
        count: Type.Integer({ description: 'estimated members: the sample’s share times the profiles' }),
        low: Type.Integer(),
        high: Type.Integer({ description: '`low`–`high`: the 95 % interval (Wilson score, finite population)' }),
        confidence: Type.Number(),
        sampled: Type.Integer({ description: 'profiles evaluated' }),
        matched: Type.Integer({ description: 'of which members' }),
        profiles: Type.Integer({ description: 'profiles (survivors) in the store' }),
        exact: Type.Boolean({ description: 'true when the sample was every profile' }),
        ms: Type.Integer(),
      },
      'The estimate from a random sample of profiles',
    ),
    exact: Type.Optional(Open({ count: Type.Integer(), ms: Type.Integer() }, 'The exact count, when asked for')),
    sample: Type.Array(PublicId('profile'), { description: 'up to 10 members found in the sample' }),
  },
  'An estimate of an audience’s size before it is saved',
);
export type AudiencePreview = Static<typeof AudiencePreview>;

export const AudienceMember = Open(
  { profileId: PublicId('profile'), enteredAt: IsoTime, version: Type.Integer() },
  'A current member: the profile, when it entered, under which version',
);
export const AudienceMemberPage = Page(AudienceMember, 'Members by profile id');

export const ProfileAudienceStay = Open(
  {
    audienceKey: AudienceKey,
    name: Nullable(Type.String({ description: 'null when the audience was deleted' })),
    member: Type.Boolean({ description: 'true while the stay is open' }),
    enteredAt: IsoTime,
    exitedAt: Nullable(IsoTime),
    enteredVersion: Type.Integer(),
    exitedVersion: Nullable(Type.Integer()),
    exitReason: Nullable(
      Type.String({
        description:
          '`condition`: the definition stopped holding; `merged`: the profile was merged into another; `deleted`',
      }),
    ),
  },
  'A stay of a profile in an audience',
);
export const ProfileAudiences = Open(
  { items: Type.Array(ProfileAudienceStay) },
  'The profile’s current audiences with their entry times (and, with `?history=true`, its past stays)',
);

/** One change of the bus (`GET /v1/changes`): the outbox row as consumers see it. */
export const ChangeView = Open(
  {
    seq: Type.Integer({ description: 'position on the bus; pass the last one back as `?after=`' }),
    id: PublicId('change'),
    kind: Type.String({
      description:
        '`event.stored`, `profile.traits_changed`, `profile.merged`, `audience.entered`, `audience.exited`, …',
    }),
    profileId: PublicId('profile'),
    payload: Type.Unknown({
      description: 'ids and keys only (profile and event ids public); read values from the API',
    }),
    createdAt: IsoTime,
  },
  'A change published by the pipeline or the scheduler',
);
export const ChangePage = Page(ChangeView, 'Changes after `after`, oldest first; `nextCursor` is the last `seq`');
