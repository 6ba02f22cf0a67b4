import { toPublicId } from '@tessera/protocol';
import type { MembershipRow, RfmRow } from '../audiences/ports.js';
import type { Change } from '../bus/ports.js';
import type { DeliveryRow, MessageRow } from '../destinations/ports.js';
import { publicMessage } from '../destinations/public-message.js';
import { TesseraError } from '../errors.js';
import { toDecisionView, toMergeView, toUnmergeView } from '../identity/identity-views.js';
import { undoneBy } from '../identity/merge-graph.js';
import type { IdentityRow, MatchDecisionRow, ReviewRow } from '../identity/ports.js';
import type { QuarantineRow } from '../ingest/ports.js';
import type { AccountRow, ConsentRow, EventRow, HistoryRow } from '../profiles/ports.js';
import { toEventView } from '../profiles/profile-service.js';
import type { PersonOwnedTable } from '../storage/schema.js';
import type { Stores } from '../storage/storage.js';

/**
 * The data-subject access request (DESIGN §8, `docs/privacy.md`): one JSON document of everything held about a
 * person. The person is a survivor profile and every profile merged into it; each section lists the rows of that
 * family, with public ids (`prof_…`, `evt_…`) and ISO 8601 times, sorted so that two bundles of the same data are
 * equal. Rows keep the profile id they were stored under (`profileId`).
 */

const PAGE = 1000;
const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : iso(ms));
const prof = (id: string) => toPublicId('profile', id);
const src = (id: string) => toPublicId('source', id);
const evt = (id: string | null) => (id === null ? null : toPublicId('event', id));
/** Orders strings by code unit (not locale): the same order on every machine. */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A raw payload parsed, or its text when it does not parse (null when the log no longer holds it). */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const historyEntry = (h: HistoryRow) => ({
  trait: h.trait,
  value: h.value,
  profileId: prof(h.profileId),
  validFrom: iso(h.validFrom),
  validTo: isoOrNull(h.validTo),
  recordedAt: iso(h.recordedAt),
  supersededAt: isoOrNull(h.supersededAt),
  sourceId: src(h.sourceId),
  eventId: evt(h.eventId),
});

const identityEntry = (i: IdentityRow) => ({
  type: i.type,
  value: i.value,
  profileId: prof(i.profileId),
  sourceId: src(i.sourceId),
  eventId: evt(i.eventId),
  firstSeenAt: iso(i.firstSeenAt),
});

const eventEntry = (e: EventRow, raw: string | undefined) => ({
  ...toEventView(e),
  logPosition: e.logPosition,
  /** The call as the tracking API logged it (`ingest_log`): parsed JSON, its text if it does not parse. */
  raw: raw === undefined ? null : parsed(raw),
});

const quarantineEntry = (q: QuarantineRow) => ({
  id: toPublicId('quarantine', q.id),
  sourceId: src(q.sourceId),
  receivedAt: iso(q.receivedAt),
  code: q.code,
  reason: q.reason,
  messageId: q.messageId,
  status: q.status,
  replayedAt: isoOrNull(q.replayedAt),
  payload: parsed(q.payload),
});

const consentEntry = (c: ConsentRow) => ({
  purpose: c.purpose,
  granted: c.granted,
  legalBasis: c.legalBasis,
  profileId: prof(c.profileId),
  validFrom: iso(c.validFrom),
  recordedAt: iso(c.recordedAt),
  supersededAt: isoOrNull(c.supersededAt),
  sourceId: src(c.sourceId),
  eventId: evt(c.eventId),
});

const accountEntry = (a: AccountRow & { linkedAt: number }) => ({
  id: toPublicId('account', a.id),
  groupId: a.groupId,
  traits: a.traits,
  linkedAt: iso(a.linkedAt),
  updatedAt: iso(a.updatedAt),
});

const audienceEntry = (m: MembershipRow) => ({
  audience: m.audienceKey,
  profileId: prof(m.profileId),
  enteredAt: iso(m.enteredAt),
  enteredVersion: m.enteredVersion,
  exitedAt: isoOrNull(m.exitedAt),
  exitedVersion: m.exitedVersion,
  exitReason: m.exitReason,
});

