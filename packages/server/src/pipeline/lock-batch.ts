import { extractIdentifiers } from '../identity/extract-identifiers.js';
import { normaliseIdentifier } from '../identity/normalise-identifier.js';
import type { Identifier } from '../identity/ports.js';
import type { IdentityRules } from '../identity/rules.js';
import type { LogEntry, LoggedEvent } from '../ingest/logged-event.js';
import type { Stores } from '../storage/storage.js';
import { parseAhead } from './parsed-payload.js';

/**
 * Serialises a batch with every other worker's that could touch the same people (cluster mode, DESIGN §4): first
 * the advisory locks of every normalised identifier the batch names (blocked values aside), of the group ids of
 * its `group` calls and of the calls it may quarantine with no identifier to lock, in one global order; then the rows of the
 * profiles that own them now (survivors), in id order. A worker resolving any of these identifiers, or changing
 * one of these profiles through another identifier, waits for this transaction; locks are always taken
 * identifiers-then-profiles, so two batches wait for each other at most once (a deadlock PostgreSQL still reports
 * is retried by the worker).
 */
export async function lockBatch(tx: Stores, entries: readonly LogEntry[], rules: IdentityRules): Promise<void> {
  const identifiers = new Map<string, Identifier>();
  const blocked = new Set(rules.blockedValues.map((v) => v.toLowerCase()));
  const add = (type: string, value: unknown) => {
    const n = normaliseIdentifier(type, value, rules.defaultPhoneRegion);
    // Blocked values (`null`, `anonymous`…) are dropped by the resolver: locking them would serialise every batch.
    if (!n.ok || blocked.has(n.value.toLowerCase())) return false;
    identifiers.set(`${type}\u0000${n.value}`, { type, value: n.value });
    return true;
  };
  const types = Object.keys(rules.types);
  const groups = new Map<string, string>();
  /**
   * The calls this batch may quarantine without an identifier to lock: a message delivered again while its first
   * delivery still runs (past the ack wait) then waits for it, and finds its quarantine row instead of adding one.
   */
  const refused = new Set<string>();
  for (const entry of entries) {
    if (entry.rejection) {
      refused.add(`${entry.sourceId}\u0000${entry.messageId}`);
      continue;
    }
    let event: LoggedEvent;
    try {
      event = parseAhead(entry);
    } catch {
      refused.add(`${entry.sourceId}\u0000${entry.messageId}`);
      continue; // the parse step quarantines it
    }
    let kept = 0;
    for (const r of extractIdentifiers(event, types)) if (add(r.type, r.value)) kept++;
    // None kept (all blocked or invalid): the call is quarantined (`missing_identity`) with nothing else to lock.
    if (kept === 0 && event.type !== 'alias') refused.add(`${entry.sourceId}\u0000${entry.messageId}`);
    // Accounts are upserted by group id (read, merge traits, write): one worker at a time per group.
    if (event.type === 'group' && typeof event.groupId === 'string') groups.set(event.groupId, event.groupId);
    if (event.type === 'alias' && event.previousId !== undefined) {
      // The resolver looks previousId up as a user id, else links it as an anonymous id.
      add('user_id', event.previousId);
      add('anonymous_id', event.previousId);
    }
  }
  const all = [...identifiers.values()];
  await tx.identities.lock([
    ...all,
    ...[...groups.keys()].map((value) => ({ type: '$group', value })),
    ...[...refused].map((value) => ({ type: '$message', value })),
  ]);
  if (all.length === 0) return;
  const owners = [...new Set((await tx.identities.find(all)).map((r) => r.profileId))];
  // A survivor may be merged away while this waits for its row: resolve again until every survivor is locked.
  const locked = new Set<string>();
  for (;;) {
    const survivors = [...new Set((await tx.identities.resolve(owners)).values())].filter((id) => !locked.has(id));
    if (survivors.length === 0) return;
    await tx.profiles.lock(survivors);
    for (const id of survivors) locked.add(id);
  }
}
