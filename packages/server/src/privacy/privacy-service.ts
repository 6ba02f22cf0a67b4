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
import { type SuppressionList, suppressionHash } from './suppression.js';

/** How long an access bundle is kept, in memory only, for `GET /v1/privacy/requests/{id}`. */
const BUNDLE_TTL_MS = 3_600_000;
const TYPES: readonly PrivacyRequestType[] = ['access', 'erase'];

export interface PrivacyRequestInput {
  type: string;
  identifier: { type: string; value: string };
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/**
 * Data-subject requests (DESIGN §8, docs/privacy.md). `access`: the person's bundle (`buildAccessBundle`), answered
 * at once and kept in memory for an hour, never written to the store (a stored copy would outlive an erasure).
 * `erase`: `erasePerson`, run in the background; the request records its status and proof (counts only). A request
 * keeps the identifier as its suppression hash, nothing readable.
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

  async function runErase(row: PrivacyRequestRow, identifier: PrivacyRequestInput['identifier']) {
    try {
      const report = await erasePerson(storage, deps.secret(), identifier, row.id, clock(), deps.purgeElsewhere, () =>
        deps.suppression.warm(),
      );
      const status = !report.found
        ? 'not_found'
        : (report.scrub && !report.scrub.ok) || report.elsewhere
          ? 'incomplete'
          : 'completed';
      await storage.transaction(
        (tx) =>
          tx.privacyRequests.finish(row.id, {
            status,
            completedAt: clock(),
            profileCount: report.profiles,
            proof: { ...report, finishedAt: new Date(clock()).toISOString() },
            error: null,
          }),
        { write: true },
      );
    } catch (e) {
      deps.logger.error({ err: errorFields(e), requestId: row.id }, 'erasure failed');
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

  return {
    async create(input: PrivacyRequestInput, by: string) {
      if (input.type === 'rectify')
        throw new TesseraError('invalid_request', 'type: rectify is not available yet (access and erase are)');
      if (!TYPES.includes(input.type as PrivacyRequestType))
        throw new TesseraError('invalid_request', `type: expected one of ${TYPES.join(', ')}`);
      const type = input.type as PrivacyRequestType;
      const person = await storage.transaction((tx) => findPerson(tx, input.identifier));
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
      running.set(
        row.id,
        runErase(row, input.identifier).finally(() => running.delete(row.id)),
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
    /** Resolves once the request's background work (an erasure) is over (tests, `--wait` on the store). */
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
    /** Waits for every erasure in flight (the app's close). */
    async idle() {
      await Promise.all(running.values());
    },
  };
}

export type PrivacyService = ReturnType<typeof createPrivacyService>;