/** A review item without its evidence: a match's evidence holds the other profile's values too. */
const reviewEntry = (r: ReviewRow) => ({
  id: toPublicId('review', r.id),
  kind: r.kind,
  status: r.status,
  reason: r.reason,
  profileId: r.profileId === null ? null : prof(r.profileId),
  createdAt: iso(r.createdAt),
  decidedAt: isoOrNull(r.decidedAt),
});

const matchDecisionEntry = (m: MatchDecisionRow) => ({
  profileId: prof(m.profileId),
  otherId: prof(m.otherId),
  decision: m.decision,
  origin: m.origin,
  decidedAt: iso(m.decidedAt),
});

const deliveryEntry = (r: DeliveryRow) => ({
  id: toPublicId('delivery', r.id),
  destinationId: toPublicId('destination', r.destinationId),
  profileId: prof(r.profileId),
  kind: r.kind,
  status: r.status,
  reason: r.reason,
  attempts: r.attempts,
  createdAt: iso(r.createdAt),
  finishedAt: isoOrNull(r.finishedAt),
  message: publicMessage(r.payload),
});

const messageEntry = (m: MessageRow) => ({
  channel: m.channel,
  profileId: prof(m.profileId),
  at: iso(m.at),
  origin: m.origin,
  destinationId: m.destinationId === null ? null : toPublicId('destination', m.destinationId),
  deliveryId: m.deliveryId === null ? null : toPublicId('delivery', m.deliveryId),
});

const rfmEntry = (r: RfmRow) => ({
  profileId: prof(r.profileId),
  lastAt: iso(r.lastAt),
  frequency: r.frequency,
  monetary: r.monetary,
  r: r.r,
  f: r.f,
  m: r.m,
  segment: r.segment,
  computedAt: iso(r.computedAt),
});

const changeEntry = (c: Change) => ({
  id: toPublicId('change', c.id),
  kind: c.kind,
  profileId: prof(c.profileId),
  createdAt: iso(c.createdAt),
});

/** Everything held about one person (see the module comment); `bundleCoverage` maps each table to its section. */
export interface AccessBundle {
  generatedAt: string;
  profile: {
    id: string;
    createdAt: string;
    updatedAt: string;
    /** The stored current traits of the survivor. */
    traits: Record<string, unknown>;
    /** The profiles merged into it. */
    mergedIds: string[];
  };
  traitHistory: ReturnType<typeof historyEntry>[];
  identities: ReturnType<typeof identityEntry>[];
  events: ReturnType<typeof eventEntry>[];
  quarantine: ReturnType<typeof quarantineEntry>[];
  consents: ReturnType<typeof consentEntry>[];
  accounts: ReturnType<typeof accountEntry>[];
  audiences: ReturnType<typeof audienceEntry>[];
  merges: ReturnType<typeof toMergeView>[];
  unmerges: (ReturnType<typeof toUnmergeView> & { evidence: unknown })[];
  identityDecisions: (ReturnType<typeof toDecisionView> & { profileId: string | null })[];
  reviews: ReturnType<typeof reviewEntry>[];
  matchDecisions: ReturnType<typeof matchDecisionEntry>[];
  deliveries: ReturnType<typeof deliveryEntry>[];
  messages: ReturnType<typeof messageEntry>[];
  rfm: ReturnType<typeof rfmEntry>[];
  changes: ReturnType<typeof changeEntry>[];
}

/**
 * Where the bundle reports each person-owned table (`PERSON_OWNED_TABLES`), or why it does not (`not reported: …`).
 * A table added to that list without an entry here does not compile.
 */
export const bundleCoverage: Readonly<Record<PersonOwnedTable, string>> = {
  profiles: 'profile',
  profile_redirects: 'profile.mergedIds (and merges)',
  trait_history: 'traitHistory',
  identities: 'identities',
  events: 'events',
  ingest_log: 'events[].raw (the raw payload of each event); quarantine[].payload for refused calls',
  processed_messages: 'events[].messageId: the message ids of the events, listed under events',
  quarantine: 'quarantine (rows whose payload carries one of the identifier values of the person)',
  consents: 'consents',
  profile_accounts: 'accounts',
  audience_memberships: 'audiences',
  audience_rechecks: 'not reported: when audience conditions are next evaluated, a schedule holding no data',
  merges: 'merges',
  unmerges: 'unmerges',
  identity_decisions: 'identityDecisions',
  identity_review: 'reviews (without evidence, which holds the other profile of a match too)',
  match_decisions: 'matchDecisions',
  deliveries: 'deliveries',
  messages: 'messages',
  rfm_scores: 'rfm',
  changes: 'changes',
  audit_log: 'not reported: staff reads of the profile, an accountability record kept without the person once erased',
};

