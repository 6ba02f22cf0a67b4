import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newUuid } from '../ids.js';
import type { EventRow } from '../profiles/ports.js';
import { goldenRecords } from '../profiles/rederive-traits.js';
import type { Storage } from '../storage/storage.js';
import { testDatabases } from '../test/databases.js';
import { loadMatchDecisions } from './match-decisions.js';
import { mergeProfiles } from './merge-profiles.js';
import { decideReview, openMatchReview } from './review-queue.js';
import { DEFAULT_IDENTITY_RULES } from './rules.js';
import { unmergeProfiles } from './unmerge-profiles.js';

/**
 * Merge, review decision and unmerge on every store adapter (SQLite always, PostgreSQL when configured): the same
 * domain functions over each adapter's SQL, row locks and write transactions. The behaviour in detail is tested
 * through the HTTP API on SQLite (`unmerge.test.ts`, `review-queue.test.ts`, `merge-profiles.test.ts`).
 */

const T0 = Date.UTC(2026, 2, 1);
const SOURCE = newUuid();

for (const db of testDatabases()) {
  const suite = db.skip ? describe.skip : describe;
  suite(`identity management on ${db.name}${db.skip ? ` (skipped: ${db.skip})` : ''}`, () => {
    let s: Storage;
    beforeEach(async () => {
      s = await db.create();
    });
    afterEach(async () => {
      await s.close();
    });

    /** A profile with one identifier and one observed trait, as the pipeline would have written them. */
    async function person(createdAt: number, identifier: [string, string], traits: Record<string, unknown>) {
      const id = newUuid();
      const eventId = newUuid();
      await s.profiles.create({
        id,
        createdAt,
        updatedAt: createdAt,
        traits,
        traitTimes: Object.fromEntries(Object.keys(traits).map((k) => [k, createdAt])),
      });
      await s.identities.link([
        {
          type: identifier[0],
          value: identifier[1],
          profileId: id,
          sourceId: SOURCE,
          eventId,
          firstSeenAt: createdAt,
          createdAt,
        },
      ]);
      const event: EventRow = {
        id: eventId,
        logPosition: createdAt,
        sourceId: SOURCE,
        type: 'identify',
        name: null,
        messageId: `m-${eventId}`,
        profileId: id,
        userId: null,
        anonymousId: null,
        timestamp: createdAt,
        receivedAt: createdAt,
        properties: null,
        traits,
        context: null,
      };
      await s.events.insert([event]);
      await s.history.insert(
        Object.entries(traits).map(([trait, value]) => ({
          id: newUuid(),
          profileId: id,
          trait,
          value,
          validFrom: createdAt,
          validTo: null,
          recordedAt: createdAt,
          supersededAt: null,
          sourceId: SOURCE,
          eventId,
        })),
      );
      return id;
    }
    const deps = () => ({ storage: s, golden: goldenRecords });
    const input = (profileIds: string[], now: number) => ({
      profileIds,
      rule: 'probabilistic',
      evidence: { match: { probability: 0.99, weight: 9, fields: [] } },
      now,
      validAt: now,
      settingsVersion: 0,
      rules: DEFAULT_IDENTITY_RULES,
    });

    it('merges, refuses a limit, decides a review and unmerges', async () => {
      const a = await person(T0, ['user_id', 'u1'], { plan: 'pro' });
      const b = await person(T0 + 1000, ['anonymous_id', 'x'], { plan: 'free', city: 'Oslo' });
      const c = await person(T0 + 2000, ['user_id', 'u2'], { plan: 'gold' });

      expect(await mergeProfiles(deps(), input([b, a], T0 + 10_000))).toMatchObject({
        ok: true,
        survivorId: a,
        merged: [b],
      });
      expect((await s.profiles.get([a]))[0].traits).toEqual({ plan: 'free', city: 'Oslo' });
      expect(await mergeProfiles(deps(), input([c, b], T0 + 11_000))).toMatchObject({
        ok: false,
        reason: 'limit_exceeded',
      });
      expect((await s.identities.resolve([c])).get(c)).toBe(c);

      const review = await openMatchReview(s.identities, {
        leftId: c,
        rightId: a,
        match: { probability: 0.6, weight: 1, fields: [] },
        reason: 'between_thresholds',
        now: T0 + 12_000,
      });
      const rejected = await s.transaction(
        (tx) =>
          decideReview(tx, goldenRecords, {
            reviewId: review?.id as string,
            status: 'rejected',
            by: 'tok_test',
            now: T0 + 13_000,
            rules: DEFAULT_IDENTITY_RULES,
            settingsVersion: 0,
          }),
        { write: true },
      );
      expect(rejected.row).toMatchObject({ status: 'rejected', decidedBy: 'tok_test', decidedAt: T0 + 13_000 });

      const result = await unmergeProfiles(deps(), {
        profileId: b,
        split: [b],
        reason: 'not the same',
        decidedBy: 'tok_test',
        now: T0 + 20_000,
        settingsVersion: 0,
      });
      expect(result.parts).toEqual([
        { rootId: a, memberIds: [] },
        { rootId: b, memberIds: [] },
      ]);
      expect(await s.identities.resolve([a, b])).toEqual(
        new Map([
          [a, a],
          [b, b],
        ]),
      );
      expect((await s.profiles.get([a]))[0].traits).toEqual({ plan: 'pro' });
      const decisions = await loadMatchDecisions(s.identities);
      expect(decisions.map((d) => [d.decision, d.origin]).sort()).toEqual([
        ['rejected', 'review'],
        ['rejected', 'unmerge'],
      ]);
      expect(await s.identities.unmerges([a])).toEqual([
        expect.objectContaining({ survivorId: a, profileId: b, reason: 'not the same', unmergedAt: T0 + 20_000 }),
      ]);
    });
  });
}
