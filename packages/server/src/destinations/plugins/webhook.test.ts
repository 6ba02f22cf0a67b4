import { createHash, createHmac } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { DeliveryMessage } from '@tessera/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { SendOutcome, SendResult } from '../plugin.js';
import { testMessage, testSendContext } from '../test/send-context.js';
import { type StandInHandler, startStandIn } from '../test/stand-in.js';
import { SIGNATURE_HEADER, type WebhookConfig, webhookDestination, webhookSignature } from './webhook.js';

type Config = Static<typeof WebhookConfig>;

const NOW = Date.UTC(2026, 10, 2, 9, 30, 15, 250);
const SECRET = 'whsec_0123456789abcdef';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setUp(handler: StandInHandler, config: Partial<Config> = {}) {
  const standIn = await startStandIn(handler);
  const { ctx, close } = testSendContext<Config>(
    { url: `${standIn.url}/hook`, batch: true, batchSize: 100, hashIdentifiers: false, ...config },
    { now: () => NOW },
  );
  cleanups.push(close, standIn.close);
  return { standIn, ctx };
}

function eachOf(outcome: SendOutcome): ReadonlyMap<string, SendResult> {
  if (outcome.kind !== 'each') throw new Error(`expected each, got ${JSON.stringify(outcome)}`);
  return outcome.results;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe('webhook batches', () => {
  it('posts {batch, sentAt} with public ids and ISO times', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 204 }));
    const event = testMessage({
      kind: 'event',
      event: {
        id: '0191c000-0000-7000-8000-000000000001',
        type: 'track',
        name: 'Order Completed',
        messageId: 'm1',
        timestamp: Date.UTC(2026, 10, 1, 11, 59, 0),
        properties: { total: 42 },
        traits: null,
        context: null,
      },
    });
    const profile = testMessage();
    const audience = testMessage({ kind: 'audience', audience: { key: 'vip', name: 'VIP', entered: true } });
    expect(await webhookDestination.send([event, profile, audience], ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls).toHaveLength(1);
    const [call] = standIn.calls;
    expect(call.method).toBe('POST');
    expect(call.path).toBe('/hook');
    expect(call.json).toEqual({
      sentAt: '2026-11-02T09:30:15.250Z',
      batch: [
        {
          id: `dlv_${event.id}`,
          kind: 'event',
          profileId: `prof_${event.profileId}`,
          at: '2026-11-01T12:00:00.000Z',
          identifiers: event.identifiers,
          traits: event.traits,
          event: {
            id: 'evt_0191c000-0000-7000-8000-000000000001',
            type: 'track',
            name: 'Order Completed',
            messageId: 'm1',
            timestamp: '2026-11-01T11:59:00.000Z',
            properties: { total: 42 },
            traits: null,
            context: null,
          },
        },
        {
          id: `dlv_${profile.id}`,
          kind: 'profile',
          profileId: `prof_${profile.profileId}`,
          at: '2026-11-01T12:00:00.000Z',
          identifiers: profile.identifiers,
          traits: profile.traits,
        },
        {
          id: `dlv_${audience.id}`,
          kind: 'audience',
          profileId: `prof_${audience.profileId}`,
          at: '2026-11-01T12:00:00.000Z',
          identifiers: audience.identifiers,
          traits: audience.traits,
          audience: { key: 'vip', name: 'VIP', entered: true },
        },
      ],
    });
  });

  it('sends content-type, user-agent and the idempotency key of the batch: the SHA-256 of its ids', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 200 }));
    const batch = [testMessage(), testMessage(), testMessage()];
    await webhookDestination.send(batch, ctx);
    const other = [batch[0] as DeliveryMessage, testMessage(), testMessage()];
    await webhookDestination.send(other, ctx);
    const { headers } = standIn.calls[0];
    expect(headers['content-type']).toBe('application/json');
    expect(headers['user-agent']).toBe('Tessera');
    expect(headers['idempotency-key']).toBe(
      createHash('sha256')
        .update(batch.map((m) => m.id).join(','))
        .digest('hex'),
    );
    // Same first message, same size, other messages: another key.
    expect(standIn.calls[1]?.headers['idempotency-key']).not.toBe(headers['idempotency-key']);
  });

  it('signs the body: the receiver recomputes the HMAC-SHA256 of "<t>.<body>" with the secret', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 200 }), { secret: SECRET });
    await webhookDestination.send([testMessage(), testMessage()], ctx);
    const { headers, body } = standIn.calls[0];
    const signature = headers[SIGNATURE_HEADER] as string;
    const t = Math.floor(NOW / 1000);
    expect(signature).toBe(webhookSignature(SECRET, t, body));
    // What a receiver does, without Tessera's code.
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature);
    expect(match).not.toBeNull();
    const [, ts, v1] = match as RegExpExecArray;
    expect(Number(ts)).toBe(t);
    expect(v1).toBe(createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex'));
    expect(v1).not.toBe(createHmac('sha256', 'another-secret-of-16').update(`${ts}.${body}`).digest('hex'));
  });

  it('sends no signature without a secret', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 200 }));
    await webhookDestination.send([testMessage()], ctx);
    expect(standIn.calls[0].headers[SIGNATURE_HEADER]).toBeUndefined();
  });

  it('sends the custom headers', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 200 }), {
      headers: { Authorization: 'Bearer abc', 'X-Tenant': 'acme' },
    });
    await webhookDestination.send([testMessage()], ctx);
    expect(standIn.calls[0].headers.authorization).toBe('Bearer abc');
    expect(standIn.calls[0].headers['x-tenant']).toBe('acme');
  });

  it('replaces e-mail and phone with SHA-256 of their normalised form when hashIdentifiers is set', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 200 }), { hashIdentifiers: true });
    const message = testMessage({
      identifiers: {
        userId: 'u-42',
        email: '  Ada.Lovelace@Example.COM ',
        phone: '+33 6 12 34 56 78',
        anonymousId: 'a1',
      },
    });
    await webhookDestination.send([message], ctx);
    const sent = (standIn.calls[0].json as { batch: { identifiers: Record<string, string> }[] }).batch[0];
    expect(sent.identifiers).toEqual({
      userId: 'u-42',
      anonymousId: 'a1',
      email: sha256('ada.lovelace@example.com'),
      phone: sha256('+33612345678'),
    });
    expect(standIn.calls[0].body).not.toContain('Lovelace@');
  });

  it('sends e-mail and phone as they are without hashIdentifiers', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 200 }));
    const message = testMessage({ identifiers: { email: 'Ada@Example.com', phone: '+33612345678' } });
    await webhookDestination.send([message], ctx);
    const sent = (standIn.calls[0].json as { batch: { identifiers: Record<string, string> }[] }).batch[0];
    expect(sent.identifiers).toEqual({ email: 'Ada@Example.com', phone: '+33612345678' });
  });
});

