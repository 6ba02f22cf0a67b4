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
        description: '`access` or `erase` (`rectify` is not available yet)',
      },
    ),
    identifier: Type.Object(
      {
        type: Type.String({ minLength: 1, maxLength: 64, description: 'an identifier type: email, phone, user_id…' }),
        value: Type.String({ minLength: 1, maxLength: 512 }),
      },
      { additionalProperties: false },
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
