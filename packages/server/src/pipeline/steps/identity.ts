import { resolveIdentity } from '../../identity/resolve-identity.js';
import { change } from '../change.js';
import { OK, type Step } from '../step.js';

/** Deterministic identity resolution (DESIGN §4); publishes merges to the change bus. */
export const identityStep: Step = {
  name: 'identity',
  async run(ctx) {
    const result = await resolveIdentity(
      { identities: ctx.tx.identities, profiles: ctx.tx.profiles },
      {
        event: ctx.event,
        eventId: ctx.eventId,
        sourceId: ctx.entry.sourceId,
        at: ctx.at,
        now: ctx.now,
        rules: ctx.rules,
        rulesVersion: ctx.rulesVersion,
      },
    );
    if (!result.ok) return { kind: 'dlq', code: result.code, reason: result.reason };
    ctx.profileId = result.profileId;
    ctx.merged = result.merged;
    ctx.created = result.created;
    let family: Promise<string[]> | undefined;
    ctx.family = () => {
      family ??= ctx.tx.identities.family(result.profileId);
      return family;
    };
    if (result.created) ctx.changes.push(change(ctx, 'profile.created', { profileId: result.profileId }));
    for (const mergedId of result.merged) {
      ctx.counters.merges++;
      ctx.changes.push(change(ctx, 'profile.merged', { survivorId: result.profileId, mergedId }));
    }
    if (result.linked.length > 0) {
      ctx.changes.push(
        change(ctx, 'identities.linked', {
          profileId: result.profileId,
          types: [...new Set(result.linked.map((i) => i.type))],
        }),
      );
    }
    return OK;
  },
};
