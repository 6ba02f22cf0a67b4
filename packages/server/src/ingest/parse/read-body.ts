import { pipeline } from 'node:stream/promises';
import { createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import { TesseraError } from '../../errors.js';

/** Options of {@link readBody}. */
export interface ReadBodyOptions {
  /** The request's `Content-Encoding` header; absent, empty or `identity` means the body is not compressed. */
  encoding: string | undefined;
  /** Most bytes the body may have once decompressed (DESIGN §9: 500 KB for a tracking request). */
  maxBytes: number;
}

/**
 * Reads a request body from `stream`, decompressing it while it streams.
 *
 * - `gzip` / `x-gzip` (one or more concatenated members) and `deflate` are decoded with zlib's streaming decoders.
 *   `deflate` is meant to be zlib-wrapped (RFC 9110), but some clients send raw deflate: the first two bytes decide.
 * - The limit is checked on the decompressed bytes as they are produced: as soon as more than `maxBytes` come out,
 *   decoding stops, so a gzip bomb never inflates in memory. The compressed input is capped too (at `maxBytes` plus
 *   1 % + 1 KiB of framing overhead), so a stream that inflates to nothing cannot be uploaded forever.
 *
 * On failure `stream` is left as it is (never destroyed), so the HTTP layer can still send its 413 / 400 answer;
 * it should close the connection afterwards, as the rest of the body is unread.
 *
 * @throws TesseraError `payload_too_large` past the limit, `invalid_encoding` for corrupt or truncated compressed
 *   data, `unsupported_media_type` for any other content encoding (including lists such as `gzip, deflate`).
 *   Errors of `stream` itself are rethrown as they are.
 */
export async function readBody(stream: AsyncIterable<Buffer>, opts: ReadBodyOptions): Promise<Buffer> {
  const { maxBytes } = opts;
  const encoding = normaliseEncoding(opts.encoding);
  const iterator = stream[Symbol.asyncIterator]();
  if (encoding === 'identity') return collect(pull(iterator, [], maxBytes, maxBytes), maxBytes);

  const head = await readHead(iterator, 2);
  const decoder = encoding === 'gzip' ? createGunzip() : looksZlibWrapped(head) ? createInflate() : createInflateRaw();
  const rawCap = maxBytes + Math.ceil(maxBytes / 100) + 1024;
  let out: Buffer | undefined;
  try {
    await pipeline(pull(iterator, head, rawCap, maxBytes), decoder, async (decoded: AsyncIterable<Buffer>) => {
      out = await collect(decoded, maxBytes);
    });
  } catch (err) {
    if (isZlibError(err)) {
      throw new TesseraError('invalid_encoding', `The request body is not valid ${encoding} data`, { cause: err });
    }
    throw err;
  }
  return out ?? Buffer.alloc(0);
}

type Encoding = 'identity' | 'gzip' | 'deflate';

function normaliseEncoding(header: string | undefined): Encoding {
  const value = (header ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  throw new TesseraError('unsupported_media_type', 'Content-Encoding must be gzip, deflate or identity', {
    details: { supported: ['gzip', 'x-gzip', 'deflate', 'identity'] },
  });
}

function tooLarge(maxBytes: number): TesseraError {
  return new TesseraError('payload_too_large', `The request body is larger than ${maxBytes} bytes (decompressed)`, {
    details: { limit: maxBytes },
  });
}

/** Concatenates `chunks`, failing as soon as their total passes `maxBytes`. */
async function collect(chunks: AsyncIterable<Buffer>, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(maxBytes);
    parts.push(chunk);
  }
  return Buffer.concat(parts, total);
}

/**
 * Yields `head`, then the rest of `iterator`, failing (as over `maxBytes`) once more than `cap` bytes went through.
 * It drives the
 * iterator with `next()` only: stopping early (or `pipeline` tearing down) never calls `return()` on it, which
 * for an HTTP request would destroy the socket before the error answer is written.
 */
async function* pull(
  iterator: AsyncIterator<Buffer>,
  head: Buffer[],
  cap: number,
  maxBytes: number,
): AsyncGenerator<Buffer> {
  let total = 0;
  for (const chunk of head) {
    total += chunk.length;
    if (total > cap) throw tooLarge(maxBytes);
    yield chunk;
  }
  for (;;) {
    const next = await iterator.next();
    if (next.done) return;
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    total += chunk.length;
    if (total > cap) throw tooLarge(maxBytes);
    yield chunk;
  }
}

/** Reads chunks until at least `bytes` bytes (or the end) arrived. */
async function readHead(iterator: AsyncIterator<Buffer>, bytes: number): Promise<Buffer[]> {
  const head: Buffer[] = [];
  let total = 0;
  while (total < bytes) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    head.push(chunk);
    total += chunk.length;
  }
  return head;
}

/** RFC 1950 header check: compression method 8, window ≤ 32 KiB, and the two bytes a multiple of 31. */
function looksZlibWrapped(head: Buffer[]): boolean {
  const start = Buffer.concat(head);
  if (start.length < 2) return true;
  const cmf = start[0];
  const flg = start[1];
  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0;
}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
