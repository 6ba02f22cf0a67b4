import { OK, type Step } from '../step.js';

function asRecord(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** Writes the derived `events` row; its `profile_id` is the one resolved now and is never rewritten. */
export const storeEventStep: Step = {
  name: 'store-event',
  async run(ctx) {
    const e = ctx.event;
    const name =
      e.type === 'track'
        ? (e.event ?? null)
        : e.type === 'page' || e.type === 'screen'
          ? (e.name ?? null)
          : e.type === 'group'
            ? (e.groupId ?? null)
            : null;
    await ctx.tx.events.insert([
      {
        id: ctx.eventId,
        logPosition: ctx.entry.position,
        sourceId: ctx.entry.sourceId,
        type: e.type,
        name,
        messageId: e.messageId,
        profileId: ctx.profileId,
        userId: e.userId ?? null,
        anonymousId: e.anonymousId ?? null,
        timestamp: ctx.at,
        receivedAt: ctx.entry.receivedAt,
        properties: asRecord(e.properties),
        traits: Object.keys(ctx.traits).length > 0 ? ctx.traits : e.type === 'group' ? asRecord(e.traits) : null,
        context: asRecord(e.context),
      },
    ]);
    return OK;
  },
};
