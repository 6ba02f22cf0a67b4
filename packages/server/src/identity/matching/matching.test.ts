import type { MatchConfig, MatchLevel } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { blockingKeys, candidatePairs } from './blocking.js';
import { clusterPairs } from './cluster.js';
import { compileComparator, withinOneEdit } from './compare.js';
import { combineWeights, FieldColumn, groupIndex, normaliseValue, resolveField } from './fields.js';
import { explainer, inferConfig, matchRecords, pairwiseScore, parseMatchConfig } from './index.js';

/** The level a pair of values reaches under these levels: 0 missing, k the k-th level, levels + 1 else. */
function levelOf(
  kind: Parameters<typeof resolveField>[0]['kind'],
  levels: MatchLevel[],
  a: string,
  b: string,
  other?: [string, string],
) {
  const records = [
    { f: a, g: other?.[0] ?? '' },
    { f: b, g: other?.[1] ?? '' },
  ];
  const col = new FieldColumn(resolveField({ name: 'f', kind, levels }), records);
  const columns = new Map([
    ['f', col],
    ['g', new FieldColumn(resolveField({ name: 'g', kind: 'name' }), records)],
  ]);
  return compileComparator(col, levels, columns)(0, 1);
}

describe('comparison levels', () => {
  const table: [string, Parameters<typeof resolveField>[0]['kind'], MatchLevel, string, string, boolean][] = [
    ['exact after normalising case and spaces', 'name', { type: 'exact' }, ' Anna  Lee', 'anna lee', true],
    ['jaro-winkler holds', 'name', { type: 'jaro_winkler', min: 0.9 }, 'martha', 'marhta', true],
    ['jaro-winkler fails', 'name', { type: 'jaro_winkler', min: 0.9 }, 'martha', 'mortimer', false],
    ['jaro', 'name', { type: 'jaro', min: 0.9 }, 'martha', 'marhta', true],
    ['levenshtein 1', 'id', { type: 'levenshtein', max: 1 }, '1234567', '1234557', true],
    ['levenshtein counts a transposition as 2', 'id', { type: 'levenshtein', max: 1 }, '1234567', '1243567', false],
    [
      'damerau-levenshtein counts a transposition as 1',
      'id',
      { type: 'damerau_levenshtein', max: 1 },
      '1234567',
      '1243567',
      true,
    ],
    [
      'levenshtein ratio',
      'address',
      { type: 'levenshtein_ratio', min: 0.8 },
      'tullaroop street',
      'tullarop street',
      true,
    ],
    ['metaphone', 'name', { type: 'metaphone' }, 'neumann', 'newman', true],
    ['metaphone differs', 'name', { type: 'metaphone' }, 'smith', 'jones', false],
    ['token set (word order)', 'address', { type: 'token_set', min: 0.9 }, 'lee anna', 'anna lee', true],
    ['date within', 'date', { type: 'date_within', days: 31 }, '19900110', '1990-02-01', true],
    ['date not within', 'date', { type: 'date_within', days: 31 }, '19900110', '19910110', false],
    ['date day/month swapped', 'date', { type: 'date_swapped' }, '19900503', '19900305', true],
    ['date formats are normalised', 'date', { type: 'exact' }, '03/05/1990', '19900503', true],
    ['number within (relative)', 'number', { type: 'number_within', rel: 0.1 }, '100', '95', true],
    ['number within (absolute)', 'number', { type: 'number_within', abs: 2 }, '100', '95', false],
    ['prefix', 'name', { type: 'prefix', length: 3 }, 'christopher', 'christine', true],
    ['phone digits only', 'phone', { type: 'exact' }, '+61 (2) 9999-0000', '61299990000', true],
    ['phone with and without country code', 'phone', { type: 'exact' }, '+61 412 345 678', '0412345678', true],
  ];
  for (const [name, kind, level, a, b, holds] of table) {
    it(name, () => expect(levelOf(kind, [level], a, b)).toBe(holds ? 1 : 2));
  }
  it('a missing value is level 0 (no evidence), whatever the levels', () => {
    expect(levelOf('name', [{ type: 'exact' }], 'anna', '')).toBe(0);
  });
  it('levels are tried in order: the first that holds wins', () => {
    const levels: MatchLevel[] = [
      { type: 'exact' },
      { type: 'jaro_winkler', min: 0.9 },
      { type: 'jaro_winkler', min: 0.7 },
    ];
    expect(levelOf('name', levels, 'martha', 'martha')).toBe(1);
    expect(levelOf('name', levels, 'martha', 'marhta')).toBe(2);
    expect(levelOf('name', levels, 'martha', 'marta')).toBe(2);
    expect(levelOf('name', levels, 'dwayne', 'duane')).toBe(3);
    expect(levelOf('name', levels, 'anna', 'bob')).toBe(4);
  });
  it('swapped names: a.f = b.g and a.g = b.f', () => {
    const levels: MatchLevel[] = [{ type: 'exact' }, { type: 'swapped', with: 'g' }];
    expect(levelOf('name', levels, 'lee', 'anna', ['anna', 'lee'])).toBe(2);
    expect(levelOf('name', levels, 'lee', 'anna', ['anna', 'smith'])).toBe(3);
  });
  it('normalises by kind', () => {
    expect(normaliseValue('email', ' Anna.Lee@Example.COM ')).toBe('anna.lee@example.com');
    expect(normaliseValue('postcode', 'SW1A 1AA')).toBe('sw1a1aa');
    expect(normaliseValue('date', '1990-05-03T10:00:00Z')).toBe('19900503');
  });
});

