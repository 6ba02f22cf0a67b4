/**
 * Turns of the event loop for chunks of work, one chunk a loop iteration, the oldest piece of work first. Chunks that
 * yield with `setImmediate` all run in the same check phase: with several requests being normalised, a request that
 * came in meanwhile (a profile look-up) waited for a chunk of each, and the requests were served side by side, so each
 * finished late. Here one wait is let go per loop iteration, so I/O is read between any two chunks, and the one let go
 * is the oldest (`ticket`, from {@link Turns.ticket}): a request, once started, finishes before a later one goes on.
 * A request that comes in while others wait for their turn waits for its own before its first chunk
 * ({@link Turns.waiting}), so requests are normalised strictly in order: started at once, its first chunk ran ahead of
 * the older requests' next ones, and each finished later (about 4 % fewer acknowledged events under saturation,
 * docs/performance.md, session 20).
 */
export interface Turns {
  /** A place in line for a piece of work, taken when it starts. */
  ticket(): number;
  /** Resolves in a later loop iteration, after I/O, when no older piece of work is waiting. */
  next(ticket: number): Promise<void>;
  /** Whether some piece of work waits for its turn (a new one then waits too before it starts: oldest first). */
  waiting(): boolean;
}

export function createTurns(): Turns {
  const waiting = new Map<number, () => void>();
  let last = 0;
  let scheduled = false;
  const go = () => {
    let oldest = Number.POSITIVE_INFINITY;
    for (const t of waiting.keys()) if (t < oldest) oldest = t;
    const resolve = waiting.get(oldest);
    waiting.delete(oldest);
    // Scheduled from the check phase, the next one runs in the next loop iteration, after its I/O.
    scheduled = waiting.size > 0;
    if (scheduled) setImmediate(go);
    resolve?.();
  };
  return {
    ticket: () => ++last,
    waiting: () => waiting.size > 0,
    next: (ticket) =>
      new Promise<void>((resolve) => {
        waiting.set(ticket, resolve);
        if (!scheduled) {
          scheduled = true;
          setImmediate(go);
        }
      }),
  };
}
