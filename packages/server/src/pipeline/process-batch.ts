import { evaluateProfiles, loadAudienceFilter, type StoredEventEffects } from '../audiences/evaluate-profiles.js';
import type { Change } from '../bus/ports.js';
import type { RecentChanges } from '../bus/recent-changes.js';
import { groupBy } from '../group-by.js';
import { cacheIdentityStore } from '../identity/cached-identity-store.js';
import { type IdentityRules, loadIdentityRules } from '../identity/rules.js';
import { newUuid } from '../ids.js';
import type { LogEntry } from '../ingest/logged-event.js';
import type { ProcessedRow, QuarantineRow } from '../ingest/ports.js';
import type { ProcessedKeys } from '../ingest/processed-filter.js';
import { cacheHistoryStore } from '../profiles/cached-history-store.js';
import { cacheProfileStore } from '../profiles/cached-profile-store.js';
import { loadSurvivorship } from '../profiles/survivorship-rules.js';
import type { Storage, Stores } from '../storage/storage.js';
import { type BatchPhases, phaseClock } from './batch-phases.js';
import { bufferEvents } from './buffer-events.js';
import { change } from './change.js';
import { lockBatch } from './lock-batch.js';
import { isRetryable, RetryBatch, runIsolated, runSteps } from './run-steps.js';
import type { PipelineContext, Step, StepResult } from './step.js';

export const PIPELINE_CONSUMER = 'pipeline';

/** What one batch did. */
export interface BatchOutcome {
  read: number;
  stored: number;
  duplicates: number;
  dropped: number;
  /** Of the dropped, those carrying an erased identifier (the suppression list). */
  suppressed: number;
  quarantined: { code: string; count: number }[];
  merges: number;
  /** Audience stays the batch opened and closed. */
  audiences: { entered: number; exited: number };
  lastPosition: number;
  /** Receive time (ms) of the last entry, for lag. */
  lastReceivedAt: number;
  /** Wall-clock time of the batch (ms), an isolated second attempt included; set by the runner that ran it. */
  ms?: number;
  /** Where the time of the batch's last attempt went (ms), see {@link BatchPhases}. */
  phases?: BatchPhases;
}

/**
 * Thrown in `fast` mode when an event is rejected by a step or a step throws: the whole batch rolls back and is run
 * again in `isolated` mode, where each event has its own savepoint.
 */
export class IsolateBatch extends Error {}

/**
 * `fast`: no savepoint per event, `events` rows written in one multi-row insert at the end (or before any read of
 * them); any rejection or bug sends the batch to `isolated`. `isolated`: a savepoint per event, so a rejected or
 * failing event's writes are rolled back alone and the rest of the batch goes on.
 */
export type BatchMode = 'fast' | 'isolated';

/**
 * Processes the next batch of the ingest log in one store transaction (DESIGN §3): de-duplication against
 * `processed_messages` (no time window), the steps per event, quarantine of events a step rejects, the de-dup keys,
 * the outbox rows and the consumer offset, all committed together. A step that throws (a bug) rolls back that
 * event's savepoint and quarantines it with `processing_failed`; the rest of the batch goes on.
 * Returns `undefined` when the log has nothing new.
 */
export async function processBatch(
  storage: Storage,
  steps: readonly Step[],
  limit: number,
  now = Date.now(),
  mode: BatchMode = 'isolated',
  recent?: RecentChanges,
  keys?: ProcessedKeys,
): Promise<BatchOutcome | undefined> {
  let published: Change[] | undefined;
  const outcome = await timedTransaction(storage, async (tx, mark) => {
    const offset = await tx.log.offset(PIPELINE_CONSUMER);
    const entries = await tx.log.read(offset, limit);
    if (entries.length === 0) return undefined;
    mark('read');
    // Fast mode looks up the batch's identifiers and their profiles in a few statements first (`lockBatch`, whose
    // locks are no-ops with a single writer): the batch caches then answer the events.
    const prefetch = mode === 'fast' ? (t: Stores, rules: IdentityRules) => lockBatch(t, entries, rules) : undefined;
    const outcome = await applyEntries(
      tx,
      steps,
      entries,
      now,
      mode,
      prefetch,
      mark,
      (changes) => {
        published = changes;
      },
      keys,
    );
    await tx.log.commitOffset(PIPELINE_CONSUMER, outcome.lastPosition);
    return outcome;
  });
  // Committed: a consumer in this thread takes them from memory (`RecentChanges`).
  if (published) recent?.add(published);
  return outcome;
}

/**
 * Runs `body` in one store transaction, timing it by phase (`mark`); the outbox phase ends with `body`, the commit
 * with the transaction. The phases go on the outcome `body` returns.
 */