describe('withinOneEdit agrees with Damerau-Levenshtein ≤ 1', () => {
  const words = [
    '',
    'a',
    'ab',
    'ba',
    'abc',
    'acb',
    'bac',
    'abd',
    'abcd',
    'abdc',
    'xbcd',
    'abc d',
    'martha',
    'marhta',
    'marta',
    'mrtha',
  ];
  it('on every pair of a word list', async () => {
    const { default: dl } = await import('talisman/metrics/damerau-levenshtein.js');
    for (const a of words) for (const b of words) expect(withinOneEdit(a, b), `${a} / ${b}`).toBe(dl(a, b) <= 1);
  });
});

describe('field groups (evidence that varies together counts once)', () => {
  const { groupOf, groups } = groupIndex([{}, { group: 'address' }, { group: 'address' }, { group: 'address' }]);
  const table: [string, number[], number][] = [
    ['no group: a plain sum', [2, 0, 0, 0], 2],
    ['a household: the strongest agreement of the address counts, not the sum', [-3, 7, 8, 2], 5],
    ['same town, other street: strongest agreement plus strongest disagreement', [0, 6, -4, -2], 2],
    ['moved: the strongest disagreement only', [3, -4, -5, -1], -2],
    ['missing parts count for nothing', [1, 0, 0, 0], 1],
  ];
  for (const [name, weights, total] of table)
    it(name, () => expect(combineWeights(weights, groupOf, groups)).toBe(total));
});

describe('blocking', () => {
  const records = [
    { s: 'smith', d: '1' },
    { s: 'smyth', d: '1' },
    { s: 'smith', d: '2' },
    { s: 'jones', d: '1' },
    { s: '', d: '3' },
    { s: 'brown', d: '3' },
  ];
  const cols = new Map<string, FieldColumn>();
  const column = (name: string) => {
    let c = cols.get(name);
    if (!c) {
      c = new FieldColumn(resolveField({ name, kind: 'name' }), records);
      cols.set(name, c);
    }
    return c;
  };
  it('unions the rules, each pair once, and records which rules a pair satisfies', () => {
    const keys = blockingKeys([[{ field: 's', transform: 'metaphone' }], [{ field: 'd' }]], column, records.length);
    const pairs = candidatePairs(keys, records.length, { maxBlockSize: 10 });
    const got = Array.from({ length: pairs.count }, (_, k) => `${pairs.a[k]}-${pairs.b[k]}:${pairs.rules[k]}`).sort();
    // smith/smyth/smith share a metaphone (rule 0); d=1 joins 0,1,3 (rule 1); d=3 joins 4,5 (5 has no s… 4 has none).
    expect(got).toEqual(['0-1:3', '0-2:1', '0-3:2', '1-2:1', '1-3:2', '4-5:2']);
  });
  it('skips and reports a block over maxBlockSize', () => {
    const keys = blockingKeys([[{ field: 'd' }]], column, records.length);
    const pairs = candidatePairs(keys, records.length, { maxBlockSize: 2 });
    expect(pairs.skippedBlocks).toEqual([{ rule: 0, key: '1', size: 3 }]);
    expect(pairs.count).toBe(1);
  });
  it('links only across sides', () => {
    const keys = blockingKeys([[{ field: 'd' }]], column, records.length);
    const pairs = candidatePairs(keys, records.length, { maxBlockSize: 10, side: Uint8Array.from([0, 1, 0, 0, 0, 1]) });
    expect(Array.from(pairs.a)).toEqual([0, 1, 4]);
    expect(Array.from(pairs.b)).toEqual([1, 3, 5]);
  });
});

