import { describe, expect, it } from 'vitest';
import type { DemoData } from './demo-data.js';
import { summariseDemo } from './summarise-demo.js';
import { DEMO } from './test/demo-fixture.js';

describe('summariseDemo', () => {
  it('counts calls per source, per type and per pair, listing zeros', () => {
    const data: DemoData = {
      ...DEMO,
      calls: [
        { source: 'website', call: { type: 'page' } },
        { source: 'website', call: { type: 'identify' } },
        { source: 'store-pos', call: { type: 'track' } },
        { source: 'website', call: { type: 'page' } },
      ],
    };
    expect(summariseDemo(data)).toEqual({
      people: DEMO.people.length,
      calls: 4,
      bySource: { website: 3, 'mobile-app': 0, 'store-pos': 1, 'crm-export': 0, 'b2b-portal': 0 },
      byType: { track: 1, identify: 1, page: 2, screen: 0, group: 0, alias: 0 },
      bySourceAndType: { website: { page: 2, identify: 1 }, 'store-pos': { track: 1 } },
    });
  });

  it('adds up to the generated data set', () => {
    const summary = summariseDemo(DEMO);
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    expect(sum(summary.bySource)).toBe(DEMO.calls.length);
    expect(sum(summary.byType)).toBe(DEMO.calls.length);
    expect(sum(Object.fromEntries(Object.entries(summary.bySourceAndType).map(([k, v]) => [k, sum(v)])))).toBe(
      DEMO.calls.length,
    );
    for (const n of Object.values(summary.bySource)) expect(n).toBeGreaterThan(0);
  });
});
