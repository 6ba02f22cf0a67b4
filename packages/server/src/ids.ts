import { createHash, randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Random bytes drawn in blocks: one `randomFillSync` per 512 ids instead of one per id. */
const POOL = Buffer.allocUnsafe(4096);
let poolAt = POOL.length;

function randomBytes(n: number): number {
  if (poolAt + n > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += n;
  return at;
}

let lastMs = -1;
/** 30-bit counter: the 12 bits of `rand_a` and the top 18 bits of `rand_b` (RFC 9562 §6.2, method 1). */
let counter = 0;

/**
 * A new time-ordered UUID (v7, RFC 9562), bare: the storage form. Prefixes are added at the API boundary (protocol
 * ids). Ids made by one process are strictly increasing: within a millisecond a 30-bit counter, started at a random
 * value below 2^29 each new millisecond, is incremented; when it overflows the timestamp moves on by one.
 */
export function newUuid(): string {
  let ms = Date.now();
  if (ms > lastMs) {
    const r = randomBytes(4);
    counter = POOL.readUInt32BE(r) >>> 3; // < 2^29: leaves room to count within the millisecond
    lastMs = ms;
  } else {
    counter++;
    if (counter > 0x3fffffff) {
      lastMs++;
      counter = 0;
    }
    ms = lastMs;
  }
  const r = randomBytes(6);
  const hi = Math.floor(ms / 0x100000000);
  const lo = ms >>> 0;
  const randA = counter >>> 18; // 12 bits
  const randB = counter & 0x3ffff; // 18 bits, then 44 random bits
  return (
    HEX[(hi >>> 8) & 0xff] +
    HEX[hi & 0xff] +
    HEX[lo >>> 24] +
    HEX[(lo >>> 16) & 0xff] +
    '-' +
    HEX[(lo >>> 8) & 0xff] +
    HEX[lo & 0xff] +
    '-' +
    HEX[0x70 | (randA >>> 8)] +
    HEX[randA & 0xff] +
    '-' +
    HEX[0x80 | (randB >>> 12)] +
    HEX[(randB >>> 4) & 0xff] +
    '-' +
    HEX[((randB & 0xf) << 4) | (POOL[r] & 0xf)] +
    HEX[POOL[r + 1]] +
    HEX[POOL[r + 2]] +
    HEX[POOL[r + 3]] +
    HEX[POOL[r + 4]] +
    HEX[POOL[r + 5]]
  );
}

/**
 * A UUID derived from `parts` (SHA-256, version 8 of RFC 9562): the same parts always give the same id. For rows
 * that must be written once however often their cause is processed (a change routed to a destination).
 */
export function derivedUuid(...parts: readonly string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000'), 'utf8').digest('hex');
  const variant = ((Number.parseInt(h[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
