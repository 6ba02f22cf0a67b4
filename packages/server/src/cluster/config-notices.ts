import { type ConsumerMessages, DeliverPolicy } from '@nats-io/jetstream';
import { newUuid } from '../ids.js';
import { errorFields, type Logger } from '../logger.js';
import { wakeableSleep } from '../wakeable-sleep.js';
import type { JetStreamHandle } from './jetstream.js';

/**
 * What a node tells the others over the change bus when configuration that api nodes hold in memory changes
 * (DESIGN §9: settings are pushed to every node over the change bus): a source was created or its key or mapping
 * changed (reload the write keys), or an erasure suppressed identifiers (its HMAC hashes, added as they are).
 */
export type ConfigNotice = { kind: 'sources' } | { kind: 'suppression'; hashes: string[] };

/**
 * Publishes a notice on the change stream's config subject, acknowledged by JetStream (stored, so a node that is
 * disconnected at that moment still gets it when it reconnects). A failure is logged: the nodes' 30 s reload still
 * brings the change.
 */
export async function publishConfigNotice(handle: JetStreamHandle, notice: ConfigNotice, logger: Logger) {
  try {
    await handle.js.publish(handle.names.configSubject, JSON.stringify(notice), { msgID: newUuid(), timeout: 5000 });
  } catch (e) {
    logger.warn({ err: errorFields(e), kind: notice.kind }, 'config notice not published; nodes reload within 30 s');
  }
}

/**
 * Follows the config subject from the stream's current end (taken now, so nothing published after this call is
 * missed once `start` runs), with an ordered consumer: no server-side state to clean up, and it resumes where it
 * was after a reconnection. Each notice is handed to `onNotice`; one that does not parse is skipped.
 */
export async function configNoticeFollower(
  handle: JetStreamHandle,
  onNotice: (notice: ConfigNotice) => void,
  logger: Logger,
) {
  const info = await handle.jsm.streams.info(handle.names.changeStream);
  let next = info.state.last_seq + 1;
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  const { sleep, wake } = wakeableSleep();

  async function follow() {
    const consumer = await handle.js.consumers.get(handle.names.changeStream, {
      // One subject as a string: a list needs NATS 2.10 (Debian 12 ships 2.9).
      filter_subjects: handle.names.configSubject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: next,
    });
    if (stopped) return;
    messages = await consumer.consume();
    for await (const m of messages) {
      next = m.seq + 1;
      let notice: ConfigNotice;
      try {
        notice = m.json<ConfigNotice>();
      } catch {
        continue;
      }
      onNotice(notice);
    }
  }

  return {
    start() {
      loop = (async () => {
        // The ordered consumer resumes by itself after a reconnection; a failure to create it is retried.
        while (!stopped) {
          try {
            await follow();
          } catch (e) {
            logger.warn(
              { err: errorFields(e) },
              'config notices not followed; retrying in 5 s (nodes reload every 30 s)',
            );
          }
          if (!stopped) await sleep(5000);
        }
      })();
    },
    async stop() {
      stopped = true;
      wake();
      await messages?.close();
      await loop;
    },
  };
}
