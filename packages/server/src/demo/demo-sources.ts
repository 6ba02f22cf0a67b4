/**
 * The tracking sources of the demo data set, one per channel. `tessera demo` creates each as a tracking source
 * (with its own write key) before sending the calls tagged with its name.
 */
export const DEMO_SOURCES = [
  { name: 'website', kind: 'tracking' },
  { name: 'mobile-app', kind: 'tracking' },
  { name: 'store-pos', kind: 'tracking' },
  { name: 'crm-export', kind: 'tracking' },
  { name: 'b2b-portal', kind: 'tracking' },
] as const satisfies readonly { name: string; kind: 'tracking' }[];

/** Name of one demo source. */
export type DemoSourceName = (typeof DEMO_SOURCES)[number]['name'];