describe('webhook one message per call', () => {
  it('posts each message alone, keyed by its id, and maps each answer to its message', async () => {
    const batch = [testMessage(), testMessage(), testMessage()];
    const failing = `dlv_${batch[1].id}`;
    const { standIn, ctx } = await setUp(
      (call) =>
        (call.json as { id: string }).id === failing ? { status: 500, body: 'boom' } : { status: 202, body: {} },
      { batch: false, secret: SECRET },
    );
    const results = eachOf(await webhookDestination.send(batch, ctx));
    expect(results.get(batch[0].id)).toEqual({ kind: 'ok' });
    expect(results.get(batch[1].id)).toMatchObject({ kind: 'retry', status: 500, reason: 'webhook: HTTP 500 boom' });
    expect(results.get(batch[2].id)).toEqual({ kind: 'ok' });
    expect(standIn.calls).toHaveLength(3);
    const byId = new Map(standIn.calls.map((c) => [(c.json as { id: string }).id, c]));
    for (const m of batch) {
      const call = byId.get(`dlv_${m.id}`);
      expect(call?.json).toMatchObject({ id: `dlv_${m.id}`, profileId: `prof_${m.profileId}`, kind: 'profile' });
      expect(call?.json).not.toHaveProperty('batch');
      expect(call?.headers['idempotency-key']).toBe(`dlv_${m.id}`);
      expect(call?.headers[SIGNATURE_HEADER]).toBe(webhookSignature(SECRET, Math.floor(NOW / 1000), call?.body ?? ''));
    }
  });

  it('asks for smaller batches than batch mode', () => {
    const base = { url: 'https://example.com', batchSize: 100, hashIdentifiers: false };
    expect(webhookDestination.batchSizeOf?.({ ...base, batch: false })).toBe(20);
    expect(webhookDestination.batchSizeOf?.({ ...base, batch: true, batchSize: 7 })).toBe(7);
  });
});

describe('webhook failures', () => {
  it('retries a 429 after Retry-After', async () => {
    const { ctx } = await setUp(() => ({ status: 429, headers: { 'retry-after': '12' }, body: 'slow down' }));
    expect(await webhookDestination.send([testMessage()], ctx)).toEqual({
      kind: 'retry',
      status: 429,
      retryAfterMs: 12_000,
      reason: 'webhook: HTTP 429 slow down',
    });
  });

  it('retries a 503', async () => {
    const { ctx } = await setUp(() => ({ status: 503 }));
    expect(await webhookDestination.send([testMessage()], ctx)).toMatchObject({ kind: 'retry', status: 503 });
  });

  it('drops a 400 with the body in the reason', async () => {
    const { ctx } = await setUp(() => ({ status: 400, body: { error: 'unknown field "traits"' } }));
    expect(await webhookDestination.send([testMessage()], ctx)).toEqual({
      kind: 'drop',
      status: 400,
      reason: 'webhook: HTTP 400 {"error":"unknown field \\"traits\\""}',
    });
  });

  it('retries when the server cannot be reached', async () => {
    const standIn = await startStandIn(() => ({ status: 200 }));
    await standIn.close();
    const { ctx, close } = testSendContext<Config>({
      url: standIn.url,
      batch: true,
      batchSize: 100,
      hashIdentifiers: false,
    });
    cleanups.push(close);
    expect(await webhookDestination.send([testMessage()], ctx)).toMatchObject({
      kind: 'retry',
      reason: expect.stringMatching(/^webhook: /),
    });
  });
});
