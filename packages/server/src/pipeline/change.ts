import type { ChangeInput } from '../bus/ports.js';
import { newUuid } from '../ids.js';
import type { PipelineContext } from './step.js';

/**
 * An outbox row for the current event (ids and keys only: consumers read values from the store). `payload` (a
 * literal of the caller's) becomes the row's payload, with the event's id added.
 */
export function change(ctx: PipelineContext, kind: string, payload: Record<string, unknown>): ChangeInput {
  payload.eventId = ctx.eventId;
  return { id: newUuid(), kind, profileId: ctx.profileId, payload, createdAt: ctx.now };
}
