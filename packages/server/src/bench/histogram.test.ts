import { describe, expect, it } from 'vitest';
import { bucketQuantile, describeBatches, histogramSince, readHistogram } from './histogram.js';

const text = (counts: number[], sum: number) =>
  [
    '# TYPE tessera_pipeline_batch_seconds histogram',
    ...['0.01', '0.1', '1', '+Inf'].map((le, i) => `tessera_pipeline_batch_seconds_bucket{le="${le}"} ${counts[i]}`),
    `tessera_pipeline_batch_seconds_sum ${sum}`,
    `tessera_pipeline_batch_seconds_count ${counts[3]}`,
  ].join('\n');

describe('bench histogram readings', () => {
  it('reads the buckets, subtracts an earlier reading and bounds quantiles by bucket', () => {
    const before = readHistogram(text([1, 2, 2, 2], 0.05), 'tessera_pipeline_batch_seconds');
    const after = readHistogram(text([91, 199, 201, 202], 10.05), 'tessera_pipeline_batch_seconds');
    const h = histogramSince(before, after);
    expect(h.count).toBe(200);
    expect(h.buckets.map((b) => b.count)).toEqual([90, 197, 199, 200]);
    expect(bucketQuantile(h, 0.5)).toBe(0.1);
    expect(bucketQuantile(h, 0.99)).toBe(1);
    expect(describeBatches(h)).toBe('200 batches, mean 50.0 ms, p50 ≤ 100 ms, p99 ≤ 1000 ms');
    expect(describeBatches(histogramSince(after, after))).toBe('no batch');
  });

  it('reads one labelled series of a histogram, whatever the order of its labels', () => {
    const metrics = [
      'tessera_pipeline_phase_seconds_bucket{le="0.01",phase="steps"} 3',
      'tessera_pipeline_phase_seconds_bucket{le="+Inf",phase="steps"} 4',
      'tessera_pipeline_phase_seconds_sum{phase="steps"} 0.5',
      'tessera_pipeline_phase_seconds_count{phase="steps"} 4',
      'tessera_pipeline_phase_seconds_bucket{phase="commit",le="0.01"} 1',
      'tessera_pipeline_phase_seconds_bucket{phase="commit",le="+Inf"} 1',
      'tessera_pipeline_phase_seconds_sum{phase="commit"} 0.002',
      'tessera_pipeline_phase_seconds_count{phase="commit"} 1',
    ].join('\n');
    expect(readHistogram(metrics, 'tessera_pipeline_phase_seconds', { phase: 'steps' })).toEqual({
      buckets: [
        { le: 0.01, count: 3 },
        { le: Number.POSITIVE_INFINITY, count: 4 },
      ],
      count: 4,
      sum: 0.5,
    });
    expect(readHistogram(metrics, 'tessera_pipeline_phase_seconds', { phase: 'commit' }).sum).toBe(0.002);
  });
});
