import { fromPublicId, toPublicId } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import { normaliseIdentifier } from '../identity/normalise-identifier.js';
import { DEFAULT_IDENTITY_RULES, IDENTITY_RULES_KEY, type IdentityRules } from '../identity/rules.js';
import type { Stores } from '../storage/storage.js';
import type { EventRow } from './ports.js';
import { traitsAsOf } from './traits-as-of.js';

export interface ProfileView {
  id: string;
  traits: Record<string, unknown>;
  identities: { type: string; value: string }[];
  createdAt: string;
  updatedAt: string;
  /** Ids merged into this profile. */
  mergedIds: string[];
  consents: { purpose: string; granted: boolean; legalBasis: string; since: string }[];
  asOf?: string;
  knownAt?: string;
}

export interface EventView {
  id: string;
  type: string;
  event?: string;
  name?: string;
  messageId: string;
  timestamp: string;
  receivedAt: string;
  sourceId: string;
  profileId: string;
  userId: string | null;
  anonymousId: string | null;
  properties: Record<string, unknown>;
  traits: Record<string, unknown>;
  context: Record<string, unknown>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function toEventView(e: EventRow): EventView {
  return {
    id: toPublicId('event', e.id),
    type: e.type,
    ...(e.type === 'track' ? { event: e.name ?? undefined } : {}),
    ...(e.type === 'page' || e.type === 'screen' ? { name: e.name ?? undefined } : {}),
    messageId: e.messageId,
    timestamp: iso(e.timestamp),
    receivedAt: iso(e.receivedAt),
    sourceId: toPublicId('source', e.sourceId),
    profileId: toPublicId('profile', e.profileId),
    userId: e.userId,
    anonymousId: e.anonymousId,
    properties: e.properties ?? {},
    traits: e.traits ?? {},
    context: e.context ?? {},
  };
}

/** Read side of profiles (DESIGN §5, §9): a merged id answers with its survivor, except `asOf` before the merge. */
export function createProfileService(stores: Stores, clock: () => number = Date.now) {
  /** Bare id of an existing profile; 404 otherwise. */
  async function known(publicId: string): Promise<string> {
    const uuid = fromPublicId('profile', publicId);
    if (!uuid) throw new TesseraError('not_found', 'no such profile');
    if ((await stores.profiles.get([uuid])).length === 0) throw new TesseraError('not_found', 'no such profile');
    return uuid;
  }
  async function survivorOf(uuid: string): Promise<string> {
    return (await stores.identities.resolve([uuid])).get(uuid) ?? uuid;
  }

  return {
    /** The survivor's bare id and its family (for the sub-resources). */
    async family(publicId: string): Promise<{ id: string; ids: string[] }> {
      const id = await survivorOf(await known(publicId));
      return { id, ids: await stores.identities.family(id) };
    },

    async get(publicId: string, opts: { asOf?: number; knownAt?: number } = {}): Promise<ProfileView> {
      const uuid = await known(publicId);
      let id = await survivorOf(uuid);
      if (opts.asOf !== undefined) {
        const mergedAt = await stores.identities.mergedAt(uuid);
        if (mergedAt !== undefined && opts.asOf < mergedAt) id = uuid;
      }
      const [row] = await stores.profiles.get([id]);
      const family = id === uuid && id !== (await survivorOf(uuid)) ? [id] : await stores.identities.family(id);
      const merges = await stores.identities.merges([id]);
      const identities = (await stores.identities.ofProfiles(family))
        .filter((i) => opts.asOf === undefined || i.firstSeenAt <= opts.asOf)
        .sort((a, b) => a.type.localeCompare(b.type) || a.value.localeCompare(b.value))
        .map(({ type, value }) => ({ type, value }));
      const consentRows = await stores.consents.current(family);
      const at = opts.asOf ?? clock();
      const latest = new Map<string, (typeof consentRows)[number]>();
      for (const c of consentRows)
        if (c.validFrom <= at && (!opts.knownAt || c.recordedAt <= opts.knownAt)) latest.set(c.purpose, c);
      const consents = [...latest.values()].map((c) => ({
        purpose: c.purpose,
        granted: c.granted,
        legalBasis: c.legalBasis,
        since: iso(c.validFrom),
      }));
      let traits = row.traits;
      if (opts.asOf !== undefined || opts.knownAt !== undefined) {
        const asOf = opts.asOf ?? clock();
        const knownAt = opts.knownAt ?? clock();
        traits = Object.fromEntries(
          Object.entries(traitsAsOf(await stores.history.all([id]), asOf, knownAt)).map(([k, v]) => [k, v.value]),
        );
      }
      return {
        id: toPublicId('profile', id),
        traits,
        identities,
        createdAt: iso(row.createdAt),
        updatedAt: iso(row.updatedAt),
        mergedIds: merges
          .filter((m) => m.survivorId === id && (opts.asOf === undefined || m.mergedAt <= opts.asOf))
          .map((m) => toPublicId('profile', m.mergedId)),
        consents,
        ...(opts.asOf !== undefined ? { asOf: iso(opts.asOf) } : {}),
        ...(opts.knownAt !== undefined ? { knownAt: iso(opts.knownAt) } : {}),
      };
    },

    /** The profile holding an identifier (normalised like the pipeline does). */
    async byIdentifier(type: string, value: string): Promise<ProfileView> {
      const rules =
        ((await stores.settings.latest(IDENTITY_RULES_KEY))?.value as IdentityRules | undefined) ??
        DEFAULT_IDENTITY_RULES;
      const n = normaliseIdentifier(type, value, rules.defaultPhoneRegion);
      if (!n.ok) throw new TesseraError('not_found', `no profile with that ${type}`);
      const [row] = await stores.identities.find([{ type, value: n.value }]);
      if (!row) throw new TesseraError('not_found', `no profile with that ${type}`);
      return this.get(toPublicId('profile', row.profileId));
    },
  };
}

export type ProfileService = ReturnType<typeof createProfileService>;
