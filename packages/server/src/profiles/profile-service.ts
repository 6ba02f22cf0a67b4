import { fromPublicId, toPublicId } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import { loadMergeGraph, mergesHolding } from '../identity/merge-graph.js';
import { normaliseIdentifier } from '../identity/normalise-identifier.js';
import type { MergeRow } from '../identity/ports.js';
import { loadIdentityRules } from '../identity/rules.js';
import type { Stores } from '../storage/storage.js';
import { goldenRecord, type TraitProvenance } from './golden-record.js';
import type { ConsentRow, EventRow, HistoryRow, ProfileRow } from './ports.js';
import { loadSurvivorship, loadSurvivorshipAt } from './survivorship-rules.js';
import { traitOrigins } from './trait-origins.js';
import { rowsAsOf } from './traits-as-of.js';

export interface ProfileView {
  id: string;
  /** The golden record: each trait's value chosen by its survivorship rule. */
  traits: Record<string, unknown>;
  /** Per trait, the observation its rule chose. */
  traitSources: Record<string, TraitSourceView>;
  identities: { type: string; value: string }[];
  createdAt: string;
  updatedAt: string;
  /** Ids merged into this profile. */
  mergedIds: string[];
  consents: { purpose: string; granted: boolean; legalBasis: string; since: string }[];
  asOf?: string;
  knownAt?: string;
}

export interface TraitSourceView {
  rule: TraitProvenance['rule'];
  settingsVersion: number;
  sourceId: string;
  eventId: string | null;
  observedAt: string;
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
  /** The stored row of a public id (merged or not); 404 when there is none. */
  async function knownRow(publicId: string): Promise<ProfileRow> {
    const uuid = fromPublicId('profile', publicId);
    const [row] = uuid ? await stores.profiles.get([uuid]) : [];
    if (!row) throw new TesseraError('not_found', 'no such profile');
    return row;
  }
  async function known(publicId: string): Promise<string> {
    return (await knownRow(publicId)).id;
  }
  async function survivorOf(uuid: string): Promise<string> {
    return (await stores.identities.resolve([uuid])).get(uuid) ?? uuid;
  }

  /**
   * The golden record of profile `id` and its family: now (the profile row's values), or at `asOf` as known at
   * `knownAt` (the history's values, and the survivorship version in force at `knownAt`).
   */
  async function goldenOf(
    id: string,
    family: readonly string[],
    at: { row: ProfileRow; asOf?: number; knownAt?: number; merges?: MergeRow[] },
  ) {
    const { asOf, knownAt } = at;
    const timed = asOf !== undefined || knownAt !== undefined;
    const survivorship =
      knownAt === undefined
        ? await loadSurvivorship(stores.settings)
        : await loadSurvivorshipAt(stores.settings, knownAt);
    const merges = family.length === 1 ? [] : (at.merges ?? (await stores.identities.merges(family)));
    // The history rows holding each profile's values: their sources, followed through merges.
    const rows = new Map<string, Map<string, HistoryRow>>(family.map((p) => [p, new Map()]));
    const readFrom = merges.length > 0 ? family : [id];
    if (timed) {
      const all = await stores.history.all(readFrom);
      for (const p of readFrom)
        rows.set(
          p,
          rowsAsOf(
            all.filter((r) => r.profileId === p),
            asOf ?? clock(),
            knownAt ?? clock(),
          ),
        );
    } else {
      for (const r of await stores.history.current(readFrom)) rows.get(r.profileId)?.set(r.trait, r);
    }
    const origins = traitOrigins(id, (p) => rows.get(p) ?? new Map(), merges);
    const current = new Map<string, { value: unknown; origin?: HistoryRow }>();
    if (timed)
      for (const [trait, r] of rows.get(id) ?? []) current.set(trait, { value: r.value, origin: origins.get(trait) });
    else
      for (const [trait, value] of Object.entries(at.row.traits))
        current.set(trait, { value, origin: origins.get(trait) });
    return goldenRecord(stores, { current, family, survivorship, asOf, knownAt });
  }

