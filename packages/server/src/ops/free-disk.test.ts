import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freeDiskOf } from './free-disk.js';

describe('freeDiskOf', () => {
  it('answers the free bytes of the directory, read again only once the reading is older than maxAgeMs', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-free-disk-'));
    const cached = freeDiskOf(dir, 60_000);
    const fresh = freeDiskOf(dir, 0);
    const first = cached();
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(Number.MAX_SAFE_INTEGER);
    expect(fresh()).toBeGreaterThan(0);
    rmSync(dir, { recursive: true });
    // The directory is gone: the cached reading stands, a fresh one finds nothing to read and sets no floor.
    expect(cached()).toBe(first);
    expect(fresh()).toBe(Number.MAX_SAFE_INTEGER);
  });
});
