import { describe, expect, it } from 'vitest';
import { SeenFilter } from './seen-filter.js';

const SOURCE = '0190f3c2-5a1b-7c3d-8e4f-a1b2c3d4e5f6';

describe('SeenFilter (the processed-message filter)', () => {
  it('finds every key added (no false negatives), plainly and atomically', () => {
    for (const shared of [true, false]) {
      const filter = SeenFilter.forCapacity(20_000);
      filter.shared = shared;
      for (let i = 0; i < 20_000; i++) filter.add(SOURCE, `msg-${i}`);
      let missing = 0;
      for (let i = 0; i < 20_000; i++) if (!filter.mightContain(SOURCE, `msg-${i}`)) missing++;
      expect(missing).toBe(0);
    }
  });

  it('finds keys never added rarely: under 2 % at its capacity', () => {
    const filter = SeenFilter.forCapacity(50_000);
    for (let i = 0; i < filter.capacity; i++) filter.add(SOURCE, `m${i}`);
    let found = 0;
    const probes = 100_000;
    for (let i = 0; i < probes; i++) if (filter.mightContain(SOURCE, `other-${i}`)) found++;
    expect(found / probes).toBeLessThan(0.02);
    expect(found).toBeGreaterThan(0); // a Bloom filter at capacity does answer some false positives
  });

  it('tells the same message id of two sources apart', () => {
    const filter = SeenFilter.forCapacity(1000);
    for (let i = 0; i < 1000; i++) filter.add('source-a', `id-${i}`);
    let found = 0;
    for (let i = 0; i < 1000; i++) if (filter.mightContain('source-b', `id-${i}`)) found++;
    expect(found).toBeLessThan(20);
  });

  it('shares its bits with another view of the same buffer (the scanning thread)', () => {
    const filter = SeenFilter.forCapacity(1000);
    const other = new SeenFilter(filter.buffer);
    other.add(SOURCE, 'seen-by-the-scan');
    filter.acquire();
    expect(filter.mightContain(SOURCE, 'seen-by-the-scan')).toBe(true);
  });

  it('is sized in powers of two, within its bounds', () => {
    expect(SeenFilter.forCapacity(0).buffer.byteLength).toBe(32); // one block
    const small = SeenFilter.forCapacity(1_000_000);
    expect(small.capacity).toBeGreaterThanOrEqual(1_000_000);
    expect(Math.log2(small.buffer.byteLength) % 1).toBe(0);
    expect(SeenFilter.forCapacity(10_000_000_000).buffer.byteLength).toBe(SeenFilter.MAX_BITS / 8);
    expect(() => new SeenFilter(new SharedArrayBuffer(48))).toThrow(/power of two/);
  });
});
