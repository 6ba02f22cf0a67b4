/** A Prometheus histogram read from `/metrics` text: cumulative counts per upper bound, and the sum. */
export interface HistogramReading {
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

/** The series of histogram `name` whose labels include `labels` (e.g. `{ phase: 'steps' }`). */
export function readHistogram(text: string, name: string, labels: Record<string, string> = {}): HistogramReading {
  const buckets: { le: number; count: number }[] = [];
  let count = 0;
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}_(bucket|sum|count)(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (!Object.entries(labels).every(([k, v]) => found[k] === v)) continue;
    const value = Number(m[3]);
    if (m[1] === 'bucket')
      buckets.push({ le: found.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(found.le), count: value });
    else if (m[1] === 'sum') sum = value;
    else count = value;
  }
  return { buckets, count, sum };
}

/** What was observed between two readings of the same histogram. */
export function histogramSince(before: HistogramReading, after: HistogramReading): HistogramReading {
  return {
    buckets: after.buckets.map((b, i) => ({ le: b.le, count: b.count - (before.buckets[i]?.count ?? 0) })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/** The upper bound of the bucket holding quantile `q` (what a histogram can tell of it). */
export function bucketQuantile(h: HistogramReading, q: number): number {
  const rank = q * h.count;
  return h.buckets.find((b) => b.count >= rank)?.le ?? Number.NaN;
}

/** `N batches, mean X ms, p50 ≤ A ms, p99 ≤ B ms` of a seconds histogram. */
export function describeBatches(h: HistogramReading): string {
  const ms = (s: number) =>
    Number.isFinite(s) ? `${Math.round(s * 1000)} ms` : `> ${Math.round((h.buckets.at(-2)?.le ?? 0) * 1000)} ms`;
  if (h.count === 0) return 'no batch';
  return `${h.count} batches, mean ${((h.sum / h.count) * 1000).toFixed(1)} ms, p50 ≤ ${ms(bucketQuantile(h, 0.5))}, p99 ≤ ${ms(bucketQuantile(h, 0.99))}`;
}