/** Every event of the family, oldest first. */
async function allEvents(storage: Stores, family: readonly string[]): Promise<EventRow[]> {
  const out: EventRow[] = [];
  let before: { timestamp: number; id: string } | undefined;
  for (;;) {
    const page = await storage.events.list({ profileIds: family, limit: PAGE, before });
    out.push(...page);
    const last = page.at(-1);
    if (page.length < PAGE || !last) break;
    before = { timestamp: last.timestamp, id: last.id };
  }
  return out.sort((a, b) => a.timestamp - b.timestamp || cmp(a.messageId, b.messageId) || cmp(a.id, b.id));
}

/** The raw payloads at these ingest log positions, read by runs of consecutive positions. */
async function rawPayloads(storage: Stores, positions: readonly number[]): Promise<Map<number, string>> {
  const sorted = [...new Set(positions)].sort((a, b) => a - b);
  const out = new Map<number, string>();
  for (let i = 0; i < sorted.length; ) {
    const first = sorted[i] as number;
    let n = 1;
    while (i + n < sorted.length && sorted[i + n] === first + n) n++;
    for (const entry of await storage.log.read(first - 1, n)) out.set(entry.position, entry.payload);
    i += n;
  }
  return out;
}

/** The string values anywhere in a JSON value, lower-cased. */
function stringsOf(value: unknown, out: Set<string>): Set<string> {
  if (typeof value === 'string') out.add(value.trim().toLowerCase());
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) stringsOf(v, out);
  return out;
}

/**
 * The quarantined calls of the person. Quarantine rows carry no profile id (they were never resolved), so this
 * reads every row of the sources that linked one of the person's identifiers or sent one of their events, and keeps
 * those whose payload holds one of the person's identifier values: as a whole string value (case-insensitive) of
 * the parsed payload, or as a substring of a payload that does not parse. Limits: a call that names the person only
 * by a value in another form than the normalised one (a phone number not in E.164, an e-mail with spaces inside)
 * or only by traits is not found; a call from a source the person has no identifier or event of is not found; the
 * whole quarantine of those sources is read.
 */
async function quarantineOf(
  storage: Stores,
  sourceIds: ReadonlySet<string>,
  values: ReadonlySet<string>,
): Promise<QuarantineRow[]> {
  const wanted = [...values].map((v) => v.toLowerCase()).filter((v) => v !== '');
  const mentions = (payload: string) => {
    const body = parsed(payload);
    if (typeof body === 'string') return wanted.some((v) => body.toLowerCase().includes(v));
    const strings = stringsOf(body, new Set());
    return wanted.some((v) => strings.has(v));
  };
  const out: QuarantineRow[] = [];
  for (const sourceId of [...sourceIds].sort(cmp)) {
    let after: string | undefined;
    for (;;) {
      const page = await storage.quarantine.list(sourceId, { limit: PAGE, after });
      out.push(...page.filter((q) => mentions(q.payload)));
      const last = page.at(-1);
      if (page.length < PAGE || !last) break;
      after = last.id;
    }
  }
  return out.sort((a, b) => a.receivedAt - b.receivedAt || cmp(a.id, b.id));
}

/** Every review item opened on a profile of the family. */
async function allReviews(storage: Stores, family: readonly string[]): Promise<ReviewRow[]> {
  const out: ReviewRow[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await storage.identities.reviews({ profileIds: family, limit: PAGE, after });
    out.push(...page);
    const last = page.at(-1);
    if (page.length < PAGE || !last) break;
    after = last.id;
  }
  return out;
}

/** The survivor row of `id` (the survivor of a merged id) and its family, survivor first; 404 when unknown. */
async function familyOf(storage: Stores, id: string) {
  const survivorId = (await storage.identities.resolve([id])).get(id) ?? id;
  const [row] = await storage.profiles.get([survivorId]);
  if (!row) throw new TesseraError('not_found', 'no such profile');
  const family = (await storage.identities.families([survivorId])).get(survivorId) ?? [survivorId];
  return { row, family: [survivorId, ...family.filter((f) => f !== survivorId).sort(cmp)] };
}

