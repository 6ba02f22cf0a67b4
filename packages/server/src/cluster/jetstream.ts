import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { LogEntryInput } from '../ingest/logged-event.js';
import { packEntries, unpackEntries } from '../pipeline/pack-entries.js';

/** Names of the JetStream objects of one install (`prefix` = `TESSERA_NATS_PREFIX`). */
export interface StreamNames {
  /** The ingest log: one message per accepted request (its entries, packed). */
  readonly logStream: string;
  readonly logSubject: string;
  /** Durable pull consumer shared by every pipeline worker. */
  readonly pipelineConsumer: string;
  /** The change bus, fed by the outbox relay: one message per `changes` row. */
  readonly changeStream: string;
  readonly changeSubject: string;
  /** Config notices on the change stream (`config-notices.ts`): api nodes follow them to refresh what they hold. */
  readonly configSubject: string;
}

export function streamNames(prefix: string): StreamNames {
  const lower = prefix.toLowerCase();
  return {
    logStream: `${prefix}_LOG`,
    logSubject: `${lower}.log`,
    pipelineConsumer: `${lower}-pipeline`,
    changeStream: `${prefix}_CHANGES`,
    changeSubject: `${lower}.changes`,
    configSubject: `${lower}.changes.config`,
  };
}

export interface JetStreamHandle {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: StreamNames;
  /** Streams that hold more replicas than `TESSERA_NATS_REPLICAS` asks for, as `name: count` (left as they are). */
  readonly fewerReplicas: readonly string[];
  /** False while the connection is down (it reconnects by itself). */
  connected(): boolean;
  /** Resolves to `connected()` once connected, or after `ms` (a brief disconnect is waited out). */
  waitConnected(ms: number): Promise<boolean>;
  close(): Promise<void>;
}

const NS_PER_MS = 1_000_000;

/** JetStream's answers while a cluster is forming: no meta leader yet (10008), too few peers known to place (10005). */
const FORMING_CODES = new Set([10005, 10008]);

/**
 * Whether `e` is what JetStream answers while its cluster forms: one of `FORMING_CODES`, or no answer at all (the
 * client's `TimeoutError`: servers that accept connections but have no JetStream leader yet answer nothing).
 */
function isForming(e: unknown): boolean {
  const { code, message, name } = e as { code?: unknown; message?: unknown; name?: unknown };
  return (
    name === 'TimeoutError' ||
    (typeof code === 'number' && FORMING_CODES.has(code)) ||
    /no suitable peers for placement|jetstream system temporarily unavailable/i.test(String(message ?? ''))
  );
}

/**
 * Runs `request` (a stream or consumer set-up), again every `waitMs` for up to `formingMs` while JetStream answers
 * that its cluster is still forming; any other error, or that one past `formingMs`, is thrown.
 */
export async function whileForming<T>(
  request: () => Promise<T>,
  opts: { formingMs?: number; waitMs?: number; now?: () => number } = {},
): Promise<T> {
  const now = opts.now ?? Date.now;
  const until = now() + (opts.formingMs ?? 30_000);
  for (;;) {
    try {
      return await request();
    } catch (e) {
      if (!isForming(e) || now() >= until) throw e;
      await new Promise((r) => setTimeout(r, opts.waitMs ?? 250));
    }
  }
}

/**
 * Connects to NATS (reconnecting forever: a node outlives a NATS restart) and makes sure the streams and the
 * pipeline consumer exist: file storage, `replicas` copies (R3 in a NATS cluster), de-duplication of re-published
 * messages by `Nats-Msg-Id` within two minutes, nothing ever discarded for age (the log is the raw store).
 */
