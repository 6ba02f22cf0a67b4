/**
 * Probabilistic matching (DESIGN §4, docs/identity-matching.md): `matchRecords` over any records (CSV rows, profiles),
 * `pairwiseScore` to check it against labelled data, `explainer` for the evidence of one pair.
 */
export { type PairwiseScore, pairwiseScore } from './evaluate.js';
export { inferConfig } from './infer.js';
export { explainer, matchRecords, probability, resolveConfig } from './match-records.js';
export { cannotLinkOf, type MatchConstraints, matchOffThread } from './off-thread.js';
export { parseMatchConfig } from './parse-config.js';
export type * from './types.js';
