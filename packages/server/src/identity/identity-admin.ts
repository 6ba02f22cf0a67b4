import {
  type ExplainView,
  fromPublicId,
  type ReviewDecision,
  type ReviewItem,
  type ReviewStatus,
  toPublicId,
  type UnmergeResponse,
} from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import type { Storage, Stores } from '../storage/storage.js';
import { writeTransaction } from '../storage/write-transaction.js';
import { explainProfile } from './explain-profile.js';
import type { GoldenRecords } from './golden-records.js';
import { toUnmergeView } from './identity-views.js';
import { decideReview } from './review-queue.js';
import { reviewItems } from './review-view.js';
import { loadIdentityRules } from './rules.js';
import { unmergeProfilesIn } from './unmerge-profiles.js';

/**
 * The identity management API's domain side (`/v1/identity/review…`, unmerge, explain), over public ids. Writes run
 * in write transactions on the store the HTTP layer holds: like every management write, in embedded mode on the
 * main thread's connection, waiting for a pipeline batch in flight (SQLite's one write lock).
 */
export function createIdentityAdmin(deps: { storage: Storage; golden: GoldenRecords; clock?: () => number }) {
  const { storage, golden } = deps;
  const clock = deps.clock ?? Date.now;
  const write = <T>(fn: (tx: Stores) => Promise<T>) => writeTransaction(storage, fn);
  /** Bare id of a profile that exists (merged or not); 404 otherwise. */
  async function knownProfile(publicId: string): Promise<string> {
    const id = fromPublicId('profile', publicId);
    const [row] = id ? await storage.profiles.get([id]) : [];
    if (!row) throw new TesseraError('not_found', 'no such profile');
    return row.id;
  }
  return {
    /** Review items with `status`, oldest first, after `after` (bare id), at most `limit`. */
    async reviews(query: { status: ReviewStatus; limit: number; after?: string }) {
      return storage.identities.reviews(query);
    },
    /** The API view of review rows. */
    reviewItems: (rows: Parameters<typeof reviewItems>[1]): Promise<ReviewItem[]> => reviewItems(storage, rows),

    /** Accepts or rejects a review item (see `decideReview`); `by` is the deciding token (`tok_…`). */
    async decide(publicId: string, status: 'accepted' | 'rejected', by: string): Promise<ReviewDecision> {
      const reviewId = fromPublicId('review', publicId);
      if (!reviewId) throw new TesseraError('not_found', 'no such review item');
      const { row, merge } = await write(async (tx) => {
        const { rules, version } = await loadIdentityRules(tx.settings);
        return decideReview(tx, golden, { reviewId, status, by, now: clock(), rules, settingsVersion: version });
      });
      const [item] = await reviewItems(storage, [row]);
      return {
        item,
        merge: merge
          ? {
              survivorId: toPublicId('profile', merge.survivorId),
              mergedIds: merge.merged.map((id) => toPublicId('profile', id)),
            }
          : null,
      };
    },

    /** Splits `profileIds` out of the profile `publicId` names (see `unmergeProfilesIn`). */
    async unmerge(
      publicId: string,
      body: { profileIds: readonly string[]; reason?: string },
      by: string,
    ): Promise<UnmergeResponse> {
      const asked = await knownProfile(publicId);
      const split = body.profileIds.map((p) => {
        const id = fromPublicId('profile', p);
        if (!id) throw new TesseraError('invalid_request', `${p} is not a profile id`);
        return id;
      });
      const result = await write(async (tx) => {
        const { version } = await loadIdentityRules(tx.settings);
        return unmergeProfilesIn(tx, golden, {
          profileId: asked,
          split,
          reason: body.reason ?? '',
          decidedBy: by,
          now: clock(),
          settingsVersion: version,
        });
      });
      return {
        parts: result.parts.map((p) => ({
          id: toPublicId('profile', p.rootId),
          mergedIds: p.memberIds.map((id) => toPublicId('profile', id)),
        })),
        unmerges: result.unmerges.map(toUnmergeView),
      };
    },

    /** The evidence graph of the profile `publicId` names (its survivor's family). */
    async explain(publicId: string): Promise<ExplainView> {
      const id = await knownProfile(publicId);
      const survivor = (await storage.identities.resolve([id])).get(id) ?? id;
      return explainProfile(storage, survivor);
    },
  };
}

export type IdentityAdmin = ReturnType<typeof createIdentityAdmin>;