  return {
    /** The survivor's bare id and its family (for the sub-resources). */
    async family(publicId: string): Promise<{ id: string; ids: string[] }> {
      const id = await survivorOf(await known(publicId));
      return { id, ids: await stores.identities.family(id) };
    },

    /**
     * A profile as it is now, or valid at `asOf` (event time) as known at `knownAt` (record time). A merged id
     * answers with its survivor unless the merge was not yet valid at `asOf` or not yet recorded at `knownAt`; then
     * it answers with its own pre-merge profile.
     */
    async get(publicId: string, opts: { asOf?: number; knownAt?: number } = {}): Promise<ProfileView> {
      const asked = await knownRow(publicId);
      const uuid = asked.id;
      const survivor = await survivorOf(uuid);
      const { asOf, knownAt } = opts;
      const visible = (validAt: number, recordedAt: number) =>
        (asOf === undefined || validAt <= asOf) && (knownAt === undefined || recordedAt <= knownAt);
      let id = survivor;
      let family: string[];
      let merges: MergeRow[] | undefined;
      if (asOf === undefined && knownAt === undefined) {
        family = await stores.identities.family(survivor);
      } else {
        // Walk the merges one step at a time while each is visible: after A→B (t10) and B→C (t20), A as of t15 is
        // B, not C. A profile's family is every id whose walk ends at it.
        // Unmerges count too: an undone merge holds only as known before its unmerge, and the ids split out since
        // are reached through the merges themselves, not the current redirects.
        const graph = await loadMergeGraph(stores.identities, [survivor]);
        const everyone = graph.ids;
        const mergedInto = mergesHolding(graph.merges, graph.unmerges, { asOf, knownAt });
        const walk = (from: string) => {
          let cur = from;
          for (let m = mergedInto.get(cur); m && visible(m.validAt, m.mergedAt); m = mergedInto.get(cur))
            cur = m.survivorId;
          return cur;
        };
        id = walk(uuid);
        family = [id, ...everyone.filter((x) => x !== id && walk(x) === id)];
        const members = new Set(family);
        merges = [...mergedInto.values()].filter(
          (m) => members.has(m.mergedId) && members.has(m.survivorId) && visible(m.validAt, m.mergedAt),
        );
      }
      const [row] = id === uuid ? [asked] : await stores.profiles.get([id]);
      const identities = (await stores.identities.ofProfiles(family))
        .filter((i) => visible(i.firstSeenAt, i.createdAt))
        .sort((a, b) => a.type.localeCompare(b.type) || a.value.localeCompare(b.value))
        .map(({ type, value }) => ({ type, value }));
      const at = asOf ?? clock();
      const latest = new Map<string, ConsentRow>();
      for (const c of await stores.consents.current(family)) {
        if (c.validFrom <= at && (knownAt === undefined || c.recordedAt <= knownAt)) latest.set(c.purpose, c);
      }
      const consents = [...latest.values()].map((c) => ({
        purpose: c.purpose,
        granted: c.granted,
        legalBasis: c.legalBasis,
        since: iso(c.validFrom),
      }));
      const golden = await goldenOf(id, family, { row, asOf, knownAt, merges });
      return {
        id: toPublicId('profile', id),
        traits: golden.traits,
        traitSources: Object.fromEntries(
          Object.entries(golden.sources).map(([trait, p]) => [
            trait,
            {
              rule: p.rule,
              settingsVersion: p.settingsVersion,
              sourceId: toPublicId('source', p.sourceId),
              eventId: p.eventId === null ? null : toPublicId('event', p.eventId),
              observedAt: iso(p.observedAt),
            },
          ]),
        ),
        identities,
        createdAt: iso(row.createdAt),
        updatedAt: iso(row.updatedAt),
        mergedIds: family.filter((f) => f !== id).map((f) => toPublicId('profile', f)),
        consents,
        ...(asOf !== undefined ? { asOf: iso(asOf) } : {}),
        ...(knownAt !== undefined ? { knownAt: iso(knownAt) } : {}),
      };
    },

    /**
     * Profiles (survivors) whose stored traits or identifiers contain `q`, by id, with their golden traits. The
     * search reads the stored (most recent) values; the answer shows the golden ones.
     */
    async search(q: string, opts: { limit: number; after?: string }): Promise<ProfileRow[]> {
      const found = await stores.profiles.search(q, opts);
      const survivorship = await loadSurvivorship(stores.settings);
      if (!survivorship.observations) return found;
      const out: ProfileRow[] = [];
      for (const row of found) {
        const family = await stores.identities.family(row.id);
        const current = new Map(Object.entries(row.traits).map(([trait, value]) => [trait, { value }]));
        const golden = await goldenRecord(stores, { current, family, survivorship });
        out.push({ ...row, traits: golden.traits });
      }
      return out;
    },

    /** The profile holding an identifier (normalised like the pipeline does). */
    async byIdentifier(type: string, value: string): Promise<ProfileView> {
      const { rules } = await loadIdentityRules(stores.settings);
      const n = normaliseIdentifier(type, value, rules.defaultPhoneRegion);
      if (!n.ok) throw new TesseraError('not_found', `no profile with that ${type}`);
      const [row] = await stores.identities.find([{ type, value: n.value }]);
      if (!row) throw new TesseraError('not_found', `no profile with that ${type}`);
      return this.get(toPublicId('profile', row.profileId));
    },
  };
}

export type ProfileService = ReturnType<typeof createProfileService>;
