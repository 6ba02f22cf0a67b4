import { newUuid } from '../../ids.js';
import { change } from '../change.js';
import { OK, type Step } from '../step.js';

/** `group` calls upsert an account and link the person to it (B2B); they never merge people (DESIGN §4). */
export const accountStep: Step = {
  name: 'account',
  async run(ctx) {
    const e = ctx.event;
    if (e.type !== 'group' || e.groupId === undefined) return OK;
    const traits = e.traits && typeof e.traits === 'object' && !Array.isArray(e.traits) ? e.traits : {};
    const accountId = await ctx.tx.accounts.upsert(e.groupId, traits, ctx.now, newUuid());
    await ctx.tx.accounts.link(ctx.profileId, accountId, ctx.entry.sourceId, ctx.now);
    ctx.changes.push(change(ctx, 'account.linked', { profileId: ctx.profileId, accountId }));
    return OK;
  },
};
