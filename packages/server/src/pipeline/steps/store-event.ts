import { asJsonObject } from '../../json-record.js';
import type { EventRow } from '../../profiles/ports.js';
import { OK, type PipelineContext, type Step } from '../step.js';

/** Writes the derived `events` row; its `profile_id` is the one resolved now and is never rewritten. */
export const storeEventStep: Step = {
  name: 'store-event',
  run(ctx) {
    const row = eventRow(ctx);
    if (ctx.bufferEvent) {
      ctx.bufferEvent(row);
      return OK;
    }
    return ctx.tx.events.insert([row]).then(() => OK);
  },
};

function eventRow(ctx: PipelineContext): EventRow {
  const e = ctx.event;
  const name =
    e.type === 'track'
      ? (e.event ?? null)
      : e.type === 'page' || e.type === 'screen'
        ? (e.name ?? null)
        : e.type === 'group'
          ? (e.groupId ?? null)
          : null;
  return {
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
    properties: asJsonObject(e.properties) ?? null,
    traits:
      Object.keys(ctx.traits).length > 0 ? ctx.traits : e.type === 'group' ? (asJsonObject(e.traits) ?? null) : null,
    context: asJsonObject(e.context) ?? null,
  };
}
