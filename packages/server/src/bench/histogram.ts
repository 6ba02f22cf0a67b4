/** A Prometheus histogram read from `/metrics` text: cumulative counts per upper bound, and the sum. */
export interface HistogramReading {
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

export function readHistogram(text: string, name: string): HistogramReading {
  const buckets: { le: number; count: number }[] = [];
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)`, 'gm')))
    buckets.push({ le: m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), count: Number(m[2]) });
  const value = (suffix: string) => Number(new RegExp(`^${name}_${suffix} (\\S+)`, 'm').exec(text)?.[1] ?? '0');
  return { buckets, count: value('count'), sum: value('sum') };
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
