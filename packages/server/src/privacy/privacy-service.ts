import { createHash } from 'node:crypto';
import { fromPublicId, toPublicId } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import { newUuid } from '../ids.js';
import { errorFields, type Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import { type AccessBundle, buildAccessBundle } from './access-bundle.js';
import { erasePerson, findPerson, type PurgeElsewhere } from './erase-person.js';
import type { SecretProvider } from './instance-secret.js';
import type { PrivacyRequestRow, PrivacyRequestType } from './ports.js';
import { type Corrections, checkCorrections, rectifyPerson } from './rectify-person.js';
import { type SuppressionList, suppressionHash } from './suppression.js';

/** How long an access bundle is kept, in memory only, for `GET /v1/privacy/requests/{id}`. */
const BUNDLE_TTL_MS = 3_600_000;
const TYPES: readonly PrivacyRequestType[] = ['access', 'erase', 'rectify'];
/** Traits one rectification corrects at most; a trait name's length (as survivorship rules allow). */
export const MAX_CORRECTIONS = 100;
const MAX_TRAIT_NAME = 256;

export interface PrivacyRequestInput {
  type: string;
  identifier: { type: string; value: string };
  /** `rectify`: trait name → its corrected value, or null to remove the trait. */
  corrections?: unknown;
}

const invalid = (field: string, message: string) =>
  new TesseraError('invalid_request', `${field}: ${message}`, { details: { field } });

const hasControlCharacter = (text: string) => [...text].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f');

/** The `corrections` of a rectify request, checked: an object of 1 to 100 valid trait names. */
function parseCorrections(input: PrivacyRequestInput): Corrections | undefined {
  const { corrections } = input;
  if (input.type !== 'rectify') {
    if (corrections !== undefined) throw invalid('corrections', 'only a rectify request takes corrections');
    return undefined;
  }
  if (corrections === undefined) throw invalid('corrections', 'required for a rectify request');
  if (corrections === null || typeof corrections !== 'object' || Array.isArray(corrections))
    throw invalid('corrections', 'must be an object of trait name → corrected value (null removes the trait)');
  const names = Object.keys(corrections);
  if (names.length === 0) throw invalid('corrections', 'name at least one trait');
  if (names.length > MAX_CORRECTIONS)
    throw invalid('corrections', `at most ${MAX_CORRECTIONS} traits (got ${names.length})`);
  for (const name of names)
    if (name.length === 0 || name.length > MAX_TRAIT_NAME || hasControlCharacter(name))
      throw invalid(
        `corrections.${name}`,
        `not a valid trait name (1 to ${MAX_TRAIT_NAME} characters, no control character)`,
      );
  return corrections as Corrections;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/**
 * Data-subject requests (DESIGN §8, docs/privacy.md). `access`: the person's bundle (`buildAccessBundle`), answered
 * at once and kept in memory for an hour, never written to the store (a stored copy would outlive an erasure).
 * `erase`: `erasePerson`, and `rectify`: `rectifyPerson` (its `corrections` checked here: 400 `invalid_request`
 * naming the field), both run in the background; the request records its status and proof (counts and trait names
 * only). A request keeps the identifier as its suppression hash, nothing readable.
 */
export function createPrivacyService(deps: {
  storage: Storage;
  secret: SecretProvider;
  /** The ingest path's list, reloaded after each erasure. */
  suppression: SuppressionList;
  logger: Logger;
  clock?: () => number;
  /** Cluster mode: erases the person's messages from the JetStream streams. */
  purgeElsewhere?: PurgeElsewhere;
}) {
  const { storage } = deps;
  const clock = deps.clock ?? Date.now;
  const bundles = new Map<string, { bundle: AccessBundle; expires: number }>();
  const running = new Map<string, Promise<void>>();

  const view = (r: PrivacyRequestRow) => {
    const cached = bundles.get(r.id);
    const bundle = cached && cached.expires > clock() ? cached.bundle : undefined;
    return {
      id: toPublicId('privacy', r.id),
      type: r.type,
      identifierType: r.identifierType,
      status: r.status,
      createdAt: new Date(r.createdAt).toISOString(),
      createdBy: r.createdBy,
      completedAt: iso(r.completedAt),
      profiles: r.profileCount,
      proof: r.proof,
      error: r.error,
      ...(r.type === 'access' && r.status === 'completed' ? { result: bundle ?? null } : {}),
    };
  };

  /** Runs a request's work in the background and records its outcome (or its failure). */
  async function runInBackground(
    row: PrivacyRequestRow,
    work: () => Promise<{ status: PrivacyRequestRow['status']; profiles: number; proof: Record<string, unknown> }>,
  ) {
    try {
      const { status, profiles, proof } = await work();
      await storage.transaction(
        (tx) =>
          tx.privacyRequests.finish(row.id, {
            status,
            completedAt: clock(),
            profileCount: profiles,
            proof: { ...proof, finishedAt: new Date(clock()).toISOString() },
            error: null,
          }),
        { write: true },
      );
    } catch (e) {
      deps.logger.error({ err: errorFields(e), requestId: row.id, type: row.type }, 'privacy request failed');
      await storage
        .transaction(
          (tx) =>
            tx.privacyRequests.finish(row.id, {
              status: 'failed',
              completedAt: clock(),
              profileCount: 0,
              proof: null,
              error: e instanceof Error ? e.message : String(e),
            }),
          { write: true },
        )
        .catch(() => {});
    }
  }

  const runErase = (row: PrivacyRequestRow, identifier: PrivacyRequestInput['identifier']) =>
    runInBackground(row, async () => {
      const report = await erasePerson(
        storage,
        deps.secret(),
        identifier,
        row.id,
        clock(),
        deps.purgeElsewhere,
        (hashes) => deps.suppression.erased(hashes),
      );
      const status = !report.found
        ? 'not_found'
        : (report.scrub && !report.scrub.ok) || report.elsewhere
          ? 'incomplete'
          : 'completed';
      return { status, profiles: report.profiles, proof: { ...report } };
    });

  /** A rectification: one write transaction (`rectifyPerson`); a refused identifier move fails it whole. */
  const runRectify = (
    row: PrivacyRequestRow,
    identifier: PrivacyRequestInput['identifier'],
    corrections: Corrections,
  ) =>
    runInBackground(row, async () => {
      const report = await rectifyPerson(storage, identifier, corrections, row.id, clock());
      return { status: report.found ? 'completed' : 'not_found', profiles: report.profiles, proof: { ...report } };
    });

  return {
    async create(input: PrivacyRequestInput, by: string) {
      if (!TYPES.includes(input.type as PrivacyRequestType))
        throw new TesseraError('invalid_request', `type: expected one of ${TYPES.join(', ')}`);
      const type = input.type as PrivacyRequestType;
      const corrections = parseCorrections(input);
      const person = await storage.transaction(async (tx) => {
        // A correction identity resolution could not read (a malformed e-mail) is refused now, not in the background.
        if (corrections) await checkCorrections(tx, corrections);
        return findPerson(tx, input.identifier);
      });
      const now = clock();
      const row: PrivacyRequestRow = {
        id: newUuid(),
        type,
        identifierType: input.identifier.type,
        identifierHash: suppressionHash(deps.secret(), input.identifier.type, person.value),
        status: 'running',
        createdAt: now,
        createdBy: by,
        completedAt: null,
        profileCount: person.family.length,
        proof: null,
        error: null,
      };
      await storage.transaction((tx) => tx.privacyRequests.create(row), { write: true });
      if (type === 'access') {
        const done = { ...row, completedAt: clock() };
        if (person.survivorId === undefined) {
          Object.assign(done, { status: 'not_found' as const });
        } else {
          const bundle = await storage.transaction((tx) => buildAccessBundle(tx, person.survivorId as string, now));
          bundles.set(row.id, { bundle, expires: clock() + BUNDLE_TTL_MS });
          const digest = createHash('sha256').update(JSON.stringify(bundle)).digest('hex');
          Object.assign(done, {
            status: 'completed' as const,
            proof: { bundleSha256: digest, generatedAt: new Date(now).toISOString() },
          });
        }
        await storage.transaction(
          (tx) =>
            tx.privacyRequests.finish(row.id, {
              status: done.status,
              completedAt: done.completedAt,
              profileCount: done.profileCount,
              proof: done.proof,
              error: null,
            }),
          { write: true },
        );
        return view(done);
      }
      const work = corrections ? runRectify(row, input.identifier, corrections) : runErase(row, input.identifier);
      running.set(
        row.id,
        work.finally(() => running.delete(row.id)),
      );
      return view(row);
    },
    async get(publicId: string) {
      const id = fromPublicId('privacy', publicId);
      const row = id ? await storage.privacyRequests.get(id) : undefined;
      if (!row) throw new TesseraError('not_found', `no privacy request ${publicId}`);
      return view(row);
    },
    async list(limit: number) {
      return (await storage.privacyRequests.list({ limit })).map(view);
    },
    /** Resolves once the request's background work (an erasure, a rectification) is over (tests, `--wait` on the store). */
    async settled(publicId: string) {
      const id = fromPublicId('privacy', publicId);
      if (id) await running.get(id);
    },
    /**
     * Marks requests left `running` by a process that stopped as `failed` (their transaction either committed with
     * its status or did not happen; the identifier is not kept, so they cannot be resumed: make them again). For a
     * single process (embedded) at start.
     */
    async recover() {
      const stale = (await storage.privacyRequests.list({ limit: 1000 })).filter((r) => r.status === 'running');
      for (const r of stale)
        await storage.transaction(
          (tx) =>
            tx.privacyRequests.finish(r.id, {
              status: 'failed',
              completedAt: clock(),
              profileCount: r.profileCount,
              proof: null,
              error: 'interrupted: the server stopped during the request; make it again',
            }),
          { write: true },
        );
      return stale.length;
    },
    /** Waits for every erasure and rectification in flight (the app's close). */
    async idle() {
      await Promise.all(running.values());
    },
  };
}

export type PrivacyService = ReturnType<typeof createPrivacyService>;
