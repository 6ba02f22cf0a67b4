import type { Step } from '../step.js';
import { accountStep } from './account.js';
import { consentStep } from './consent.js';
import { identityStep } from './identity.js';
import { parseStep } from './parse.js';
import { storeEventStep } from './store-event.js';
import { traitsStep } from './traits.js';

/** The pipeline's steps in order (DESIGN §3). Later capabilities add steps here. */
export const DEFAULT_STEPS: readonly Step[] = [
  parseStep,
  identityStep,
  storeEventStep,
  traitsStep,
  consentStep,
  accountStep,
];
