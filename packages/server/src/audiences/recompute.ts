import { newUuid } from '../ids.js';
import type { Storage, Stores } from '../storage/storage.js';
import { writeTransaction } from '../storage/write-transaction.js';
import { compileRecompute } from './compile-sql.js';
import { loadComputedTraits } from './computed-trait-settings.js';
import {
  AUDIENCE_ENTERED,
  AUDIENCE_EXITED,
  evaluateProfiles,
  membershipChange,
  orderByDependency,
  referencedAudiences,
} from './evaluate-profiles.js';
import type { AudienceRow, MembershipRow } from './ports.js';

/** What a full recomputation of one audience did. */
export interface RecomputeSummary {
  key: string;
  version: number;
  members: number;
  entered: number;
  exited: number;
  ms: number;
}

const PAGE = 10_000;

/**
 * Recomputes audience `key` in full at `now` with its SQL compilation (`compileRecompute`: one pass over the
 * profiles that pass its time-independent conjuncts), in one
 * transaction holding the audience's definition (`lock … update`: no batch evaluates it meanwhile): stays open for the
 * new members and close for the others (`condition`; `deleted` for a deleted audience, whose row then goes), each
 * with its outbox change, and every survivor with an event in one of the definition's relative windows gets a
 * re-check at the instant that event enters or leaves it (earlier re-checks are kept).
 * Returns `undefined` when the audience does not exist.
 */
export async function recomputeAudience(
  storage: Storage,
  key: string,
  now = Date.now(),
): Promise<RecomputeSummary | undefined> {
  const started = performance.now();
  return writeTransaction(storage, async (tx) => {
    await tx.audiences.lock([key], 'update');
    const audience = await tx.audiences.get(key);
    if (!audience) return undefined;
    const deleted = audience.deletedAt !== null;
    const { definitions: computedTraits } = await loadComputedTraits(tx.settings);
    // One pass: members and, for the profiles time alone may move, when to look again.
    const rows = deleted
      ? []
      : await tx.memberships.tally(compileRecompute(audience.definition, storage.dialect, now, computedTraits));
    const members = rows.flatMap((r) => (r.member ? [r.id] : []));
    const { entered, exited } = await applyMembers(tx, audience, members, now);
    if (!deleted) {
      await tx.memberships.recheckBy(
        rows.flatMap((r) => (r.due === undefined ? [] : [{ profileId: r.id, dueAt: r.due }])),
      );
      await tx.audiences.markComputed(key, audience.version, now);
    } else {
      await tx.audiences.remove(key);
    }
    return {
      key,
      version: audience.version,
      members: members.length,
      entered,
      exited,
      ms: Math.round(performance.now() - started),
    };
  });
}

/** Opens and closes stays of `audience` so that its members are exactly `members` (sorted ids); publishes each. */
async function applyMembers(
  tx: Stores,
  audience: AudienceRow,
  members: readonly string[],
  now: number,
): Promise<{ entered: number; exited: number }> {
  const wanted = new Set(members);
  const open = new Set<string>();
  const leaving: MembershipRow[] = [];
  for (let after: string | undefined; ; ) {
    const page = await tx.memberships.members(audience.key, { limit: PAGE, after });
    for (const stay of page) {
      open.add(stay.profileId);
      if (!wanted.has(stay.profileId)) leaving.push(stay);
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1].profileId;
  }
  const reason = audience.deletedAt === null ? 'condition' : 'deleted';
  for (let i = 0; i < leaving.length; i += PAGE) {
    const part = leaving.slice(i, i + PAGE);
    await tx.memberships.exit(part, now, audience.version, reason);
    await tx.changes.publish(part.map((s) => membershipChange(AUDIENCE_EXITED, s, audience.version, now, reason)));
  }
  const entering = members.filter((id) => !open.has(id));
  for (let i = 0; i < entering.length; i += PAGE) {
    const part: MembershipRow[] = entering.slice(i, i + PAGE).map((profileId) => ({
      id: newUuid(),
      audienceKey: audience.key,
      profileId,
      enteredAt: now,
      exitedAt: null,
      enteredVersion: audience.version,
      exitedVersion: null,
      exitReason: null,
    }));
    await tx.memberships.enter(part);
    await tx.changes.publish(part.map((s) => membershipChange(AUDIENCE_ENTERED, s, audience.version, now)));
  }
  return { entered: entering.length, exited: leaving.length };
}

/** Whether an audience waits for a full recomputation, or a re-check is due at `now`: read-only. */
export async function audienceWorkPending(storage: Storage, now = Date.now()): Promise<boolean> {
  const audiences = await storage.audiences.list({ includeDeleted: true });
  if (audiences.some(isPending)) return true;
  if (audiences.length === 0) return false;
  const due = await storage.memberships.nextDue();
  return due !== undefined && due <= now;
}

/** A save, a deletion or an explicit request the last full recomputation has not served. */
function isPending(a: AudienceRow): boolean {
  return a.deletedAt !== null || a.computedVersion !== a.version || a.recomputeRequestedAt !== null;
}

/** What one run of the audiences job did. */
export interface AudienceJobSummary {
  recomputed: RecomputeSummary[];
  rechecked: number;
  entered: number;
  exited: number;
}

/**
 * The scheduler's audience job (issue 5, Build 3): recomputes in full each audience saved or deleted since its last
 * recomputation, or asked for, and each audience naming one whose members this run changed (dependencies first);
 * then re-evaluates the profiles whose re-check is due, `batch` at a time, each
 * batch in its own transaction with the profiles' rows locked, until none is due or `maxMs` has passed.
 */
export async function runAudienceJob(
  storage: Storage,
  opts: { now?: () => number; batch?: number; maxMs?: number } = {},
): Promise<AudienceJobSummary> {
  const clock = opts.now ?? Date.now;
  const summary: AudienceJobSummary = { recomputed: [], rechecked: 0, entered: 0, exited: 0 };
  const audiences = await storage.audiences.list({ includeDeleted: true });
  const changed = new Set<string>();
  for (const a of orderByDependency(audiences)) {
    if (!isPending(a) && ![...referencedAudiences(a.definition)].some((k) => changed.has(k))) continue;
    const done = await recomputeAudience(storage, a.key, clock());
    if (!done) continue;
    summary.recomputed.push(done);
    if (done.entered + done.exited > 0) changed.add(a.key);
  }
  const deadline = performance.now() + (opts.maxMs ?? 30_000);
  while (performance.now() < deadline) {
    const now = clock();
    const n = await writeTransaction(storage, async (tx) => {
      const due = await tx.memberships.takeDue(now, opts.batch ?? 500);
      if (due.length === 0) return 0;
      const ids = due.map((d) => d.profileId);
      await tx.profiles.lock([...ids].sort());
      const outcome = await evaluateProfiles(tx, ids, now);
      await tx.changes.publish(outcome.changes);
      summary.entered += outcome.entered;
      summary.exited += outcome.exited;
      return due.length;
    });
    summary.rechecked += n;
    if (n === 0) break;
  }
  return summary;
}
