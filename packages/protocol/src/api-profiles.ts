import { type Static, Type } from '@sinclair/typebox';
import { IsoTime, JsonObject, Nullable, Open, Page, PublicId } from './api.js';
import { TraitSource } from './survivorship.js';

/** Wire schemas of the profile API (`/v1/profiles…`, DESIGN §9). */

const Identifier = Open({ type: Type.String(), value: Type.String() });

/** One line of `GET /v1/profiles`. */
export const ProfileSummary = Open({
  id: PublicId('profile'),
  traits: JsonObject,
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type ProfileSummary = Static<typeof ProfileSummary>;

export const ProfilePage = Page(ProfileSummary, 'Profiles (survivors) matching `q`, by id');
export type ProfilePage = Static<typeof ProfilePage>;

/** A profile, now or valid at `asOf` as known at `knownAt` (bitemporal, DESIGN §5). */
export const ProfileView = Open(
  {
    id: PublicId('profile'),
    traits: JsonObject,
    traitSources: Type.Record(Type.String(), TraitSource, {
      description:
        'per trait, the observation its survivorship rule chose (a trait with no recorded observation has none)',
    }),
    identities: Type.Array(Identifier),
    createdAt: IsoTime,
    updatedAt: IsoTime,
    mergedIds: Type.Array(PublicId('profile'), { description: 'ids merged into this profile' }),
    consents: Type.Array(
      Open({ purpose: Type.String(), granted: Type.Boolean(), legalBasis: Type.String(), since: IsoTime }),
    ),
    asOf: Type.Optional(IsoTime),
    knownAt: Type.Optional(IsoTime),
  },
  'The profile (a merged id answers with its survivor)',
);
export type ProfileView = Static<typeof ProfileView>;

/** A stored event. `event` is set for `track`, `name` for `page` / `screen`. */
export const EventView = Open({
  id: PublicId('event'),
  type: Type.String(),
  event: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  messageId: Type.String(),
  timestamp: IsoTime,
  receivedAt: IsoTime,
  sourceId: PublicId('source'),
  profileId: PublicId('profile'),
  userId: Nullable(Type.String()),
  anonymousId: Nullable(Type.String()),
  properties: JsonObject,
  traits: JsonObject,
  context: JsonObject,
});
export type EventView = Static<typeof EventView>;

export const EventPage = Page(EventView, 'Events of the profile and of the profiles merged into it, newest first');
export type EventPage = Static<typeof EventPage>;

export const IdentityView = Open({
  type: Type.String(),
  value: Type.String(),
  sourceId: PublicId('source'),
  firstSeenAt: IsoTime,
  linkedTo: PublicId('profile'),
});
export type IdentityView = Static<typeof IdentityView>;

export const IdentityPage = Page(IdentityView, 'Identifiers of the profile and of the profiles merged into it');
export type IdentityPage = Static<typeof IdentityPage>;

/** One interval of a trait's value: valid time `[validFrom, validTo)`, record time `[recordedAt, supersededAt)`. */
export const TraitInterval = Open({
  trait: Type.String(),
  value: Type.Unknown(),
  validFrom: IsoTime,
  validTo: Nullable(IsoTime),
  recordedAt: IsoTime,
  supersededAt: Nullable(IsoTime),
  sourceId: PublicId('source'),
  eventId: Nullable(PublicId('event')),
});
export type TraitInterval = Static<typeof TraitInterval>;

export const HistoryPage = Page(TraitInterval, 'Trait history of the profile (superseded rows too)');
export type HistoryPage = Static<typeof HistoryPage>;

/** An unmerge (DESIGN §4): `profileId` and what was merged into it split back out of `survivorId`. */
export const UnmergeView = Open(
  {
    id: PublicId('unmerge'),
    profileId: PublicId('profile'),
    survivorId: PublicId('profile'),
    mergeId: PublicId('merge'),
    unmergedAt: IsoTime,
    decidedBy: Type.String({ description: 'who asked for it: the API token (`tok_…`)' }),
    reason: Type.String(),
    settingsVersion: Type.Integer(),
  },
  'An unmerge: `profileId` (and what was merged into it) split out of `survivorId`, the survivor of merge ' +
    '`mergeId`. It writes overrides (redirects, golden records); stored rows keep their profile ids.',
);
export type UnmergeView = Static<typeof UnmergeView>;

export const MergeView = Open({
  id: PublicId('merge'),
  survivorId: PublicId('profile'),
  mergedId: PublicId('profile'),
  mergedAt: IsoTime,
  validAt: IsoTime,
  rule: Type.String({ description: '`deterministic`, `probabilistic`, `review_accept`…' }),
  evidence: Type.Unknown(),
  settingsVersion: Type.Integer(),
  /** When an unmerge undid it; null while it holds. */
  unmergedAt: Nullable(IsoTime),
});
export type MergeView = Static<typeof MergeView>;

/** An identity decision: an identifier dropped, blocked or refused, or a merge a guard stopped. */
export const DecisionView = Open({
  id: PublicId('decision'),
  kind: Type.String({ description: '`drop`, `blocked`, `refused` or `guard`' }),
  identifier: Nullable(Open({ type: Type.String(), value: Nullable(Type.String()) })),
  reason: Type.String(),
  evidence: Type.Unknown(),
  eventId: Nullable(PublicId('event')),
  settingsVersion: Type.Integer(),
  createdAt: IsoTime,
});
export type DecisionView = Static<typeof DecisionView>;

export const MergesPage = Open(
  {
    items: Type.Array(MergeView),
    decisions: Type.Array(DecisionView),
    unmerges: Type.Array(UnmergeView),
    nextCursor: Nullable(Type.String()),
  },
  'Merges into the profile (undone ones too), identity decisions about it, and its unmerges',
);
export type MergesPage = Static<typeof MergesPage>;

export const AccountView = Open({
  id: PublicId('account'),
  groupId: Type.String(),
  traits: JsonObject,
  linkedAt: IsoTime,
  updatedAt: IsoTime,
});
export type AccountView = Static<typeof AccountView>;

export const AccountPage = Page(AccountView, 'Accounts (groups) the profile belongs to');
export type AccountPage = Static<typeof AccountPage>;
