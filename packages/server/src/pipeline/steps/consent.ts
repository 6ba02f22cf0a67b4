import { newUuid } from '../../ids.js';
import { change } from '../change.js';
import { OK, type PipelineContext, type Step, type StepResult } from '../step.js';

/**
 * Consent capture (DESIGN §8): one history row per purpose whose state changes, legal basis `consent`, valid from
 * the event time. A late event's row is inserted at its time; the current state is the latest `validFrom`.
 * Enforcement comes with destinations.
 */
export const consentStep: Step = {
  name: 'consent',
  run(ctx) {
    return ctx.consents.size === 0 ? OK : recordConsents(ctx);
  },
};

async function recordConsents(ctx: PipelineContext): Promise<StepResult> {
  const current = await ctx.tx.consents.current(await ctx.family());
  const rows = [];
  for (const [purpose, granted] of ctx.consents) {
    const history = current.filter((c) => c.purpose === purpose);
    const before = history.filter((c) => c.validFrom <= ctx.at).at(-1);
    if (before && before.granted === granted) continue;
    rows.push({
      id: newUuid(),
      profileId: ctx.profileId,
      purpose,
      granted,
      legalBasis: 'consent',
      validFrom: ctx.at,
      recordedAt: ctx.now,
      supersededAt: null,
      sourceId: ctx.entry.sourceId,
      eventId: ctx.eventId,
    });
  }
  if (rows.length === 0) return OK;
  await ctx.tx.consents.insert(rows);
  ctx.changes.push(change(ctx, 'consent.changed', { profileId: ctx.profileId, purposes: rows.map((r) => r.purpose) }));
  return OK;
}