export async function openJetStream(
  url: string,
  prefix: string,
  opts: { replicas?: number; ackWaitMs?: number } = {},
): Promise<JetStreamHandle> {
  const nc = await connect({
    // A NATS cluster: its servers' URLs, comma-separated (the client also learns the others from the one it reaches).
    servers: url
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
    name: `tessera-${process.pid}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // A node started while NATS is down waits for it instead of exiting.
    waitOnFirstConnect: true,
  });
  let connected = true;
  let reconnected: (() => void)[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') connected = false;
      else if (s.type === 'reconnect') {
        connected = true;
        for (const wake of reconnected.splice(0)) wake();
      }
    }
  })();
  const jsm = await whileForming(() => jetstreamManager(nc));
  const names = streamNames(prefix);
  const replicas = opts.replicas ?? 1;
  /** Streams holding more replicas than this node asks for (left as they are). */
  const fewerReplicas: string[] = [];
  for (const [name, subjects] of [
    [names.logStream, [names.logSubject]],
    [names.changeStream, [names.changeSubject, names.configSubject]],
  ] as const) {
    const wanted = {
      name,
      subjects: [...subjects],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      num_replicas: replicas,
      duplicate_window: 120_000 * NS_PER_MS,
    };
    // Servers started together are a cluster a few seconds later: until then R3 placement finds too few peers.
    await whileForming(async () => {
      try {
        const info = await jsm.streams.info(name);
        // A stream made by an earlier version lacks the config subject; more replicas asked for (R1 → R3 once the
        // servers are a cluster) are added by JetStream, which copies the stream. Fewer are never applied: one node
        // started without `TESSERA_NATS_REPLICAS` must not scale an R3 stream down.
        const more = replicas > info.config.num_replicas;
        if (subjects.some((s) => !info.config.subjects?.includes(s)) || more)
          await jsm.streams.update(name, {
            ...info.config,
            subjects: [...subjects],
            num_replicas: Math.max(replicas, info.config.num_replicas),
          });
        if (replicas < info.config.num_replicas) fewerReplicas.push(`${name}: ${info.config.num_replicas}`);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        await jsm.streams.add(wanted);
      }
    });
  }
  const consumer = {
    durable_name: names.pipelineConsumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    // A batch that takes longer is delivered again to another worker; de-duplication keeps it harmless.
    ack_wait: (opts.ackWaitMs ?? 60_000) * NS_PER_MS,
    max_ack_pending: 20_000,
  };
  await whileForming(async () => {
    try {
      const info = await jsm.consumers.info(names.logStream, names.pipelineConsumer);
      if (info.config.ack_wait !== consumer.ack_wait)
        await jsm.consumers.update(names.logStream, names.pipelineConsumer, { ack_wait: consumer.ack_wait });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await jsm.consumers.add(names.logStream, consumer);
    }
  });
  return {
    nc,
    js: jetstream(nc),
    jsm,
    names,
    fewerReplicas,
    connected: () => connected && !nc.isClosed(),
    async waitConnected(ms) {
      if (connected && !nc.isClosed()) return true;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          reconnected = reconnected.filter((w) => w !== done);
          resolve();
        }
        reconnected.push(done);
      });
      return connected && !nc.isClosed();
    },
    async close() {
      // drain() waits for the server; while NATS is down that is forever.
      const drained = nc.drain().catch(() => undefined);
      await Promise.race([drained, new Promise((r) => setTimeout(r, 3000).unref())]);
      if (!nc.isClosed()) await nc.close();
    },
  };
}

/**
 * Reads a fetch to its end. A fetch the client stops because the server's heartbeats stopped (the server went
 * away, or a stream's leader is being elected) gives what it received before, marked `cutShort`: the rest comes
 * with a later fetch, and an empty answer then does not mean that nothing is pending.
 */
export async function fetchAll<T>(iter: AsyncIterable<T>): Promise<{ messages: T[]; cutShort: boolean }> {
  const messages: T[] = [];
  try {
    for await (const m of iter) messages.push(m);
  } catch (e) {
    if (!(e instanceof Error && e.message === 'heartbeats missed')) throw e;
    return { messages, cutShort: true };
  }
  return { messages, cutShort: false };
}

function isNotFound(e: unknown): boolean {
  const err = e as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return (
    err?.api_error?.err_code === 10059 ||
    err?.api_error?.err_code === 10014 ||
    /not found/i.test(String(err?.message ?? ''))
  );
}

/** One log message: the packed entries' metadata line, then their payloads (JSON texts hold no raw newline). */
export function encodeLogMessage(entries: readonly LogEntryInput[]): Uint8Array {
  const { meta, payloads } = packEntries(entries);
  return Buffer.from(`${meta}\n${payloads}`, 'utf8');
}

export function decodeLogMessage(data: Uint8Array): LogEntryInput[] {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  const cut = text.indexOf('\n');
  if (cut < 0) throw new Error('a log message without its payloads');
  return unpackEntries({ meta: text.slice(0, cut), payloads: text.slice(cut + 1) });
}

/**
 * A log position for entry `index` of the message with stream sequence `seq`: positions grow with the stream, and
 * a request holds far fewer than 65,536 calls (500 KB, at least ~30 bytes each).
 */
export function logPosition(seq: number, index: number): number {
  return seq * 65_536 + index;
}
