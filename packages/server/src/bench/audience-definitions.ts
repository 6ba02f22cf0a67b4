import type { AudienceDefinition } from '@tessera/protocol';

/** The key of the example audience in the bench (it names X). */
export const AUDIENCE_KEY = 'gold-buyers';
/** Audience X: a trait-only audience that overlaps the gold buyers (churn risk is drawn apart from the plan). */
export const X_DEFINITION: AudienceDefinition = {
  type: 'trait',
  key: 'churn_risk',
  compare: { op: 'equals', value: 'high' },
};
