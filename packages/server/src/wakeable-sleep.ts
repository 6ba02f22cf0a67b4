/**
 * A sleep that can be cut short: the loops of the pipeline runner and the outbox relay wait on it between rounds,
 * and `wake()` (new work, or stop) ends the current wait at once. A wake while nobody sleeps is kept for the next
 * `sleep`, which then returns at once: work announced while a loop was between its last look and its sleep (an
 * append committed by another thread during an empty read) is not left waiting for the timeout.
 */
export function wakeableSleep(): { sleep(ms: number): Promise<void>; wake(): void } {
  let wake: (() => void) | undefined;
  let pending = false;
  return {
    sleep: (ms) => {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    },
    wake: () => {
      if (wake) wake();
      else pending = true;
    },
  };
}
