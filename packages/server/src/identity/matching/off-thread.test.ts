import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PEOPLE_MATCH_CONFIG } from '../../bench/people-match-config.js';
import { generateSyntheticPeople, toMatchRecords } from '../../bench/synthetic-people.js';
import { cannotLinkOf, runMatchJob } from './off-thread.js';

// The worker thread runs from compiled JavaScript only (like the writer thread): this test loads the built module.
const BUILT = fileURLToPath(new URL('../../../dist/identity/matching/off-thread.js', import.meta.url));
const IN_CI = ['1', 'true', 'yes'].includes((process.env.CI ?? '').toLowerCase());
if (!existsSync(BUILT) && !IN_CI)
  console.warn(`[off-thread.test] worker test skipped: ${BUILT} is missing; run npm run build`);

describe('matching off the main thread', () => {
  it('cannot-link constraints as data', () => {
    const cannot = cannotLinkOf({
      rejected: [[3, 1]],
      exclusive: [{ type: 'user_id', values: ['u1', undefined, 'u2', 'u1'] }],
    });
    expect(cannot(1, 3)).toBe('rejected_before');
    expect(cannot(0, 2)).toBe('identity_limit:user_id');
    expect(cannot(0, 3)).toBeUndefined();
    expect(cannot(0, 1)).toBeUndefined();
  });

  it.runIf(existsSync(BUILT) || IN_CI)(
    'the event loop keeps turning while a worker matches, with the same result',
    async () => {
      const { matchOffThread } = (await import(BUILT)) as typeof import('./off-thread.js');
      const records = toMatchRecords(generateSyntheticPeople(30_000, { seed: 3 }));
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const started = performance.now();
      const phases: string[] = [];
      const result = await matchOffThread(records, PEOPLE_MATCH_CONFIG, {
        onProgress: (phase) => {
          if (phases.at(-1) !== phase) phases.push(phase);
        },
      });
      const elapsed = performance.now() - started;
      clearInterval(timer);
      // A blocked loop would tick once or twice in all; a free one about every 5 ms (loosely: the machine is shared).
      expect(ticks).toBeGreaterThan(Math.min(20, elapsed / 50));
      expect(phases).toContain('clustering');
      expect(Array.from(result.cluster)).toEqual(
        Array.from(runMatchJob({ records, config: PEOPLE_MATCH_CONFIG }).cluster),
      );
    },
    120_000,
  );

  it.runIf(existsSync(BUILT) || IN_CI)('an invalid configuration fails with its TesseraError code', async () => {
    const { matchOffThread } = (await import(BUILT)) as typeof import('./off-thread.js');
    const records = toMatchRecords(generateSyntheticPeople(100, { seed: 3 }));
    const bad = {
      fields: [
        { name: 'surname', kind: 'name' as const },
        { name: 'surname', kind: 'name' as const },
      ],
    };
    await expect(matchOffThread(records, bad)).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
