import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { Static } from '@sinclair/typebox';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testNatsUrl } from '../../test/nats.js';
import { publicMessage } from '../public-message.js';
import { testMessage, testSendContext } from '../test/send-context.js';
import { type NatsConfig, natsDestination } from './nats.js';

type Config = Static<typeof NatsConfig>;

const natsUrl = testNatsUrl();
const unset = natsUrl ? '' : ' (skipped: TESSERA_TEST_NATS_URL is not set)';
if (!natsUrl) console.log('nats destination suite skipped: TESSERA_TEST_NATS_URL is not set');

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const unique = (what: string) => `tessera_test.${what}.${randomBytes(6).toString('hex')}`;

function setUp(config: Partial<Config> & { subject: string }) {
  const { ctx, close } = testSendContext<Config>({ servers: natsUrl as string, jetstream: false, ...config });
  cleanups.push(close);
  return ctx;
}

describe.skipIf(!natsUrl)(`nats destination${unset}`, () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connect({ servers: natsUrl as string });
  });
  afterAll(async () => {
    await nc?.close();
  });

  it('core: publishes one JSON message per delivery on the subject, Nats-Msg-Id = its public id', async () => {
    const subject = unique('core');
    const sub = nc.subscribe(subject, { max: 3 });
    cleanups.push(async () => sub.unsubscribe());
    await nc.flush();
    const received: Msg[] = [];
    const done = (async () => {
      for await (const m of sub) received.push(m);
    })();
    const batch = [
      testMessage(),
      testMessage({ kind: 'audience', audience: { key: 'vip', name: 'VIP', entered: true } }),
      testMessage(),
    ];
    const ctx = setUp({ subject });
    expect(await natsDestination.send(batch, ctx)).toEqual({ kind: 'ok' });
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), 5000))]);
    expect(received).toHaveLength(3);
    expect(received.map((m) => m.subject)).toEqual([subject, subject, subject]);
    expect(received.map((m) => m.json())).toEqual(batch.map(publicMessage));
    expect(received.map((m) => m.headers?.get('Nats-Msg-Id'))).toEqual(batch.map((m) => `dlv_${m.id}`));
  });

  it('jetstream: the stream holds each message once when the same batch is sent twice', async () => {
    const subject = unique('js');
    const stream = `TESSERA_TEST_DEST_${randomBytes(6).toString('hex')}`;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [subject] });
    cleanups.push(() => jsm.streams.delete(stream));
    const batch = [testMessage(), testMessage(), testMessage()];
    const ctx = setUp({ subject, jetstream: true });
    expect(await natsDestination.send(batch, ctx)).toEqual({ kind: 'ok' });
    expect(await natsDestination.send(batch, ctx)).toEqual({ kind: 'ok' });
    const info = await jsm.streams.info(stream);
    expect(info.state.messages).toBe(3);
    const stored = await Promise.all([1, 2, 3].map((seq) => jsm.streams.getMessage(stream, { seq })));
    const byId = new Map(stored.map((s) => [s?.header.get('Nats-Msg-Id'), s?.json()]));
    expect(byId).toEqual(new Map(batch.map((m) => [`dlv_${m.id}`, publicMessage(m)])));
  });

  it('jetstream: retries when no stream captures the subject', async () => {
    const ctx = setUp({ subject: unique('nostream'), jetstream: true });
    expect(await natsDestination.send([testMessage()], ctx)).toMatchObject({
      kind: 'retry',
      reason: expect.stringMatching(/^nats: /),
    });
  });
});

describe('nats destination without a server', () => {
  it('retries when the server cannot be reached', async () => {
    const { ctx, close } = testSendContext<Config>({
      servers: 'nats://127.0.0.1:1',
      subject: 'tessera_test.unreachable',
      jetstream: false,
    });
    cleanups.push(close);
    expect(await natsDestination.send([testMessage()], ctx)).toMatchObject({
      kind: 'retry',
      reason: expect.stringMatching(/^nats: cannot connect: /),
    });
  });
});
