import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveMessageId, fileIdentity } from './derive-message-id.js';

const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('deriveMessageId', () => {
  it('is a UUID-shaped (version 8) string', () => {
    expect(deriveMessageId(['src_1', 'abc', '2'])).toMatch(UUID_V8);
  });

  it('is deterministic (a pinned value, so a change of algorithm is seen)', () => {
    expect(deriveMessageId(['src_1', 'abc', '2'])).toBe(deriveMessageId(['src_1', 'abc', '2']));
    expect(deriveMessageId(['src_1', 'abc', '2'])).toBe('5c02d229-7bc9-8a19-88c5-012a887ef254');
    // SHA-256 of nothing is e3b0c44298fc1c14 9afbf4c8996fb924…, with the version and variant bits set.
    expect(deriveMessageId([])).toBe('e3b0c442-98fc-8c14-9afb-f4c8996fb924');
  });

  it.each([
    [
      ['src_1', 'abc', '2'],
      ['src_2', 'abc', '2'],
    ],
    [
      ['src_1', 'abc', '2'],
      ['src_1', 'abd', '2'],
    ],
    [
      ['src_1', 'abc', '2'],
      ['src_1', 'abc', '3'],
    ],
    [
      ['ab', 'c'],
      ['a', 'bc'],
    ],
    [['a:b'], ['a', 'b']],
    [['x'], ['x', '']],
  ])('%j and %j differ', (a, b) => {
    expect(deriveMessageId(a)).not.toBe(deriveMessageId(b));
  });
});

describe('fileIdentity', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-file-identity-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is the SHA-256 of the content, whatever the path', async () => {
    await writeFile(join(dir, 'a.csv'), 'id\n1\n');
    await writeFile(join(dir, 'copy-of-a.csv'), 'id\n1\n');
    await writeFile(join(dir, 'b.csv'), 'id\n2\n');
    const a = await fileIdentity(join(dir, 'a.csv'));
    expect(a).toBe(createHash('sha256').update('id\n1\n').digest('hex'));
    expect(await fileIdentity(join(dir, 'copy-of-a.csv'))).toBe(a);
    expect(await fileIdentity(join(dir, 'b.csv'))).not.toBe(a);
  });

  it('streams large files', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'x');
    await writeFile(join(dir, 'big.csv'), big);
    expect(await fileIdentity(join(dir, 'big.csv'))).toBe(createHash('sha256').update(big).digest('hex'));
  });
});
