import { type Static, Type } from '@sinclair/typebox';
import { IsoTime, JsonObject, Nullable, Open, PublicId } from './api.js';

/** Wire schemas of data-subject requests (DESIGN §8, `docs/privacy.md`): `/v1/privacy/requests`. */

export const PRIVACY_REQUEST_TYPES = ['access', 'erase', 'rectify'] as const;
export const PRIVACY_REQUEST_STATUSES = ['running', 'completed', 'incomplete', 'not_found', 'failed'] as const;

/** `POST /v1/privacy/requests`. */
export const PrivacyRequestCreate = Type.Object(
  {
    type: Type.Union(
      PRIVACY_REQUEST_TYPES.map((t) => Type.Literal(t)),
      {
        description: '`access`, `erase` or `rectify`',
      },
    ),
    identifier: Type.Object(
      {
        type: Type.String({ minLength: 1, maxLength: 64, description: 'an identifier type: email, phone, user_id…' }),
        value: Type.String({ minLength: 1, maxLength: 512 }),
      },
      { additionalProperties: false },
    ),
    corrections: Type.Optional(
      Type.Unknown({
        description:
          '`rectify` only, and required there: an object of 1 to 100 trait names → the corrected JSON value, or ' +
          'null to remove the trait (checked by the service: 400 `invalid_request` naming the field)',
      }),
    ),
  },
  { additionalProperties: false, description: 'A data-subject request about the person an identifier names' },
);
export type PrivacyRequestCreate = Static<typeof PrivacyRequestCreate>;

export const PrivacyRequestView = Open(
  {
    id: PublicId('privacy'),
    type: Type.String(),
    identifierType: Type.String(),
    status: Type.Unsafe<(typeof PRIVACY_REQUEST_STATUSES)[number]>({
      type: 'string',
      enum: [...PRIVACY_REQUEST_STATUSES],
      description:
        '`running`; `completed`; `incomplete` (rows erased, files not fully scrubbed: run it again); `not_found` ' +
        '(no profile holds the identifier; an erasure still suppresses it); `failed`',
    }),
    createdAt: IsoTime,
    createdBy: Type.String(),
    completedAt: Nullable(IsoTime),
    profiles: Type.Integer({ description: 'profiles of the person (the survivor and those merged into it)' }),
    proof: Nullable(JsonObject),
    error: Nullable(Type.String()),
    result: Type.Optional(
      Nullable(
        Type.Unsafe<Record<string, unknown>>({
          type: 'object',
          additionalProperties: true,
          description: 'the access bundle (access requests, kept in memory for an hour; null once gone)',
        }),
      ),
    ),
  },
  'A data-subject request, its status and proof',
);
export type PrivacyRequestView = Static<typeof PrivacyRequestView>;
export const PrivacyRequestList = Open({ items: Type.Array(PrivacyRequestView), nextCursor: Nullable(Type.String()) });

/** GDPR Art. 6 legal bases. */
export const LEGAL_BASES = [
  'consent',
  'contract',
  'legal_obligation',
  'vital_interests',
  'public_task',
  'legitimate_interests',
] as const;

const PurposeKey = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'a consent purpose' });

/** `POST /v1/profiles/{id}/consents`: a consent decision recorded through the API (a call centre, a form). */
export const ConsentSet = Type.Object(
  {
    purpose: PurposeKey,
    granted: Type.Boolean(),
    legalBasis: Type.Optional(
      Type.Union(
        LEGAL_BASES.map((b) => Type.Literal(b)),
        { description: 'default consent' },
      ),
    ),
    validFrom: Type.Optional(IsoTime),
  },
  { additionalProperties: false },
);
export type ConsentSet = Static<typeof ConsentSet>;

const ConsentRowView = Open({
  purpose: Type.String(),
  granted: Type.Boolean(),
  legalBasis: Type.String(),
  validFrom: IsoTime,
  recordedAt: IsoTime,
  supersededAt: Nullable(IsoTime),
  source: Type.String({ description: 'a source id (`src_…`), or `api`' }),
  eventId: Nullable(Type.String()),
});

export const ProfileConsents = Open(
  {
    profileId: PublicId('profile'),
    current: Type.Array(
      Open({ purpose: Type.String(), granted: Type.Boolean(), legalBasis: Type.String(), since: IsoTime }),
    ),
    history: Type.Array(ConsentRowView),
  },
  "A person's consent per purpose now, and every recorded decision",
);

/** The consent purposes (setting `consent_purposes`, versioned). */
export const ConsentPurposes = Type.Object(
  {
    purposes: Type.Array(
      Type.Object(
        {
          key: PurposeKey,
          name: Type.String({ minLength: 1, maxLength: 200 }),
          channels: Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { maxItems: 20 }),
          legalBasis: Type.Union(LEGAL_BASES.map((b) => Type.Literal(b))),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
  },
  { additionalProperties: false },
);
export type ConsentPurposes = Static<typeof ConsentPurposes>;
export const ConsentPurposesView = Open(
  { purposes: ConsentPurposes.properties.purposes, version: Type.Integer({ description: '0: the defaults' }) },
  'The consent purposes, their channels and default legal basis',
);

/** One retention rule: events (and their raw payloads) older than `days`, of a source, a type, a name, or all. */
export const RetentionRule = Type.Object(
  {
    source: Type.Optional(PublicId('source')),
    type: Type.Optional(
      Type.Union(['track', 'identify', 'page', 'screen', 'group', 'alias'].map((t) => Type.Literal(t))),
    ),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'a track, page or screen name' })),
    days: Type.Integer({ minimum: 1, maximum: 36_500 }),
  },
  { additionalProperties: false },
);

/** The retention policies (setting `retention`, versioned), purged by the scheduler's `retention` job. */
export const RetentionPolicies = Type.Object(
  { rules: Type.Array(RetentionRule, { maxItems: 200 }) },
  { additionalProperties: false, description: 'Retention rules; an event matching several goes with the shortest' },
);
export type RetentionPolicies = Static<typeof RetentionPolicies>;
export const RetentionPoliciesView = Open(
  { rules: RetentionPolicies.properties.rules, version: Type.Integer({ description: '0: none set' }) },
  'The retention policies in force',
);
