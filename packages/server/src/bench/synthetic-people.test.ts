import { describe, expect, it } from 'vitest';
import { exactKeyClusters } from './exact-key-dedupe.js';
import { generateSyntheticPeople, PERSON_COLUMNS, toMatchRecords } from './synthetic-people.js';

describe('synthetic people', () => {
  const started = performance.now();
  const people = generateSyntheticPeople(10_000, { seed: 7 });
  const seconds = (performance.now() - started) / 1000;

  it('generates 10,000 records quickly', () => {
    expect(people.size).toBe(10_000);
    expect(seconds).toBeLessThan(5);
  });

  it('is deterministic for a seed, and another seed gives other records', () => {
    const again = generateSyntheticPeople(10_000, { seed: 7 });
    expect(again.entity).toEqual(people.entity);
    expect(again.corruptions).toEqual(people.corruptions);
    for (const c of PERSON_COLUMNS) expect(again.columns[c]).toEqual(people.columns[c]);
    const other = generateSyntheticPeople(10_000, { seed: 8 });
    expect(other.columns.surname).not.toEqual(people.columns.surname);
  });

  it('has one original per entity, and duplicates that share its entity id and differ from it', () => {
    const originals = new Map<number, number>();
    for (let i = 0; i < people.size; i++) {
      if (people.corruptions[i] > 0) continue;
      expect(originals.has(people.entity[i])).toBe(false);
      originals.set(people.entity[i], i);
    }
    expect(originals.size).toBe(people.entities);
    const duplicates = new Map<number, number>();
    for (let i = 0; i < people.size; i++) {
      if (people.corruptions[i] === 0) continue;
      const o = originals.get(people.entity[i]);
      expect(o).toBeDefined();
      expect(PERSON_COLUMNS.some((c) => people.columns[c][i] !== people.columns[c][o as number])).toBe(true);
      duplicates.set(people.entity[i], (duplicates.get(people.entity[i]) ?? 0) + 1);
    }
    for (const count of duplicates.values()) expect(count).toBeGreaterThanOrEqual(1);
    for (const count of duplicates.values()) expect(count).toBeLessThanOrEqual(3);
    // About 20 % of entities have duplicates, 1.7 corruptions a duplicate on average (weights 50 / 30 / 20).
    expect(duplicates.size / people.entities).toBeGreaterThan(0.18);
    expect(duplicates.size / people.entities).toBeLessThan(0.22);
    let corruptions = 0;
    for (let i = 0; i < people.size; i++) corruptions += people.corruptions[i];
    expect(corruptions / (people.size - people.entities)).toBeGreaterThan(1.55);
    expect(corruptions / (people.size - people.entities)).toBeLessThan(1.85);
  });

  it('follows the configured duplicate rate', () => {
    const none = generateSyntheticPeople(2_000, { seed: 3, duplicateRate: 0 });
    expect(none.entities).toBe(2_000);
    const half = generateSyntheticPeople(5_000, { seed: 3, duplicateRate: 0.5 });
    // 1 + 0.5 × 1.7 records a person on average.
    expect(half.entities / half.size).toBeGreaterThan(0.51);
    expect(half.entities / half.size).toBeLessThan(0.57);
  });

  it('writes originals in the FEBRL formats, with suburbs, postcodes and states that agree', () => {
    const place = new Map<string, string>();
    const c = people.columns;
    for (let i = 0; i < people.size; i++) {
      if (people.corruptions[i] > 0) continue;
      if (c.date_of_birth[i]) expect(c.date_of_birth[i]).toMatch(/^(19[2-9]\d|200\d|201[0-4])(0[1-9]|1[0-2])\d\d$/);
      if (c.postcode[i]) expect(c.postcode[i]).toMatch(/^\d{4}$/);
      if (c.soc_sec_id[i]) expect(c.soc_sec_id[i]).toMatch(/^\d{7}$/);
      if (c.phone[i]) expect(c.phone[i]).toMatch(/^04\d{8}$/);
      if (c.email[i]) expect(c.email[i]).toMatch(/^[a-z0-9._]+@[a-z.]+$/);
      if (!c.suburb[i] || !c.postcode[i] || !c.state[i]) continue;
      const key = `${c.suburb[i]}|${c.state[i]}`;
      expect(place.get(key) ?? c.postcode[i]).toBe(c.postcode[i]);
      place.set(key, c.postcode[i]);
    }
    expect(new Set(c.surname).size).toBeGreaterThan(2_000);
  });

  it('gives the matcher records of one shape', () => {
    const records = toMatchRecords(people);
    expect(records).toHaveLength(people.size);
    const keys = Object.keys(records[0]).join();
    expect(keys).toBe(PERSON_COLUMNS.join());
    for (const r of records.slice(0, 100)) expect(Object.keys(r).join()).toBe(keys);
    expect(records[5].surname).toBe(people.columns.surname[5]);
  });

  it('leaves the exact-key baseline well short of full recall', () => {
    const cluster = exactKeyClusters(toMatchRecords(people));
    let together = 0;
    let pairs = 0;
    const first = new Map<number, number>();
    for (let i = 0; i < people.size; i++) {
      const o = first.get(people.entity[i]);
      if (o === undefined) first.set(people.entity[i], i);
      else {
        pairs++;
        if (cluster[o] === cluster[i]) together++;
      }
    }
    expect(together / pairs).toBeGreaterThan(0.5);
    expect(together / pairs).toBeLessThan(0.95);
  });
});
