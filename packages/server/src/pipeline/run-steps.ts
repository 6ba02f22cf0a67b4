import type { Stores } from '../storage/storage.js';
import { isTransientStoreError } from '../storage/transient.js';
import type { PipelineContext, Step, StepResult } from './step.js';

/** Thrown when a step asks for the batch to be retried; the transaction rolls back. */
export class RetryBatch extends Error {}

/** A failure that goes away when the batch is run again (a step asked for it, or the store failed transiently). */
export function isRetryable(e: unknown): boolean {
  return e instanceof RetryBatch || isTransientStoreError(e);
}

/** Runs the steps of one event in order, up to the first that does not answer `ok`. */
export async function runSteps(steps: readonly Step[], ctx: PipelineContext): Promise<StepResult> {
  for (const step of steps) {
    const pending = step.run(ctx);
    const result = pending instanceof Promise ? await pending : pending;
    if (result.kind !== 'ok') return result;
  }
  return { kind: 'ok' };
}

/** Runs the steps of one event in its own savepoint: a rejection or a bug rolls back that event's writes only. */
export async function runIsolated(tx: Stores, steps: readonly Step[], ctx: PipelineContext): Promise<StepResult> {
  try {
    return await tx.savepoint(async () => {
      const r = await runSteps(steps, ctx);
      if (r.kind === 'dlq') throw Object.assign(new Error(r.reason), { stepResult: r });
      return r;
    });
  } catch (e) {
    const r = (e as { stepResult?: StepResult }).stepResult;
    if (!r && isRetryable(e)) throw e;
    return (
      r ?? {
        kind: 'dlq',
        code: 'processing_failed',
        reason: `internal error in a pipeline step (${(e as Error).name})`,
      }
    );
  }
}
