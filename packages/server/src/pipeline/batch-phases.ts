/**
 * A batch's time by phase (ms): `read` the log (from the transaction's start), `steps` (settings, the lock
 * pre-pass, every event's steps), `write` (the caches' and buffered events' rows), `audiences` (the incremental
 * evaluation), `outbox` (de-dup keys and changes), `commit`.
 */
export interface BatchPhases {
  read: number;
  steps: number;
  write: number;
  audiences: number;
  outbox: number;
  commit: number;
}

/** Every phase at zero: the start of a clock, or of a sum over batches. */
export function noPhases(): BatchPhases {
  return { read: 0, steps: 0, write: 0, audiences: 0, outbox: 0, commit: 0 };
}

/** Starts timing a batch: `mark(phase)` ends a phase and starts the next. */
export function phaseClock(): { phases: BatchPhases; mark(phase: keyof BatchPhases): void } {
  let last = performance.now();
  const phases = noPhases();
  return {
    phases,
    mark(phase) {
      const now = performance.now();
      phases[phase] = now - last;
      last = now;
    },
  };
}
