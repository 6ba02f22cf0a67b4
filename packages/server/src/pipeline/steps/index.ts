import type { SecretProvider } from '../../privacy/instance-secret.js';
import { suppressionStep } from '../../privacy/suppression.js';
import type { Step } from '../step.js';
import { accountStep } from './account.js';
import { consentStep } from './consent.js';
import { identityStep } from './identity.js';
import { parseStep } from './parse.js';
import { storeEventStep } from './store-event.js';
import { traitsStep } from './traits.js';

/** The pipeline's steps in order (DESIGN §3), without the suppression check (tests of the other steps). */
export const DEFAULT_STEPS: readonly Step[] = [
  parseStep,
  identityStep,
  storeEventStep,
  traitsStep,
  consentStep,
  accountStep,
];

/** The steps a server runs: the default ones, with the suppression check (DESIGN §8) right after parsing. */
export function pipelineSteps(secret: SecretProvider): readonly Step[] {
  return [parseStep, suppressionStep(secret), ...DEFAULT_STEPS.slice(1)];
}
