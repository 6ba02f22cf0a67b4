import { observeTraits } from '../../profiles/observe-traits.js';
import { ruleFor } from '../../profiles/survivorship-rules.js';
import { change } from '../change.js';
import { OK, type PipelineContext, type Step, type StepResult } from '../step.js';

/**
 * Profile traits and history: first the current values of the profiles this event merged (each observed at its own
 * last observation time, so the most recent value survives, but valid in the survivor's history only from the
 * merge's event time: `absorbedAt`), then the event's own traits. The profile keeps the most recent values; other
 * survivorship rules are applied when profiles are read (`profiles/golden-record.ts`).
 */
export const traitsStep: Step = {
  name: 'traits',
  run(ctx) {
    if (ctx.merged.length === 0 && Object.keys(ctx.traits).length === 0) return OK;
    return applyTraits(ctx);
  },
};

async function applyTraits(ctx: PipelineContext): Promise<StepResult> {
  const [profile] = await ctx.tx.profiles.get([ctx.profileId]);
  if (!profile) return { kind: 'retry', reason: 'resolved profile not found' };
  const deps = { history: ctx.tx.history, events: ctx.tx.events };
  const base = { now: ctx.now, family: ctx.family };
  const changed = new Set<string>();
  if (ctx.merged.length > 0) {
    for (const loser of await ctx.tx.profiles.get(ctx.merged)) {
      for (const [trait, value] of Object.entries(loser.traits)) {
        const at = (Object.hasOwn(loser.traitTimes, trait) ? loser.traitTimes[trait] : undefined) ?? loser.updatedAt;
        const keys = await observeTraits(
          deps,
          profile,
          { [trait]: value },
          { ...base, at, absorbedAt: ctx.at, sourceId: ctx.entry.sourceId, eventId: ctx.eventId },
        );
        for (const k of keys) changed.add(k);
      }
    }
  }
  const keys = await observeTraits(deps, profile, ctx.traits, {
    ...base,
    at: ctx.at,
    sourceId: ctx.entry.sourceId,
    eventId: ctx.eventId,
  });
  for (const k of keys) changed.add(k);
  // Under a rule other than `most_recent` a golden value can change without the most recent one changing (a
  // count, a source's rank, a merge bringing observations): announce every trait of such a rule that may have.
  const { survivorship } = ctx;
  if (survivorship.observations) {
    const touched = ctx.merged.length > 0 ? Object.keys(profile.traits) : Object.keys(ctx.traits);
    for (const k of touched) if (ruleFor(survivorship.rules, k).rule !== 'most_recent') changed.add(k);
  }
  await ctx.tx.profiles.update(profile.id, profile.traits, profile.traitTimes, ctx.now);
  if (changed.size > 0)
    ctx.changes.push(change(ctx, 'profile.traits_changed', { profileId: profile.id, traits: [...changed] }));
  return OK;
}
