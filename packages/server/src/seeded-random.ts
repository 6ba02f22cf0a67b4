/**
 * A small, fast, seeded source of randomness for the synthetic data sets (no `Math.random`: the same seed always
 * gives the same values in the same order, on every platform). sfc32, seeded through splitmix32.
 */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** `true` with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** An index drawn from cumulative weights (see `cumulative`). */
  weighted(cdf: Float64Array): number;
}

export function createSeededRandom(seed: number): SeededRandom {
  let s = seed >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
    weighted: (cdf) => {
      const x = next() * cdf[cdf.length - 1];
      let lo = 0;
      let hi = cdf.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cdf[mid] > x) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    },
  };
}

/** Cumulative sums of `weights`, for `SeededRandom.weighted`. */
export function cumulative(weights: readonly number[]): Float64Array {
  const cdf = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i];
    cdf[i] = sum;
  }
  return cdf;
}

/**
 * Cumulative Zipf-Mandelbrot weights over `n` ranks: rank k (from 1) has weight (k + shift)^-exponent (a shift
 * flattens the head: the most common value is not ten times the tenth).
 */
export function zipf(n: number, exponent: number, shift = 0): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += (k + 1 + shift) ** -exponent;
    cdf[k] = sum;
  }
  return cdf;
}

/** Shuffles `items` in place (Fisher-Yates) and returns them. */
export function shuffle<T>(items: T[], random: SeededRandom): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}
