import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TesseraError } from '../../errors.js';
import { readBody } from './read-body.js';

const LIMIT = 500 * 1024;

/** Yields `data` in `size`-byte chunks and records how much was pulled, like a request stream would. */
function chunked(data: Buffer, size = 16 * 1024): AsyncIterable<Buffer> & { pulled: number; returned: boolean } {
  const source = {
    pulled: 0,
    returned: false,
    [Symbol.asyncIterator]() {
      let offset = 0;
      return {
        next: async (): Promise<IteratorResult<Buffer>> => {
          if (offset >= data.length) return { done: true, value: undefined };
          const chunk = data.subarray(offset, offset + size);
          offset += chunk.length;
          source.pulled += chunk.length;
          return { done: false, value: chunk };
        },
        return: async (): Promise<IteratorResult<Buffer>> => {
          source.returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return source;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TesseraError);
    return (err as TesseraError).code;
  }
  throw new Error('expected a TesseraError');
}

const json = Buffer.from(JSON.stringify({ batch: [{ type: 'track', event: 'Signed Up', userId: 'u1' }] }));

describe('readBody', () => {
  it.each([
    ['absent', undefined, json],
    ['empty', '', json],
    ['identity', 'identity', json],
    ['gzip', 'gzip', gzipSync(json)],
    ['x-gzip, upper case', 'X-GZIP', gzipSync(json)],
    ['deflate (zlib-wrapped)', 'deflate', deflateSync(json)],
    ['deflate (raw, as some clients send it)', 'deflate', deflateRawSync(json)],
    [
      'two concatenated gzip members',
      'gzip',
      Buffer.concat([gzipSync(json.subarray(0, 10)), gzipSync(json.subarray(10))]),
    ],
  ])('decodes a body with content-encoding %s', async (_name, encoding, body) => {
    const out = await readBody(chunked(body, 7), { encoding, maxBytes: LIMIT });
    expect(out.equals(json)).toBe(true);
  });

  it('round-trips a large gzip body just under the limit', async () => {
    const big = Buffer.from(JSON.stringify({ data: 'x'.repeat(LIMIT - 20) }));
    const out = await readBody(chunked(gzipSync(big)), { encoding: 'gzip', maxBytes: LIMIT });
    expect(out.length).toBe(big.length);
    expect(out.equals(big)).toBe(true);
  });

  it('accepts exactly maxBytes and rejects one byte more (identity)', async () => {
    expect((await readBody(chunked(Buffer.alloc(100)), { encoding: undefined, maxBytes: 100 })).length).toBe(100);
    expect(await codeOf(readBody(chunked(Buffer.alloc(101)), { encoding: undefined, maxBytes: 100 }))).toBe(
      'payload_too_large',
    );
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
  ])('measures the limit on decompressed bytes (%s)', async (encoding, compress) => {
    const body = compress(Buffer.alloc(LIMIT + 1, 0x20));
    expect(body.length).toBeLessThan(LIMIT);
    expect(await codeOf(readBody(chunked(body), { encoding, maxBytes: LIMIT }))).toBe('payload_too_large');
  });

  it('stops a 50 MB gzip bomb at the limit, fast', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    const started = performance.now();
    expect(await codeOf(readBody(chunked(bomb), { encoding: 'gzip', maxBytes: LIMIT }))).toBe('payload_too_large');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('stops a 2 GB gzip bomb without inflating it or reading it all', async () => {
    // 2,048 concatenated members of 1 MiB of zeros: ~2 MB on the wire, 2 GiB inflated.
    const member = gzipSync(Buffer.alloc(1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 2048 }, () => member));
    const source = chunked(bomb);
    const rssBefore = process.memoryUsage().rss;
    expect(await codeOf(readBody(source, { encoding: 'gzip', maxBytes: LIMIT }))).toBe('payload_too_large');
    expect(source.pulled).toBeLessThan(bomb.length / 10);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
  });

  it('caps compressed input that inflates to nothing', async () => {
    const empty = gzipSync(Buffer.alloc(0));
    const endless = Buffer.concat(Array.from({ length: 2000 }, () => empty));
    expect(await codeOf(readBody(chunked(endless), { encoding: 'gzip', maxBytes: 10_000 }))).toBe('payload_too_large');
  });

  it('leaves the source open when it gives up, so the error answer can still be written', async () => {
    const source = chunked(Buffer.alloc(1000));
    await codeOf(readBody(source, { encoding: undefined, maxBytes: 10 }));
    const gzSource = chunked(gzipSync(Buffer.alloc(1024 * 1024)), 64);
    await codeOf(readBody(gzSource, { encoding: 'gzip', maxBytes: 10 }));
    expect(source.returned).toBe(false);
    expect(gzSource.returned).toBe(false);
  });

  it.each([
    ['corrupt gzip', 'gzip', Buffer.from('this is not gzip at all')],
    ['truncated gzip', 'gzip', gzipSync(json).subarray(0, 20)],
    ['gzip with a bad checksum', 'gzip', corruptTrailer(gzipSync(json))],
    ['empty gzip body', 'gzip', Buffer.alloc(0)],
    ['corrupt deflate', 'deflate', Buffer.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff])],
  ])('rejects %s as invalid_encoding', async (_name, encoding, body) => {
    expect(await codeOf(readBody(chunked(body), { encoding, maxBytes: LIMIT }))).toBe('invalid_encoding');
  });

  it.each(['br', 'compress', 'gzip, deflate', 'zstd'])(
    'rejects content-encoding %s as unsupported_media_type',
    async (encoding) => {
      expect(await codeOf(readBody(chunked(json), { encoding, maxBytes: LIMIT }))).toBe('unsupported_media_type');
    },
  );

  it('rethrows errors of the stream itself', async () => {
    const failing: AsyncIterable<Buffer> = {
      async *[Symbol.asyncIterator]() {
        yield gzipSync(json).subarray(0, 5);
        throw new Error('socket hang up');
      },
    };
    await expect(readBody(failing, { encoding: 'gzip', maxBytes: LIMIT })).rejects.toThrow('socket hang up');
  });
});

function corruptTrailer(gz: Buffer): Buffer {
  const copy = Buffer.from(gz);
  copy[copy.length - 8] ^= 0xff;
  return copy;
}