async function timedTransaction<T extends BatchOutcome | undefined>(
  storage: Storage,
  body: (tx: Stores, mark: (phase: keyof BatchPhases) => void) => Promise<T>,
): Promise<T> {
  const clock = phaseClock();
  const outcome = await storage.transaction(async (tx) => {
    const result = await body(tx, clock.mark);
    clock.mark('outbox');
    return result;
  });
  if (outcome) {
    clock.mark('commit');
    outcome.phases = clock.phases;
  }
  return outcome;
}

/**
 * Processes `entries` (read from elsewhere: a JetStream batch in cluster mode) in one store transaction, like
 * {@link processBatch} but without a log offset: `prepare` runs first inside the transaction (cluster mode takes its
 * locks there). The caller acknowledges the entries' messages after it resolves.
 */
export async function processEntries(
  storage: Storage,
  steps: readonly Step[],
  entries: readonly LogEntry[],
  opts: { now?: number; mode?: BatchMode; prepare?: (tx: Stores, rules: IdentityRules) => Promise<void> } = {},
): Promise<BatchOutcome> {
  return timedTransaction(storage, (tx, mark) =>
    applyEntries(tx, steps, entries, opts.now ?? Date.now(), opts.mode ?? 'isolated', opts.prepare, mark),
  );
}