/**
 * The access bundle of the person whose survivor profile is `survivorId` (a merged id answers with its survivor),
 * generated at `now`. Reads only; run it in one transaction for a consistent picture. Throws `not_found` when there
 * is no such profile.
 */
export async function buildAccessBundle(storage: Stores, survivorId: string, now: number): Promise<AccessBundle> {
  const { row, family } = await familyOf(storage, survivorId);
  const identities = await storage.identities.ofProfiles(family);
  const events = await allEvents(storage, family);
  const raw = await rawPayloads(
    storage,
    events.map((e) => e.logPosition),
  );
  const quarantine = await quarantineOf(
    storage,
    new Set([...identities.map((i) => i.sourceId), ...events.map((e) => e.sourceId)]),
    new Set(identities.map((i) => i.value)),
  );
  const unmerges = await storage.identities.unmerges(family);
  const undone = undoneBy(unmerges);
  return {
    generatedAt: iso(now),
    profile: {
      id: prof(row.id),
      createdAt: iso(row.createdAt),
      updatedAt: iso(row.updatedAt),
      traits: row.traits,
      mergedIds: family.slice(1).map(prof),
    },
    traitHistory: (await storage.history.all(family))
      .sort(
        (a, b) => cmp(a.trait, b.trait) || a.validFrom - b.validFrom || a.recordedAt - b.recordedAt || cmp(a.id, b.id),
      )
      .map(historyEntry),
    identities: identities.sort((a, b) => cmp(a.type, b.type) || cmp(a.value, b.value)).map(identityEntry),
    events: events.map((e) => eventEntry(e, raw.get(e.logPosition))),
    quarantine: quarantine.map(quarantineEntry),
    consents: (await storage.consents.all(family))
      .sort(
        (a, b) =>
          cmp(a.purpose, b.purpose) || a.validFrom - b.validFrom || a.recordedAt - b.recordedAt || cmp(a.id, b.id),
      )
      .map(consentEntry),
    accounts: (await storage.accounts.ofProfiles(family)).sort((a, b) => cmp(a.groupId, b.groupId)).map(accountEntry),
    audiences: (await storage.memberships.history(family))
      .sort((a, b) => cmp(a.audienceKey, b.audienceKey) || a.enteredAt - b.enteredAt || cmp(a.id, b.id))
      .map(audienceEntry),
    merges: (await storage.identities.merges(family))
      .sort((a, b) => a.mergedAt - b.mergedAt || cmp(a.id, b.id))
      .map((m) => toMergeView(m, undone.get(m.id))),
    unmerges: unmerges
      .sort((a, b) => a.unmergedAt - b.unmergedAt || cmp(a.id, b.id))
      .map((u) => ({ ...toUnmergeView(u), evidence: u.evidence })),
    identityDecisions: (await storage.identities.decisions(family))
      .sort((a, b) => a.createdAt - b.createdAt || cmp(a.id, b.id))
      .map((d) => ({ ...toDecisionView(d), profileId: d.profileId === null ? null : prof(d.profileId) })),
    reviews: (await allReviews(storage, family))
      .sort((a, b) => a.createdAt - b.createdAt || cmp(a.id, b.id))
      .map(reviewEntry),
    matchDecisions: (await storage.identities.matchDecisions(family))
      .sort((a, b) => a.decidedAt - b.decidedAt || cmp(a.id, b.id) || cmp(a.profileId, b.profileId))
      .map(matchDecisionEntry),
    deliveries: (await storage.deliveries.ofProfiles(family))
      .sort((a, b) => a.createdAt - b.createdAt || cmp(a.id, b.id))
      .map(deliveryEntry),
    messages: (await storage.messages.since(family, 0))
      .sort((a, b) => a.at - b.at || cmp(a.id, b.id))
      .map(messageEntry),
    rfm: (await storage.rfm.get(family)).sort((a, b) => cmp(a.profileId, b.profileId)).map(rfmEntry),
    changes: (await storage.changes.ofProfiles(family)).sort((a, b) => a.seq - b.seq).map(changeEntry),
  };
}