describe('clustering guards', () => {
  const pair = (a: number, b: number, probability: number) => ({ a, b, probability, weight: 0 });
  const scores = new Map<string, number>([
    ['0-1', 0.99],
    ['1-2', 0.95],
    ['0-2', 0.1],
    ['3-4', 0.7],
  ]);
  const score = (i: number, j: number) => scores.get(`${Math.min(i, j)}-${Math.max(i, j)}`) ?? 0;
  const base = { autoMerge: 0.9, maxClusterSize: 50, minLinkProbability: 0.5, score };
  const input = [pair(0, 1, 0.99), pair(1, 2, 0.95), pair(3, 4, 0.7)];
  it('a chain through a weak link is cut and the weaker pair goes to review', () => {
    const r = clusterPairs(5, input, base);
    expect(r.cluster[0]).toBe(r.cluster[1]);
    expect(r.cluster[2]).not.toBe(r.cluster[1]);
    expect(r.review.map((p) => [p.a, p.b, p.reason])).toEqual([
      [1, 2, 'weak_link'],
      [3, 4, 'between_thresholds'],
    ]);
  });
  it('without the weak pair, the chain joins', () => {
    const r = clusterPairs(5, input, { ...base, minLinkProbability: 0.05 });
    expect(r.cluster[0]).toBe(r.cluster[2]);
  });
  it('max cluster size', () => {
    const r = clusterPairs(5, input, { ...base, minLinkProbability: 0, maxClusterSize: 2 });
    expect(r.review[0]).toMatchObject({ a: 1, b: 2, reason: 'max_cluster_size' });
  });
  it('cannot-link sends the pair to review with its reason; must-link merges', () => {
    const r = clusterPairs(5, input, {
      ...base,
      cannotLink: (a, b) => (a + b === 1 ? 'rejected_in_review' : undefined),
      mustLink: [[3, 4]],
    });
    expect(r.cluster[0]).not.toBe(r.cluster[1]);
    expect(r.cluster[3]).toBe(r.cluster[4]);
    expect(r.review.find((p) => p.a === 0)?.reason).toBe('rejected_in_review');
  });
});

describe('evaluation', () => {
  it('pairwise precision, recall and F1', () => {
    // truth {0,1,2} {3}; predicted {0,1} {2,3}: true pairs 3, predicted 2, correct 1.
    const s = pairwiseScore([0, 0, 1, 1], ['a', 'a', 'a', 'b']);
    expect(s).toMatchObject({ truePairs: 3, predictedPairs: 2, truePositives: 1 });
    expect(s.precision).toBe(0.5);
    expect(s.recall).toBeCloseTo(1 / 3);
  });
  it('linking counts only pairs across the two sides', () => {
    const s = pairwiseScore([0, 0, 0], ['a', 'a', 'a'], Uint8Array.from([0, 0, 1]));
    expect(s).toMatchObject({ truePairs: 2, predictedPairs: 2, truePositives: 2, f1: 1 });
  });
});

describe('configuration', () => {
  it('names the offending field', () => {
    expect(() => parseMatchConfig({ fields: [{ name: 'a', kind: 'nme' }] })).toThrow(/fields\.0\.kind/);
    expect(() =>
      parseMatchConfig({ fields: [{ name: 'a', kind: 'name', levels: [{ type: 'jaro_winkler', min: 2 }] }] }),
    ).toThrow(/fields\.0\.levels\.0\.min/);
    expect(() =>
      parseMatchConfig({ fields: [{ name: 'a', kind: 'name', levels: [{ type: 'swapped', with: 'b' }] }] }),
    ).toThrow(/"b" is not a configured field/);
    expect(() =>
      parseMatchConfig({ fields: [{ name: 'a', kind: 'name' }], thresholds: { autoMerge: 0.5, review: 0.9 } }),
    ).toThrow(/review exceeds autoMerge/);
  });
  it('auto infers kinds from names and values', () => {
    const records = Array.from({ length: 200 }, (_, i) => ({
      first_name: ['anna', 'bob', 'carl', 'dora'][i % 4] + (i % 7),
      last_name: `name${i % 50}`,
      contact: `user${i}@example.com`,
      dob: `19${50 + (i % 40)}0${1 + (i % 9)}1${i % 9}`,
      mobile: `+61 4${String(10000000 + i)}`,
      zip: String(2000 + (i % 80)),
      country: ['au', 'nz'][i % 2],
      constant: 'x',
      note: '',
    }));
    const kinds = Object.fromEntries(inferConfig(records).fields.map((f) => [f.name, f.kind]));
    expect(kinds).toEqual({
      first_name: 'name',
      last_name: 'name',
      contact: 'email',
      dob: 'date',
      mobile: 'phone',
      zip: 'postcode',
      country: 'category',
    });
  });
});

