import { describe, expect, it } from 'vitest';
import { derivedUuid, newUuid } from './ids.js';

describe('newUuid', () => {
  it('makes RFC 9562 version-7 UUIDs whose first 48 bits are the time in ms', () => {
    const before = Date.now();
    const id = newUuid();
    const after = Date.now();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after + 1);
  });

  it('is strictly increasing and unique over many ids in the same milliseconds', () => {
    const ids = Array.from({ length: 200_000 }, newUuid);
    for (let i = 1; i < ids.length; i++) if (!(ids[i - 1] < ids[i])) expect.fail(`${ids[i - 1]} >= ${ids[i]}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps random bits: two ids of the same millisecond differ beyond the counter', () => {
    const tails = new Set(Array.from({ length: 1000 }, () => newUuid().slice(-10)));
    expect(tails.size).toBeGreaterThan(990);
  });
});

describe('derivedUuid', () => {
  it('gives the same UUID (version 8, RFC variant) for the same parts, another for other parts', () => {
    const a = derivedUuid('dest-1', 'change-1');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedUuid('dest-1', 'change-1')).toBe(a);
    expect(derivedUuid('dest-1', 'change-2')).not.toBe(a);
    // Parts are separated: moving a character between them changes the id.
    expect(derivedUuid('dest-1c', 'hange-1')).not.toBe(a);
  });
});
