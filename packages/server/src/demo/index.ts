/**
 * Demo data: a pure, seeded generator of a realistic multi-channel CDP data set, used by `tessera demo` (which
 * creates `sources` and sends `calls` through the real tracking API, each with its source's write key) and by the
 * benchmarks.
 *
 * The set covers the identity engine's everyday and hard cases (DESIGN §4): anonymous web visits joined by a login,
 * a second device joined by `identify` or `alias`, till receipts known only by a variant e-mail or phone format,
 * a CRM export keyed by `crm_id`, B2B `group` calls, consent changes, and the tricky records listed in
 * `DemoData.tricky` (a shared family tablet, the blocked `test@test.com`, a reused e-mail). `people` is the ground
 * truth a correct engine should end up with. Phone numbers are written in national format only for
 * `phoneRegion` (default `US`, the identity rules' default region), so every variant normalises to the truth.
 *
 * Nothing here does I/O or reads the clock except for `now`'s default; invalid options throw a `RangeError`.
 */
export type { DemoCall, DemoData, DemoOptions, DemoPerson, DemoSource, DemoTricky } from './demo-data.js';
export { DEMO_SOURCES, type DemoSourceName } from './demo-sources.js';
export { generateDemo } from './generate-demo.js';
export { type DemoSummary, summariseDemo } from './summarise-demo.js';
