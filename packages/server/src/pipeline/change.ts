import type { ChangeInput } from '../bus/ports.js';
import { newUuid } from '../ids.js';
import type { PipelineContext } from './step.js';

/** An outbox row for the current event (ids and keys only: consumers read values from the store). */
export function change(ctx: PipelineContext, kind: string, payload: Record<string, unknown>): ChangeInput {
  return {
    id: newUuid(),
    kind,
    profileId: ctx.profileId,
    payload: { ...payload, eventId: ctx.eventId },
    createdAt: ctx.now,
  };
}
