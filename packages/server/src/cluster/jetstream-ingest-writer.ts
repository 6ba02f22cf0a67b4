import { TesseraError } from '../errors.js';
import { newUuid } from '../ids.js';
import type { AppendRequest, AppendResult } from '../ingest/group-commit.js';
import type { BacklogState, IngestWriter } from '../ingest/ingest-writer.js';
import type { Logger } from '../logger.js';
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
  opts: { publishTimeoutMs?: number; pollMs?: number } = {},
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
      logger.debug({ err: { name: (e as Error).name, message: (e as Error).message } }, 'consumer info failed');
    }
  };
  const timer = setInterval(poll, opts.pollMs ?? 1000);
  timer.unref();
  void poll();

  return {
    async append(req: AppendRequest): Promise<AppendResult> {
      if (req.log.length === 0) return { lastPosition: 0 };
      let seq: number;
      try {
        const ack = await js.publish(names.logSubject, encodeLogMessage(req.log), {
          msgID: newUuid(),
          timeout: opts.publishTimeoutMs ?? 5000,
        });
        seq = ack.seq;
      } catch (e) {
        logger.warn({ err: { name: (e as Error).name, message: (e as Error).message } }, 'log publish failed');
        throw new TesseraError('unavailable', 'the ingest log is unavailable; retry later', { retryAfter: 5 });
      }
      entriesPerMessage = entriesPerMessage * 0.9 + req.log.length * 0.1;
      return { lastPosition: logPosition(seq, req.log.length - 1) };
    },
    backlog: () => backlog,
    alive: () => !nc.isClosed(),
    close() {
      clearInterval(timer);
    },
  };
}
