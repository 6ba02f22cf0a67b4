import { newUuid } from '../../ids.js';
import { change } from '../change.js';
import { OK, type PipelineContext, type Step, type StepResult } from '../step.js';

/** `group` calls upsert an account and link the person to it (B2B); they never merge people (DESIGN §4). */
export const accountStep: Step = {
  name: 'account',
  run(ctx) {
    const e = ctx.event;
    if (e.type !== 'group' || e.groupId === undefined) return OK;
    return linkAccount(ctx, e.groupId, e.traits);
  },
};

async function linkAccount(ctx: PipelineContext, groupId: string, raw: unknown): Promise<StepResult> {
  const traits = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const accountId = await ctx.tx.accounts.upsert(groupId, traits, ctx.now, newUuid());
  await ctx.tx.accounts.link(ctx.profileId, accountId, ctx.entry.sourceId, ctx.now);
  ctx.changes.push(change(ctx, 'account.linked', { profileId: ctx.profileId, accountId }));
  return OK;
}
