import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMatchFiles, readMatchConfig } from '../../cli/commands/identity-match.js';
import { sharedDataDir } from '../../test/shared-data.js';
import { matchRecords, pairwiseScore } from './index.js';

// Done means of issue 4: pairwise F1 ≥ 0.95 on FEBRL 1, 2 (dedupe) and 4 (link) with one configuration per file
// shape (docs/examples/match-person-records.json), and ≥ 0.90 with `auto`. The truth is `rec-<N>` of rec_id,
// which the loader removes before matching.
const febrl = (f: string) => path.join(sharedDataDir(), 'identity', 'febrl', f);
const example = path.resolve(import.meta.dirname, '../../../../../docs/examples/match-person-records.json');
const cases: [string, string[]][] = [
  ['FEBRL 1 (dedupe)', ['dataset1.csv']],
  ['FEBRL 2 (dedupe)', ['dataset2.csv']],
  ['FEBRL 4 (link)', ['dataset4a.csv', 'dataset4b.csv']],
];

describe('FEBRL', () => {
  for (const [name, files] of cases) {
    for (const [config, minimum] of [
      [example, 0.95],
      ['auto', 0.9],
    ] as const) {
      it(`${name}, ${config === 'auto' ? 'auto' : 'documented'} configuration: F1 ≥ ${minimum}`, async () => {
        const loaded = await loadMatchFiles(files.map(febrl), {
          idColumn: 'rec_id',
          truthColumn: 'rec_id',
          truthRegex: 'rec-(\\d+)',
        });
        expect(loaded.records.every((r) => !('rec_id' in r))).toBe(true);
        const result = matchRecords(loaded.records, readMatchConfig(config), { side: loaded.side });
        const score = pairwiseScore(result.cluster, loaded.truth ?? [], loaded.side);
        console.log(
          `${name} ${config === 'auto' ? 'auto' : 'documented'}: P ${score.precision.toFixed(4)} R ${score.recall.toFixed(4)} F1 ${score.f1.toFixed(4)}`,
        );
        expect(score.f1).toBeGreaterThanOrEqual(minimum);
      }, 60_000);
    }
  }
});
