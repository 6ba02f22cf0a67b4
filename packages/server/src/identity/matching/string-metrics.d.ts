// Types of the talisman modules the matcher uses (the package ships JavaScript only).

declare module 'talisman/metrics/jaro-winkler.js' {
  /** Jaro-Winkler similarity in [0, 1] (prefix scale 0.1, prefix up to 4, boost threshold 0.7). */
  const jaroWinkler: (a: string, b: string) => number;
  export default jaroWinkler;
}

declare module 'talisman/metrics/jaro.js' {
  /** Jaro similarity in [0, 1]. */
  const jaro: (a: string, b: string) => number;
  export default jaro;
}

declare module 'talisman/metrics/damerau-levenshtein.js' {
  interface DamerauLevenshtein {
    (a: string, b: string): number;
    /** The distance, or Infinity as soon as it exceeds `max`. */
    limited(max: number, a: string, b: string): number;
  }
  const damerauLevenshtein: DamerauLevenshtein;
  export default damerauLevenshtein;
}