/** The effects of a batch inside transaction `root`: de-dup, steps, quarantine, de-dup keys and outbox rows. */
async function applyEntries(
  root: Stores,
  steps: readonly Step[],
  entries: readonly LogEntry[],
  now: number,
  mode: BatchMode,
  prepare: ((tx: Stores, rules: IdentityRules) => Promise<void>) | undefined,
  mark: (phase: keyof BatchPhases) => void,
  onPublished?: (changes: Change[]) => void,
  keys?: ProcessedKeys,
): Promise<BatchOutcome> {
  const buffered = mode === 'fast' ? bufferEvents(root.events) : undefined;
  // Fast mode keeps what the batch read and wrote of identities, profiles and trait history (no savepoints, so it
  // cannot go stale).
  let tx: Stores = root;
  let flushCaches = async () => {};
  if (buffered) {
    const identities = cacheIdentityStore(root.identities);
    const profiles = cacheProfileStore(root.profiles);
    const history = cacheHistoryStore(root.history);
    flushCaches = async () => {
      await profiles.flush();
      await identities.flush();
      await history.flush();
    };
    tx = {
      ...root,
      events: buffered.store,
      identities,
      history,
      profiles: {
        ...profiles,
        create(row) {
          identities.created(row.id);
          history.created(row.id);
          return profiles.create(row);
        },
        async lock(ids) {
          await profiles.lock(ids);
          identities.forgetRedirects();
        },
      },
    };
  }
  const { rules, version: rulesVersion } = await loadIdentityRules(tx.settings);
  const survivorship = await loadSurvivorship(tx.settings);
  // Cluster mode locks the batch's people first; through the caches, so its look-ups serve the events too.
  if (prepare) await prepare(tx, rules);
  // Taken once the batch holds its locks: a batch that waited for another's gets a larger value.
  const batchSeq = prepare ? await tx.processed.nextBatchSeq() : null;

  const seen = new Set<string>();
  for (const [sourceId, list] of groupBy(entries, (e) => e.sourceId)) {
    const ids = list.map((e) => e.messageId);
    // Only the ids the filter may hold are looked up; the others were never processed.
    const ask = keys?.maybeProcessed(sourceId, ids) ?? ids;
    if (ask.length === 0) continue;
    for (const id of await tx.processed.existing(sourceId, ask)) seen.add(`${sourceId}\u0000${id}`);
  }

  const outcome: BatchOutcome = {
    read: entries.length,
    stored: 0,
    duplicates: 0,
    dropped: 0,
    suppressed: 0,
    quarantined: [],
    merges: 0,
    audiences: { entered: 0, exited: 0 },
    lastPosition: 0,
    lastReceivedAt: 0,
  };
  /** The profiles the stored events resolved to or merged: their audiences are evaluated once, at the end. */
  const stored: { profileId: string; merged: string[]; effects: StoredEventEffects }[] = [];
  const quarantined = new Map<string, number>();
  const processed: ProcessedRow[] = [];
  const changes: PipelineContext['changes'] = [];
  const counters = { merges: 0 };
  const quarantinedKeys = new Set<string>();
  /** One open quarantine row per (source, messageId): a re-sent refused call is not quarantined twice. */
  const quarantine = async (entry: LogEntry, code: string, reason: string) => {
    const key = `${entry.sourceId}\u0000${entry.messageId}`;
    if (quarantinedKeys.has(key) || (await tx.quarantine.hasOpen(entry.sourceId, entry.messageId))) {
      outcome.duplicates++;
      return;
    }
    quarantinedKeys.add(key);
    quarantined.set(code, (quarantined.get(code) ?? 0) + 1);
    await tx.quarantine.insert([quarantineRow(entry, code, reason)]);
  };
  for (const [n, entry] of entries.entries()) {
    // Let appends (another database) and messages in between: a batch must not starve the ingest path.
    if (n > 0 && n % 32 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    outcome.lastPosition = entry.position;
    outcome.lastReceivedAt = entry.receivedAt;
    if (entry.rejection) {
      await quarantine(entry, entry.rejection.code, entry.rejection.reason);
      continue;
    }
    const dedupKey = `${entry.sourceId}\u0000${entry.messageId}`;
    if (seen.has(dedupKey)) {
      outcome.duplicates++;
      continue;
    }
    seen.add(dedupKey);
    const ctx = {
      tx,
      entry,
      eventId: newUuid(),
      now,
      rules,
      rulesVersion,
      survivorship,
      merged: [],
      created: false,
      family: async () => [],
      traits: {},
      consents: new Map(),
      changes: [],
      counters,
      bufferEvent: buffered?.push,
    } as unknown as PipelineContext;
    let result: StepResult;
    if (mode === 'fast') {
      try {
        result = await runSteps(steps, ctx);
      } catch (e) {
        if (isRetryable(e)) throw e;
        throw new IsolateBatch((e as Error).name);
      }
      if (result.kind === 'dlq') throw new IsolateBatch(result.code);
    } else {
      result = await runIsolated(tx, steps, ctx);
    }
    if (result.kind === 'retry') throw new RetryBatch(result.reason);
    if (result.kind === 'dlq') {
      await quarantine(entry, result.code, result.reason);
      // No de-dup key: the quarantined message may be replayed after a fix under the same messageId.
      continue;
    }
    if (result.kind === 'drop') {
      outcome.dropped++;
      if (result.reason === 'suppressed') outcome.suppressed++;
      processed.push(processedRow(entry, null, now, batchSeq));
      continue;
    }
    outcome.stored++;
    stored.push({
      profileId: ctx.profileId,
      merged: ctx.merged,
      effects: {
        type: ctx.event.type,
        name: ctx.event.event ?? null,
        created: ctx.created,
        merged: ctx.merged.length > 0,
        traits: Object.keys(ctx.traits).length > 0,
        consents: ctx.consents.size > 0,
      },
    });
    ctx.changes.push(
      change(ctx, 'event.stored', {
        profileId: ctx.profileId,
        type: ctx.event.type,
        name: ctx.event.event ?? ctx.event.name ?? null,
      }),
    );
    changes.push(...ctx.changes);
    processed.push(processedRow(entry, ctx.eventId, now, batchSeq));
  }
  mark('steps');
  await flushCaches();
  await buffered?.flush();
  mark('write');
  // DESIGN §3: … → audiences → outbox. After the caches are written, on the transaction's own stores.
  // The definitions are read here, one statement before `evaluateProfiles` holds them (`lock … share`), as it
  // would read them itself: a recomputation committed during the batch is seen.
  const audienceFilter = await loadAudienceFilter(root);
  const touched = new Set<string>();
  for (const s of stored) {
    if (!audienceFilter.relevant(s.effects)) continue;
    touched.add(s.profileId);
    for (const id of s.merged) touched.add(id);
  }
  const audiences = await evaluateProfiles(root, touched, now, audienceFilter.audiences);
  outcome.audiences = { entered: audiences.entered, exited: audiences.exited };
  changes.push(...audiences.changes);
  mark('audiences');
  await tx.processed.insert(processed);
  // Before the commit: a batch that rolls back leaves keys in the filter, which only cost a look-up later.
  if (keys)
    for (const [sourceId, group] of groupBy(processed, (r) => r.sourceId))
      keys.add(
        sourceId,
        group.map((r) => r.messageId),
      );
  const lastSeq = await tx.changes.publish(changes);
  if (lastSeq !== undefined && onPublished) {
    const first = lastSeq - changes.length + 1;
    onPublished(changes.map((c, i) => ({ seq: first + i, ...c })));
  }
  outcome.merges = counters.merges;
  outcome.quarantined = [...quarantined].map(([code, count]) => ({ code, count }));
  return outcome;
}

function processedRow(entry: LogEntry, eventId: string | null, now: number, batchSeq: number | null): ProcessedRow {
  return {
    sourceId: entry.sourceId,
    messageId: entry.messageId,
    eventId,
    processedAt: now,
    batchSeq,
    logPosition: entry.position,
  };
}

function quarantineRow(entry: LogEntry, code: string, reason: string): QuarantineRow {
  return {
    id: newUuid(),
    sourceId: entry.sourceId,
    receivedAt: entry.receivedAt,
    code,
    reason,
    messageId: entry.messageId,
    payload: entry.payload,
    status: 'open',
    logPosition: entry.position,
    replayedAt: null,
  };
}
