import { type ConsentPurposes, type ConsentSet, fromPublicId, toPublicId } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import { newUuid } from '../ids.js';
import type { ConsentRow } from '../profiles/ports.js';
import type { Storage } from '../storage/storage.js';

/** The versioned setting of the consent purposes (DESIGN §8). */
export const CONSENT_PURPOSES_KEY = 'consent_purposes';

/** The purposes before any is set: those `context.consent.categoryPreferences` usually carries. */
export const DEFAULT_PURPOSES: ConsentPurposes['purposes'] = [
  { key: 'marketing', name: 'Marketing messages', channels: ['email', 'sms', 'push'], legalBasis: 'consent' },
  { key: 'analytics', name: 'Audience measurement', channels: [], legalBasis: 'consent' },
  { key: 'advertising', name: 'Advertising', channels: [], legalBasis: 'consent' },
  { key: 'personalization', name: 'Personalised content', channels: [], legalBasis: 'consent' },
  { key: 'crm', name: 'Customer relationship (CRM)', channels: ['email'], legalBasis: 'legitimate_interests' },
];

/** The source id of consent rows recorded through the API (no source sent them). */
export const API_SOURCE_ID = '00000000-0000-7000-8000-000000000000';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/**
 * Consents through the management API (DESIGN §8): the purposes as a versioned setting, a person's consents now and
 * their whole history, and a decision recorded by staff (a call, a paper form), with its legal basis, as a history
 * row beside those `context.consent` makes, and a `consent.changed` change on the bus. Destinations read the same
 * rows.
 */
export function createConsentService(storage: Storage, clock: () => number = Date.now) {
  async function purposes() {
    const row = await storage.settings.latest(CONSENT_PURPOSES_KEY);
    return {
      purposes: (row?.value as ConsentPurposes | undefined)?.purposes ?? DEFAULT_PURPOSES,
      version: row?.version ?? 0,
    };
  }

  async function survivor(publicId: string) {
    const bare = fromPublicId('profile', publicId);
    if (!bare) throw new TesseraError('invalid_request', `${publicId} is not a profile id (prof_…)`);
    const id = (await storage.identities.resolve([bare])).get(bare) ?? bare;
    const [profile] = await storage.profiles.get([id]);
    if (!profile) throw new TesseraError('not_found', `no profile ${publicId}`);
    const family = (await storage.identities.families([id])).get(id) ?? [id];
    return { id, family: [...new Set([id, ...family])] };
  }

  async function consentsOf(publicId: string) {
    const { id, family } = await survivor(publicId);
    const all = (await storage.consents.all(family)).sort(
      (a, b) => a.validFrom - b.validFrom || a.recordedAt - b.recordedAt || (a.id < b.id ? -1 : 1),
    );
    const now = clock();
    const latest = new Map<string, ConsentRow>();
    for (const c of all) if (c.supersededAt === null && c.validFrom <= now) latest.set(c.purpose, c);
    return {
      profileId: toPublicId('profile', id),
      current: [...latest.values()]
        .sort((a, b) => a.purpose.localeCompare(b.purpose))
        .map((c) => ({ purpose: c.purpose, granted: c.granted, legalBasis: c.legalBasis, since: iso(c.validFrom) })),
      history: all.map((c) => ({
        purpose: c.purpose,
        granted: c.granted,
        legalBasis: c.legalBasis,
        validFrom: iso(c.validFrom),
        recordedAt: iso(c.recordedAt),
        supersededAt: iso(c.supersededAt),
        source: c.sourceId === API_SOURCE_ID ? 'api' : toPublicId('source', c.sourceId),
        eventId: c.eventId === null ? null : toPublicId('event', c.eventId),
      })),
    };
  }

  return {
    purposes,
    async setPurposes(value: ConsentPurposes, by: string) {
      const keys = value.purposes.map((p) => p.key);
      const twice = keys.find((k, i) => keys.indexOf(k) !== i);
      if (twice) throw new TesseraError('invalid_request', `purposes: "${twice}" is listed twice`);
      await storage.transaction((tx) => tx.settings.put(CONSENT_PURPOSES_KEY, value, by, clock()), { write: true });
      return purposes();
    },
    consentsOf,
    /** Records a decision for the person (the survivor of a merged id); answers their consents after it. */
    async set(publicId: string, input: ConsentSet, by: string) {
      const { purposes: known } = await purposes();
      const purpose = known.find((p) => p.key === input.purpose);
      if (!purpose)
        throw new TesseraError(
          'invalid_request',
          `purpose: unknown purpose "${input.purpose}" (known: ${known.map((p) => p.key).join(', ')})`,
        );
      const { id } = await survivor(publicId);
      const now = clock();
      const validFrom = input.validFrom === undefined ? now : Date.parse(input.validFrom);
      const row: ConsentRow = {
        id: newUuid(),
        profileId: id,
        purpose: input.purpose,
        granted: input.granted,
        legalBasis: input.legalBasis ?? (input.granted ? purpose.legalBasis : 'consent'),
        validFrom,
        recordedAt: now,
        supersededAt: null,
        sourceId: API_SOURCE_ID,
        eventId: null,
      };
      await storage.transaction(
        async (tx) => {
          await tx.consents.insert([row]);
          await tx.changes.publish([
            {
              id: newUuid(),
              kind: 'consent.changed',
              profileId: id,
              payload: { profileId: id, purposes: [input.purpose], by },
              createdAt: now,
            },
          ]);
        },
        { write: true },
      );
      return consentsOf(publicId);
    },
  };
}

export type ConsentService = ReturnType<typeof createConsentService>;
