/**
 * Public id prefixes. Ids are UUIDv7 stored bare in SQL; the prefix exists only at the API / TypeScript boundary
 * (DESIGN §9, STYLE #7).
 */
export const ID_PREFIXES = {
  profile: 'prof',
  event: 'evt',
  source: 'src',
  account: 'acct',
  merge: 'mrg',
  quarantine: 'qua',
  token: 'tok',
  change: 'chg',
  decision: 'idd',
  review: 'rev',
  unmerge: 'unm',
  destination: 'dst',
  delivery: 'dlv',
  privacy: 'dsr',
  user: 'usr',
  audit: 'aud',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

declare const brand: unique symbol;
/** A prefixed public id; `Id<'profile'>` cannot be passed where `Id<'event'>` is expected. */
export type Id<K extends IdKind> = string & { readonly [brand]: K };

export type ProfileId = Id<'profile'>;
export type EventId = Id<'event'>;
export type SourceId = Id<'source'>;
export type AccountId = Id<'account'>;

/** Adds the kind's prefix to a bare UUID. */
export function toPublicId<K extends IdKind>(kind: K, uuid: string): Id<K> {
  return `${ID_PREFIXES[kind]}_${uuid}` as Id<K>;
}

/** Strips and checks the prefix; returns `undefined` when the id is not of that kind. */
export function fromPublicId(kind: IdKind, id: string): string | undefined {
  const prefix = `${ID_PREFIXES[kind]}_`;
  if (!id.startsWith(prefix)) return undefined;
  const uuid = id.slice(prefix.length);
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uuid) ? uuid : undefined;
}
