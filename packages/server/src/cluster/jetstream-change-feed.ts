import { AckPolicy, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import type { Change } from '../bus/ports.js';
import type { ChangeFeed } from '../destinations/change-feed.js';
import { fetchAll, type JetStreamHandle } from './jetstream.js';

const NS_PER_MS = 1_000_000;

/**
 * Cluster mode's change feed (DESIGN §3): durable pull consumer `durable` of the change-bus stream, shared by every
 * worker that runs it. Created at the end of the stream (a destination receives what happens after it exists); a
 * message is acknowledged once the routing transaction committed, and comes back to a worker after `ackWaitMs`
 * otherwise (routing is idempotent).
 */
export async function createJetStreamChangeFeed(
  handle: JetStreamHandle,
  durable: string,
  opts: { ackWaitMs?: number; fetchWaitMs?: number } = {},
): Promise<ChangeFeed> {
  const stream = handle.names.changeStream;
  try {
    await handle.jsm.consumers.info(stream, durable);
  } catch {
    await handle.jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      ack_wait: (opts.ackWaitMs ?? 60_000) * NS_PER_MS,
      max_ack_pending: 20_000,
    });
  }
  const unacked = new Map<string, JsMsg>();
  return {
    transactional: false,
    async next(limit) {
      const consumer = await handle.js.consumers.get(stream, durable);
      const iter = await consumer.fetch({ max_messages: limit, expires: Math.max(1000, opts.fetchWaitMs ?? 1000) });
      const out: Change[] = [];
      for (const m of (await fetchAll(iter)).messages) {
        // Config notices share the stream (`config-notices.ts`); they are not changes to route.
        if (m.subject !== handle.names.changeSubject) {
          m.ack();
          continue;
        }
        let c: Omit<Change, 'seq'>;
        try {
          c = m.json<Omit<Change, 'seq'>>();
        } catch {
          m.term();
          continue;
        }
        unacked.set(c.id, m);
        out.push({ ...c, seq: m.seq });
      }
      return out;
    },
    async commit() {},
    async acknowledge(changes) {
      for (const c of changes) {
        unacked.get(c.id)?.ack();
        unacked.delete(c.id);
      }
    },
    async close() {
      unacked.clear();
    },
  };
}
