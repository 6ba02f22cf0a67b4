import { isDeepStrictEqual } from 'node:util';
import { TesseraError } from '../errors.js';
import { type Normalised, normaliseIdentifier } from '../identity/normalise-identifier.js';
import { type IdentityRules, loadIdentityRules } from '../identity/rules.js';
import { newUuid } from '../ids.js';
import type { HistoryRow, ProfileRow } from '../profiles/ports.js';
import type { Storage, Stores } from '../storage/storage.js';
import { findPerson } from './erase-person.js';
import { normaliseKey } from './mentions.js';
import { REDACTED_TABLES, type RectificationTarget, type RedactedTable } from './ports.js';

/**
 * The source id of trait-history rows a rectification writes (no source sent them); their `eventId` is the
 * request's id, so `evt_X` in a history row is the correction `dsr_X`.
 */
export const CORRECTION_SOURCE_ID = '00000000-0000-7000-8000-000000000001';

/** Trait name → its corrected value, or null to remove the trait. */
export type Corrections = Record<string, unknown>;

/** What a rectification did (the request's proof: counts and trait names, never a value). */
export interface RectificationReport {
  found: boolean;
  /** Profiles of the person (the survivor and those merged into it). */
  profiles: number;
  /** Profiles whose current traits changed. */
  profilesTouched: number;
  /** The corrected traits, by name. */
  traits: string[];
  /** Earlier trait-history rows whose wrong value was replaced. */
  historyRowsRewritten: number;
  /** Trait-history rows written to record the correction (source `correction`). */
  correctionRows: number;
  /** Identifier rows given their corrected value, or removed. */
  identifiersChanged: number;
  /** Rows whose raw payload lost a wrong value, per table. */
  redacted: Record<RedactedTable, number>;
}

/** The trait names the identity graph reads as identifiers: e-mail, phone and the configured types. */
function identifierTraits(rules: IdentityRules): Set<string> {
  return new Set(
    ['email', 'phone', ...Object.keys(rules.types)].filter((t) => t !== 'user_id' && t !== 'anonymous_id'),
  );
}

/**
 * Checks the corrections of identifier traits as identity resolution would read them (an e-mail must be one):
 * answers the normalised value per trait, or throws `invalid_request` naming `corrections.<trait>`.
 */
export async function checkCorrections(tx: Stores, corrections: Corrections): Promise<Map<string, string | null>> {
  const { rules } = await loadIdentityRules(tx.settings);
  const ids = identifierTraits(rules);
  const out = new Map<string, string | null>();
  for (const [trait, value] of Object.entries(corrections)) {
    if (!ids.has(trait)) continue;
    if (value === null) {
      out.set(trait, null);
      continue;
    }
    const n = normaliseIdentifier(trait, value, rules.defaultPhoneRegion);
    if (!n.ok) throw new TesseraError('invalid_request', `corrections.${trait}: not a valid ${trait} (${n.reason})`);
    out.set(trait, n.value);
  }
  return out;
}

/**
 * Rectifies the person an identifier names (GDPR art. 16, DESIGN §8, docs/privacy.md "Rectification"), in one write
 * transaction: for each corrected trait, the values the person's profiles hold now and that differ from the
 * correction are the wrong ones.
 * - every trait-history row of the trait holding a wrong value gets the corrected value (null for a removal), its
 *   times kept: no `asOf` / `knownAt` read shows the wrong value again;
 * - each profile holding a wrong value (and the survivor) gets the corrected value, or loses the trait, recorded as
 *   a history row of source {@link CORRECTION_SOURCE_ID} whose event id is the request's, valid from now;
 * - an identifier trait (e-mail, phone, configured types) moves the identifier row to the normalised corrected value
 *   (removed for null); when another person holds that value the request fails (`conflict`) and nothing is written;
 * - every raw copy of a wrong string value (ingest log, events, quarantine, delivery payloads) of the person becomes
 *   `"[rectified]"` (`ErasureStore.redact`: whole JSON strings only, like an erasure's matching);
 * - a `profile.traits_changed` change is published and the audiences re-check the person.
 */
