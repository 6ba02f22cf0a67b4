import { TesseraError } from '../errors.js';
import { newUuid } from '../ids.js';
import type { AppendRequest, AppendResult } from '../ingest/group-commit.js';
import type { BacklogState, IngestWriter } from '../ingest/ingest-writer.js';
import type { LogEntryInput } from '../ingest/logged-event.js';
import { errorFields, type Logger } from '../logger.js';
import { encodeLogMessage, type JetStreamHandle, logPosition } from './jetstream.js';

/**
 * The ingest writer of an api node in cluster mode (DESIGN §2, §3): each accepted request is one message of the log
 * stream, published with a `Nats-Msg-Id` and acknowledged by JetStream once stored (on a quorum of an R3 stream);
 * only then does the request get its 200. NATS unreachable or slow → `unavailable` (503 with `Retry-After`), never a
 * 200. The backlog is the pipeline consumer's pending count, read every second.
 */
export function createJetStreamIngestWriter(
  handle: JetStreamHandle,
  logger: Logger,
  opts: { publishTimeoutMs?: number; pollMs?: number; reconnectWaitMs?: number } = {},
): IngestWriter & { close(): void } {
  const { js, jsm, nc, names } = handle;
  let backlog: BacklogState = { events: 0, lagSeconds: 0, eventsPerSecond: 0, appended: 0, processed: 0 };
  let entriesPerMessage = 1;
  let lastAcked: { at: number; seq: number } | undefined;
  const poll = async () => {
    try {
      const info = await jsm.consumers.info(names.logStream, names.pipelineConsumer);
      const now = Date.now();
      const acked = info.ack_floor.stream_seq;
      let eps = backlog.eventsPerSecond;
      if (lastAcked && now > lastAcked.at && acked >= lastAcked.seq) {
        const rate = ((acked - lastAcked.seq) * entriesPerMessage * 1000) / (now - lastAcked.at);
        eps = eps === 0 ? rate : eps * 0.8 + rate * 0.2;
      }
      lastAcked = { at: now, seq: acked };
      const pendingMessages = info.num_pending + info.num_ack_pending;
      backlog = {
        events: Math.round(pendingMessages * entriesPerMessage),
        lagSeconds: 0,
        eventsPerSecond: eps,
        appended: logPosition(info.delivered.stream_seq + info.num_pending, 0),
        processed: logPosition(acked, 0),
      };
    } catch (e) {
      logger.debug({ err: errorFields(e) }, 'consumer info failed');
    }
  };
  const timer = setInterval(poll, opts.pollMs ?? 1000);
  timer.unref();
  void poll();

  return {
    async append(req: AppendRequest): Promise<AppendResult> {
      if (req.log.length === 0) return { lastPosition: 0 };
      // While disconnected, the client would buffer the publish and send it after a reconnect, even one answered
      // 503: wait out a brief disconnect, then refuse.
      if (!(await handle.waitConnected(opts.reconnectWaitMs ?? 2000))) {
        throw new TesseraError('unavailable', 'the ingest log is unavailable; retry later', { retryAfter: 5 });
      }
      const messages = splitToFit(req.log, Math.floor((nc.info?.max_payload ?? 1024 * 1024) * 0.95));
      let last = 0;
      try {
        const acks = await Promise.all(
          messages.map((m) =>
            js.publish(names.logSubject, m.data, { msgID: newUuid(), timeout: opts.publishTimeoutMs ?? 5000 }),
          ),
        );
        for (const [i, ack] of acks.entries()) last = Math.max(last, logPosition(ack.seq, messages[i].count - 1));
      } catch (e) {
        // Some messages of a split request may be stored: the client's retry makes them duplicates, which the
        // pipeline drops.
        logger.warn({ err: errorFields(e) }, 'log publish failed');
        throw new TesseraError('unavailable', 'the ingest log is unavailable; retry later', { retryAfter: 5 });
      }
      entriesPerMessage = entriesPerMessage * 0.9 + (req.log.length / messages.length) * 0.1;
      return { lastPosition: last };
    },
    backlog: () => backlog,
    alive: () => handle.connected(),
    independentOfStore: true,
    close() {
      clearInterval(timer);
    },
  };
}

/**
 * The request's entries as log messages of at most `maxBytes` each (NATS refuses a message over its `max_payload`,
 * 1 MB by default, and a 500 KB request grows by the server's fields): halves until each part fits.
 */
export function splitToFit(entries: readonly LogEntryInput[], maxBytes: number): { data: Uint8Array; count: number }[] {
  const data = encodeLogMessage(entries);
  if (data.byteLength <= maxBytes || entries.length === 1) return [{ data, count: entries.length }];
  const half = Math.ceil(entries.length / 2);
  return [...splitToFit(entries.slice(0, half), maxBytes), ...splitToFit(entries.slice(half), maxBytes)];
}
