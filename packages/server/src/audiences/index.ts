/**
 * Audiences (DESIGN §6, issue 5), first slices: the definition language's parser, the incremental evaluator, the
 * one-line summary and the SQL compiler. Pure functions: no storage, no clock, no I/O. The language is
 * `AudienceDefinition` in `@tessera/protocol`; its semantics, and the slices still to come (membership history,
 * scheduler re-checks, computed traits, API, personalisation), are in `docs/audiences.md`.
 *
 * - `parseAudience(json, { key? })` validates a definition; throws `TesseraError` `invalid_request` naming the field.
 * - `evaluateAudience(definition, snapshot, now)` says whether one profile is a member at `now`.
 * - `nextExpiry(definition, snapshot, now)` says until when that answer holds if nothing but time changes.
 * - `summarise(definition, 'en' | 'fr')` writes it as one readable line.
 * - `compileAudience(definition, dialect, now)` is the same test as one SQL statement over the stored data, selecting
 *   every member (computed traits and audience membership are refused until they are stored).
 */
export { type CompiledAudience, compileAudience } from './compile-sql.js';
export { evaluateAudience } from './evaluate.js';
export { nextExpiry } from './next-expiry.js';
export { parseAudience } from './parse-audience.js';
export type { ProfileSnapshot, SnapshotEvent } from './profile-snapshot.js';
export { type SummaryLanguage, summarise } from './summarise.js';
export { isPresent, toDate, toNumber, valueAt } from './values.js';
export { inWindow, UNIT_MS, windowLength } from './window.js';
