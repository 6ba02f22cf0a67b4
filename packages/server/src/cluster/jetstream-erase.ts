import type { JsMsg } from '@nats-io/jetstream';
import { mentionsOf } from '../privacy/mentions.js';
import type { JetStreamHandle } from './jetstream.js';
import { decodeLogMessage, encodeLogMessage } from './jetstream.js';

/** What the purge of a person from the streams did (an erasure's proof: counts only). */
export interface StreamPurgeReport {
  logMessagesErased: number;
  /** Entries of other people that shared an erased log message, appended again (the pipeline skips them: done). */
  entriesRepublished: number;
  changeMessagesErased: number;
}

/** Every message of `stream` up to its last sequence now, oldest first, through an ordered consumer. */
async function eachMessage(handle: JetStreamHandle, stream: string, fn: (m: JsMsg) => Promise<void>) {
  const info = await handle.jsm.streams.info(stream);
  const last = info.state.last_seq;
  if (info.state.messages === 0) return;
  const consumer = await handle.js.consumers.get(stream);
  for (let seen = 0; seen < last; ) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 2000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      seen = m.seq;
      if (m.seq > last) return;
      await fn(m);
      if (m.seq >= last) return;
    }
    if (got === 0) return;
  }
}

/**
 * Purges a person from cluster mode's streams (DESIGN §8): in the ingest log, every message holding an entry whose
 * raw payload names one of their identifier values is erased (`deleteMessage` with erase: overwritten), and the other
 * entries it held are appended again as a new message (already processed, the pipeline de-duplicates them); in the
 * change stream, every change about one of their profile ids is erased. A scan of both streams: minutes for large
 * ones, acceptable for a data-subject request.
 */
export async function purgePersonFromStreams(
  handle: JetStreamHandle,
  target: { values: readonly string[]; profileIds: readonly string[] },
): Promise<StreamPurgeReport> {
  const report: StreamPurgeReport = { logMessagesErased: 0, entriesRepublished: 0, changeMessagesErased: 0 };
  const mentions = mentionsOf(target.values).json;
  const log = handle.names.logStream;
  await eachMessage(handle, log, async (m) => {
    const entries = decodeLogMessage(m.data);
    if (!entries.some((e) => mentions(e.payload))) return;
    const keep = entries.filter((e) => !mentions(e.payload));
    // Appended again (acknowledged) before the message is erased: a failure in between loses nobody's entries.
    if (keep.length > 0) {
      await handle.js.publish(handle.names.logSubject, encodeLogMessage(keep), { timeout: 5000 });
      report.entriesRepublished += keep.length;
    }
    await handle.jsm.streams.deleteMessage(log, m.seq, true);
    report.logMessagesErased++;
  });
  const ids = new Set(target.profileIds);
  const changes = handle.names.changeStream;
  await eachMessage(handle, changes, async (m) => {
    const text = Buffer.from(m.data).toString('utf8');
    let about = false;
    try {
      about = ids.has((JSON.parse(text) as { profileId?: string }).profileId ?? '');
    } catch {
      // not a change: left alone
    }
    if (!about && ![...ids].some((id) => text.includes(id))) return;
    await handle.jsm.streams.deleteMessage(changes, m.seq, true);
    report.changeMessagesErased++;
  });
  return report;
}
