/**
 * A Bloom filter of (source id, message id) keys over a `SharedArrayBuffer`, so that a scanning thread and the main
 * thread set bits in the same memory (docs/architecture.md, "The processed-message filter"). Only ever adds: a key
 * added is always found (no false negatives); a key never added is found with a small probability (false positives).
 *
 * It is a split block Bloom filter (as Parquet's): a key sets one bit in each of the 8 words of one 32-byte block,
 * so an add or a look-up touches one cache line whatever the filter's size.
 */
export class SeenFilter {
  /** Bits a key at capacity: about 1 % false positives with 8 bits set a key. */
  static readonly BITS_PER_KEY = 12;
  /** 2^29 bits (64 MB): past about 45 million keys the false positives grow instead of the memory. */
  static readonly MAX_BITS = 2 ** 29;

  /**
   * While another thread may set bits too (a scan in progress), every write is an atomic or; afterwards the owner
   * clears this and writes plainly (only its own thread writes then).
   */
  shared = true;
  private readonly words: Int32Array;
  private readonly blockMask: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
    const blocks = this.words.length / 8;
    if (blocks < 1 || !Number.isInteger(blocks) || (blocks & (blocks - 1)) !== 0)
      throw new Error('a filter has a power of two blocks of 8 words');
    this.blockMask = blocks - 1;
  }

  /** A filter sized for `capacity` keys: a power of two bits, at least one block, at most {@link MAX_BITS}. */
  static forCapacity(capacity: number): SeenFilter {
    const wanted = Math.max(256, capacity * SeenFilter.BITS_PER_KEY);
    const bits = Math.min(SeenFilter.MAX_BITS, 2 ** Math.ceil(Math.log2(wanted)));
    return new SeenFilter(new SharedArrayBuffer(bits / 8));
  }

  /** Keys this filter holds at about 1 % false positives. */
  get capacity(): number {
    return Math.floor((this.words.length * 32) / SeenFilter.BITS_PER_KEY);
  }

  /**
   * After another thread's last write, before reading plainly: an atomic read of the buffer orders that thread's
   * writes (each an atomic or) before this thread's plain reads.
   */
  acquire(): void {
    Atomics.load(this.words, 0);
  }

  add(sourceId: string, messageId: string): void {
    hashKey(seedOf(sourceId), messageId);
    const base = (h1 & this.blockMask) << 3;
    for (let i = 0; i < 8; i++) {
      const bit = 1 << (Math.imul(h2, SALTS[i]) >>> 27);
      if (this.shared) Atomics.or(this.words, base + i, bit);
      else this.words[base + i] |= bit;
    }
  }

  mightContain(sourceId: string, messageId: string): boolean {
    hashKey(seedOf(sourceId), messageId);
    const base = (h1 & this.blockMask) << 3;
    for (let i = 0; i < 8; i++) {
      const bit = 1 << (Math.imul(h2, SALTS[i]) >>> 27);
      if ((this.words[base + i] & bit) === 0) return false;
    }
    return true;
  }
}

/** One odd multiplier for each word of a block (Parquet's split block Bloom filter). */
const SALTS = Int32Array.of(
  0x47b6137b,
  0x44974d91,
  0x8824ad5b | 0,
  0xa2b7289d | 0,
  0x705495c7,
  0x2df1424b,
  0x9efc4947 | 0,
  0x5c6bfb31,
);

// The two hashes of the last key (module state instead of a tuple: no allocation per key).
let h1 = 0;
let h2 = 0;

// A request's calls share a source id: its hash is computed once.
let lastSource = '';
let lastSeed = 0;

function seedOf(sourceId: string): number {
  if (sourceId !== lastSource) {
    let a = 0x811c9dc5;
    for (let i = 0; i < sourceId.length; i++) a = Math.imul(a ^ sourceId.charCodeAt(i), 0x01000193);
    lastSource = sourceId;
    lastSeed = a;
  }
  return lastSeed;
}

/**
 * Two 32-bit hashes of the message id from the source's seed in one pass (FNV-1a and a multiplicative hash with
 * another multiplier, each finished by murmur3's mixer): h1 picks the block, h2 the bits in it.
 */
function hashKey(seed: number, messageId: string): void {
  let a = seed;
  let b = seed ^ 0x9747b28c;
  for (let i = 0; i < messageId.length; i++) {
    const c = messageId.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  h1 = fmix(a);
  h2 = fmix(b ^ messageId.length);
}

function fmix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) | 0;
}