describe('matchRecords', () => {
  // Three people, one with two noisy duplicates; names alone would join the two Smiths.
  const people = [
    { given: 'john', family: 'smith', dob: '19800101', email: 'john.smith@a.com' },
    { given: 'jon', family: 'smith', dob: '19800101', email: 'john.smith@a.com' },
    { given: 'john', family: 'smiht', dob: '19800110', email: 'johnsmith@a.com' },
    { given: 'john', family: 'smith', dob: '19640722', email: 'jsmith@b.org' },
    { given: 'mary', family: 'jones', dob: '19751212', email: 'mary@c.net' },
  ];
  // Other people: varied names, dates and addresses, as a real file has (EM learns from them what chance looks like).
  const givens = ['anna', 'ben', 'chloe', 'david', 'emma', 'felix', 'grace', 'henry', 'isla', 'jack', 'kate', 'liam'];
  const families = [
    'brown',
    'wilson',
    'taylor',
    'martin',
    'white',
    'walker',
    'green',
    'baker',
    'hill',
    'wood',
    'clark',
  ];
  const filler = Array.from({ length: 600 }, (_, i) => {
    const given = givens[(i * 7) % givens.length];
    const suffix = ['', 'son', 'ley', 'ford', 'well', 'ton', 'by', 'more'][Math.floor(i / 11) % 8];
    const family = `${families[i % 11]}${suffix}${'abcdefgh'[Math.floor(i / 88)]}`;
    return {
      given,
      family,
      dob: `19${String(40 + ((i * 13) % 50))}${String(1 + ((i * 3) % 12)).padStart(2, '0')}${String(1 + ((i * 11) % 28)).padStart(2, '0')}`,
      email: `${given}.${family}${i}@example.com`,
    };
  });
  // Duplicates among them, so that EM has matches to learn from.
  for (let i = 0; i < 60; i++) {
    const p = filler[i * 10];
    const swap = (v: string) => `${v.slice(0, 2)}${v[3]}${v[2]}${v.slice(4)}`;
    filler.push({
      given: i % 2 ? p.given : `${p.given.slice(0, -1)}`,
      family: i % 4 === 1 ? swap(p.family) : p.family,
      dob: i % 5 === 2 ? swap(p.dob.slice(4)).padStart(8, p.dob.slice(0, 4)) : p.dob,
      email: i % 3 ? p.email : i % 2 ? '' : p.email.replace('.', ''),
    });
  }
  const config: MatchConfig = {
    fields: [
      { name: 'given', kind: 'name' },
      { name: 'family', kind: 'name' },
      { name: 'dob', kind: 'date' },
      { name: 'email', kind: 'email' },
    ],
    blocking: [
      [{ field: 'family', transform: 'metaphone' }],
      [{ field: 'dob' }],
      [{ field: 'given' }, { field: 'email', transform: 'prefix', length: 4 }],
    ],
  };
  it('clusters duplicates, keeps namesakes apart, and explains a pair', () => {
    const records = [...people, ...filler];
    const r = matchRecords(records, config);
    expect(r.cluster[1]).toBe(r.cluster[0]);
    expect(r.cluster[2]).toBe(r.cluster[0]);
    expect(r.cluster[3]).not.toBe(r.cluster[0]);
    expect(
      pairwiseScore(
        r.cluster.slice(5),
        [...filler.keys()].map((i) => String(i < 600 ? i : (i - 600) * 10)),
      ).f1,
    ).toBeGreaterThan(0.95);
    const evidence = explainer(r.model, records)(0, 1);
    expect(evidence.probability).toBeGreaterThan(0.9);
    expect(evidence.fields.map((f) => [f.field, f.level])).toEqual([
      ['given', 'damerau_levenshtein<=1'],
      ['family', 'exact'],
      ['dob', 'exact'],
      ['email', 'exact'],
    ]);
    expect(evidence.fields[3].weight).toBeGreaterThan(0);
    const namesake = explainer(r.model, records)(0, 3);
    expect(namesake.probability).toBeLessThan(0.5);
    expect(namesake.fields.find((f) => f.field === 'dob')?.weight).toBeLessThan(0);
  });
  it('a set where no two records share a key: nothing to compare, every record alone', () => {
    const r = matchRecords(filler.slice(0, 3), 'auto');
    expect(r.stats.candidatePairs).toBe(0);
    expect(Array.from(r.cluster)).toEqual([0, 1, 2]);
  });
  it('is reproducible for a seed', () => {
    const records = [...people, ...filler];
    const a = matchRecords(records, config);
    const b = matchRecords(records, config);
    expect(Array.from(a.cluster)).toEqual(Array.from(b.cluster));
    expect(a.model).toEqual(b.model);
  });
});
