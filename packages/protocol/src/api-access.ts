import { type Static, Type } from '@sinclair/typebox';
import { IsoTime, Nullable, Open, Page, PublicId } from './api.js';

/** Wire schemas of users, sessions, API tokens and the audit log (DESIGN §8, `docs/access-control.md`). */

export const ROLE_NAMES = ['admin', 'marketer', 'analyst', 'dpo'] as const;
const RoleList = Type.Array(Type.Union(ROLE_NAMES.map((r) => Type.Literal(r))), {
  minItems: 1,
  maxItems: 4,
  uniqueItems: true,
  description: 'admin, marketer, analyst, dpo',
});
const Password = Type.String({ minLength: 10, maxLength: 200, description: '10 to 200 characters' });
const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$' });

/** `POST /v1/users`. */
export const UserCreate = Type.Object(
  { email: Email, name: Type.String({ minLength: 1, maxLength: 200 }), password: Password, roles: RoleList },
  { additionalProperties: false },
);
export type UserCreate = Static<typeof UserCreate>;

/** `PATCH /v1/users/{id}`: any of the fields. */
export const UserPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    password: Type.Optional(Password),
    roles: Type.Optional(RoleList),
    disabled: Type.Optional(Type.Boolean({ description: 'true: no sign-in, sessions and tokens stop working' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UserPatch = Static<typeof UserPatch>;

export const UserView = Open({
  id: PublicId('user'),
  email: Type.String(),
  name: Type.String(),
  roles: Type.Array(Type.String()),
  createdAt: IsoTime,
  updatedAt: IsoTime,
  disabled: Type.Boolean(),
});
export const UserList = Open({ items: Type.Array(UserView) });

/** `POST /v1/sessions`: sign in. */
export const SessionCreate = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
export type SessionCreate = Static<typeof SessionCreate>;

/** `GET /v1/me`: who the credential is, and what it may do. */
export const MeView = Open({
  kind: Type.String({ description: '`session` (a signed-in user) or `token`' }),
  user: Nullable(UserView),
  tokenId: Nullable(PublicId('token')),
  roles: Type.Array(Type.String()),
  permissions: Type.Array(Type.String(), { description: 'the permission table entries these roles hold' }),
  seesPii: Type.Boolean(),
});

export const SessionView = Open({
  me: MeView,
  expiresAt: IsoTime,
  token: Type.String({ description: 'the session token, also set as the `tessera_session` cookie; shown once' }),
});

/** `POST /v1/tokens`. */
export const TokenCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    roles: RoleList,
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);
export type TokenCreate = Static<typeof TokenCreate>;

export const TokenView = Open({
  id: PublicId('token'),
  name: Type.String(),
  roles: Type.Array(Type.String()),
  userId: Nullable(PublicId('user')),
  createdAt: IsoTime,
  expiresAt: Nullable(IsoTime),
  revokedAt: Nullable(IsoTime),
  token: Type.Optional(Type.String({ description: 'the secret, in the creation answer only' })),
});
export const TokenList = Open({ items: Type.Array(TokenView) });

export const AuditEntryView = Open({
  id: PublicId('audit'),
  at: IsoTime,
  actor: Type.String({ description: '`usr_…` or `tok_…`' }),
  action: Type.String({ description: '`profile.read`, or the method and route of a change' }),
  route: Type.String(),
  status: Type.Integer(),
  profileId: Nullable(PublicId('profile')),
  target: Nullable(Type.String({ description: 'the path parameters of the call (ids)' })),
});
export const AuditPage = Page(AuditEntryView, 'Audited actions, newest first');

export const PII_CLASS_NAMES = ['email', 'phone', 'name', 'address', 'ip', 'birthdate', 'other'] as const;

/** `PUT /v1/settings/pii-classes`: field names and their class (`none` turns a default off). */
export const PiiClasses = Type.Object(
  {
    fields: Type.Record(
      Type.String({ minLength: 1, maxLength: 200 }),
      Type.Union([...PII_CLASS_NAMES, 'none' as const].map((c) => Type.Literal(c))),
      { maxProperties: 500, description: 'trait, property or context field name → class, or `none`' },
    ),
  },
  { additionalProperties: false },
);
export type PiiClasses = Static<typeof PiiClasses>;

export const PiiClassesView = Open({
  fields: Type.Record(Type.String(), Type.String()),
  version: Type.Integer({ description: '0: never saved (the defaults alone)' }),
  defaults: Type.Record(Type.String(), Type.String(), {
    description: 'the built-in classes, by normalised field name (lower case, letters and digits)',
  }),
});
