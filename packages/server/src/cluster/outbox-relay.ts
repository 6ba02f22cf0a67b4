import { headers } from '@nats-io/transport-node';
import { errorFields, type Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import { wakeableSleep } from '../wakeable-sleep.js';
import type { JetStreamHandle } from './jetstream.js';

/**
 * The outbox relay of cluster mode (DESIGN §2, §3): moves `changes` rows to the change-bus stream. In one
 * transaction it takes the oldest rows (skipping rows another relay holds), publishes each with `Nats-Msg-Id` = its
 * change id and waits for every acknowledgement, then commits the removal. A crash between publish and commit
 * publishes the rows again: JetStream drops a re-published id within its duplicate window, and consumers
 * de-duplicate by change id beyond it. Runs on every worker; `changes` is a queue in this mode.
 */
export function createOutboxRelay(opts: {
  handle: JetStreamHandle;
  storage: Storage;
  logger: Logger;
  batchSize?: number;
  idleMs?: number;
}) {
  const { handle, storage, logger } = opts;
  let running = false;
  let loop: Promise<void> | undefined;
  const { sleep, wake } = wakeableSleep();

  /** Relays one batch; returns how many rows it moved. */
  async function relayOnce(): Promise<number> {
    return storage.transaction(async (tx) => {
      const rows = await tx.changes.take(opts.batchSize ?? 500);
      await Promise.all(
        rows.map((row) => {
          const h = headers();
          h.set('Tessera-Change-Kind', row.kind);
          return handle.js.publish(
            handle.names.changeSubject,
            JSON.stringify({
              id: row.id,
              kind: row.kind,
              profileId: row.profileId,
              payload: row.payload,
              createdAt: row.createdAt,
            }),
            { msgID: row.id, headers: h, timeout: 5000 },
          );
        }),
      );
      return rows.length;
    });
  }

  async function run() {
    let failures = 0;
    while (running) {
      let moved = 0;
      try {
        moved = await relayOnce();
        failures = 0;
      } catch (e) {
        failures++;
        logger.warn({ err: errorFields(e), failures }, 'outbox relay failed');
      }
      if (moved === 0 || failures > 0)
        await sleep(failures > 0 ? Math.min(5000, 100 * 2 ** Math.min(failures, 6)) : (opts.idleMs ?? 200));
    }
  }

  return {
    relayOnce,
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    notify() {
      wake();
    },
    async stop() {
      running = false;
      wake();
      await loop;
    },
  };
}