export async function rectifyPerson(
  storage: Storage,
  identifier: { type: string; value: string },
  corrections: Corrections,
  requestId: string,
  now: number,
): Promise<RectificationReport> {
  const traits = Object.keys(corrections);
  const redacted = Object.fromEntries(REDACTED_TABLES.map((t) => [t, 0])) as Record<RedactedTable, number>;
  return storage.transaction(
    async (tx) => {
      const person = await findPerson(tx, identifier);
      const report: RectificationReport = {
        found: person.survivorId !== undefined,
        profiles: person.family.length,
        profilesTouched: 0,
        traits,
        historyRowsRewritten: 0,
        correctionRows: 0,
        identifiersChanged: 0,
        redacted,
      };
      const survivorId = person.survivorId;
      if (survivorId === undefined) return report;
      const family = person.family;
      const normalised = await checkCorrections(tx, corrections);
      const { rules } = await loadIdentityRules(tx.settings);
      await tx.profiles.lock(family);
      const profiles = await tx.profiles.get(family);
      // Read before any identifier moves: the raw calls naming one of these are the person's.
      const identities = await tx.identities.ofProfiles(family);
      const events = await tx.events.list({ profileIds: family, limit: Number.MAX_SAFE_INTEGER });
      const wrongStrings = new Set<string>();
      const touched = new Set<ProfileRow>();
      for (const trait of traits) {
        const value = corrections[trait];
        const wrong = distinct(
          profiles.flatMap((p) =>
            Object.hasOwn(p.traits, trait) && !isDeepStrictEqual(p.traits[trait], value) ? [p.traits[trait]] : [],
          ),
        );
        for (const w of wrong) if (typeof w === 'string' && w.length > 0) wrongStrings.add(w);
        const history = await tx.history.all(family, { trait });
        const stale = history.filter((r) => wrong.some((w) => isDeepStrictEqual(r.value, w)));
        report.historyRowsRewritten += await tx.erasure.rewriteHistory(stale, value);
        for (const p of profiles) {
          const holds = Object.hasOwn(p.traits, trait);
          if (p.id !== survivorId && !holds) continue;
          if (value === null ? !holds : holds && isDeepStrictEqual(p.traits[trait], value)) continue;
          await recordCorrection(tx, p.id, trait, value, requestId, now);
          report.correctionRows++;
          if (value === null) delete p.traits[trait];
          else defineOwn(p.traits, trait, value);
          // Later than any observation so far: an older event arriving now is a late one and does not undo it.
          defineOwn(p.traitTimes, trait, now);
          touched.add(p);
        }
        if (normalised.has(trait)) {
          const to = normalised.get(trait) ?? null;
          for (const w of wrong) {
            const from = normaliseIdentifier(trait, w, rules.defaultPhoneRegion);
            if (!from.ok || from.value === to) continue;
            if (typeof w === 'string' && w !== from.value) wrongStrings.add(from.value);
            report.identifiersChanged += await relink(tx, trait, from, to, family);
          }
        }
      }
      for (const p of touched) await tx.profiles.update(p.id, p.traits, p.traitTimes, now);
      report.profilesTouched = touched.size;
      const target: RectificationTarget = {
        profileIds: family,
        logPositions: events.map((e) => e.logPosition),
        identifiers: [...new Set([person.value, ...identities.map((i) => i.value)])],
        values: [...wrongStrings],
        keys: traits.map(normaliseKey),
      };
      for (const table of REDACTED_TABLES) redacted[table] = await tx.erasure.redact(table, target);
      if (touched.size > 0) {
        await tx.changes.publish(
          [...touched].map((p) => ({
            id: newUuid(),
            kind: 'profile.traits_changed',
            profileId: p.id,
            payload: { profileId: p.id, traits, correction: requestId },
            createdAt: now,
          })),
        );
        await tx.memberships.recheckBy([{ profileId: survivorId, dueAt: now }]);
      }
      return report;
    },
    { write: true },
  );
}

/** Closes the trait's open interval at `now` and opens the corrected one, of source `correction`. */
async function recordCorrection(
  tx: Stores,
  profileId: string,
  trait: string,
  value: unknown,
  requestId: string,
  now: number,
): Promise<void> {
  const open = (await tx.history.intervals([profileId], trait)).find((r) => r.validTo === null);
  if (open && open.validFrom >= now) await tx.history.supersede([open.id], now);
  else if (open) await tx.history.close([open.id], now);
  const row: HistoryRow = {
    id: newUuid(),
    profileId,
    trait,
    value,
    validFrom: now,
    validTo: null,
    recordedAt: now,
    supersededAt: null,
    sourceId: CORRECTION_SOURCE_ID,
    eventId: requestId,
  };
  await tx.history.insert([row]);
}

/** Moves the person's identifier `from` to `to` (removes it for null); refuses a value another person holds. */
async function relink(
  tx: Stores,
  type: string,
  from: Normalised & { ok: true },
  to: string | null,
  family: readonly string[],
): Promise<number> {
  if (to === null) return tx.erasure.relinkIdentifier(type, from.value, null, family);
  await tx.identities.lock([
    { type, value: from.value },
    { type, value: to },
  ]);
  const [holder] = await tx.identities.find([{ type, value: to }]);
  if (holder && !family.includes(holder.profileId))
    throw new TesseraError('conflict', `corrections.${type}: another person holds this ${type}`);
  // The person already holds the corrected value too: the wrong one just goes.
  return tx.erasure.relinkIdentifier(type, from.value, holder ? null : to, family);
}

function distinct(values: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const v of values) if (!out.some((o) => isDeepStrictEqual(o, v))) out.push(v);
  return out;
}

/** Sets an own property, even `__proto__` (a trait named so is data, not a prototype). */
function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
