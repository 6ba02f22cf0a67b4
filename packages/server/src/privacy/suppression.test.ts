import { describe, expect, it } from 'vitest';
import type { LoggedEvent } from '../ingest/logged-event.js';
import type { PipelineContext } from '../pipeline/step.js';
import { createSqliteStorage } from '../storage/sqlite/create-sqlite-storage.js';
import type { Storage } from '../storage/storage.js';
import { createSuppressionList, suppressionHash, suppressionHasher, suppressionStep } from './suppression.js';

const SECRET = Buffer.alloc(32, 7);

function event(userId: string, email?: string): LoggedEvent {
  return {
    type: email ? 'identify' : 'track',
    messageId: `m-${userId}-${email ?? ''}`,
    userId,
    ...(email ? { traits: { email } } : { event: 'Viewed' }),
    timestamp: '2026-11-30T12:00:00.000Z',
    receivedAt: '2026-11-30T12:00:00.000Z',
  } as LoggedEvent;
}

/** The suppression step's answer for `e` in a batch of `storage` (one transaction, as the pipeline's). */
async function stepOn(storage: Storage, step: ReturnType<typeof suppressionStep>, e: LoggedEvent) {
  return storage.transaction(async (tx) => step.run({ tx, event: e } as unknown as PipelineContext));
}

describe('the suppression list', () => {
  it('hashes as suppressionHash does, remembering each identifier, and forgets all once full or re-keyed', () => {
    let secret = SECRET;
    const hash = suppressionHasher(() => secret, 2);
    expect(hash('email', 'a@example.com')).toBe(suppressionHash(SECRET, 'email', 'a@example.com'));
    expect(hash('email', 'a@example.com')).toBe(suppressionHash(SECRET, 'email', 'a@example.com'));
    expect(hash('user_id', 'a@example.com')).toBe(suppressionHash(SECRET, 'user_id', 'a@example.com'));
    // A third identifier past the bound of 2: the memo starts over, the answers stay right.
    expect(hash('user_id', 'u1')).toBe(suppressionHash(SECRET, 'user_id', 'u1'));
    expect(hash('email', 'a@example.com')).toBe(suppressionHash(SECRET, 'email', 'a@example.com'));
    // Another secret: nothing remembered under the old one is answered.
    secret = Buffer.alloc(32, 9);
    expect(hash('email', 'a@example.com')).toBe(suppressionHash(secret, 'email', 'a@example.com'));
  });

  it('matches a call by the identifiers it carries, normalised, whether it is an object or not', () => {
    const storage = createSqliteStorage({ file: ':memory:' });
    const list = createSuppressionList({ storage, secret: () => SECRET });
    expect(list.matches(event('u1', 'Gone@Example.com'))).toBe(false); // empty list: nothing is hashed
    list.remember([suppressionHash(SECRET, 'email', 'gone@example.com')]);
    expect(list.matches(event('u1', 'Gone@Example.com'))).toBe(true);
    expect(list.matches(event('u1', 'kept@example.com'))).toBe(false);
    expect(list.matches(event('u1'))).toBe(false);
    expect(list.matches('not an object')).toBe(false);
    expect(list.matches([event('u1', 'gone@example.com')])).toBe(false);
  });

  it("the pipeline's step reads the list again only when it grew, and then sees the new hash", async () => {
    const storage = createSqliteStorage({ file: ':memory:' });
    await storage.migrate();
    const step = suppressionStep(() => SECRET);
    expect(await stepOn(storage, step, event('u1'))).toEqual({ kind: 'ok' });
    await storage.suppressions.add([suppressionHash(SECRET, 'user_id', 'u1')], 'r1', 1);
    expect(await stepOn(storage, step, event('u1'))).toEqual({ kind: 'drop', reason: 'suppressed' });
    expect(await stepOn(storage, step, event('u2'))).toEqual({ kind: 'ok' });
    await storage.suppressions.add([suppressionHash(SECRET, 'user_id', 'u2')], 'r2', 2);
    expect(await stepOn(storage, step, event('u2'))).toEqual({ kind: 'drop', reason: 'suppressed' });
    expect(await stepOn(storage, step, event('u1'))).toEqual({ kind: 'drop', reason: 'suppressed' });
    expect(await stepOn(storage, step, event('u3'))).toEqual({ kind: 'ok' });
    await storage.close();
  });
});
