import type { DeliveryMessage } from '@tessera/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { SendOutcome, SendResult } from '../plugin.js';
import { testMessage, testSendContext } from '../test/send-context.js';
import { type StandInHandler, startStandIn } from '../test/stand-in.js';
import { type CustomerioConfig, customerioDestination, ulidOf } from './customerio.js';

const AUTH = `Basic ${Buffer.from('site-1:track-key').toString('base64')}`;
const AT = Date.UTC(2026, 10, 1, 12, 0, 0);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setUp(handler: StandInHandler, config: Partial<CustomerioConfig> = {}) {
  const standIn = await startStandIn(handler);
  const { ctx, close } = testSendContext<CustomerioConfig>({
    siteId: 'site-1',
    apiKey: 'track-key',
    baseUrl: standIn.url,
    ...config,
  });
  cleanups.push(close, standIn.close);
  return { standIn, ctx };
}

const accepted: StandInHandler = () => ({ status: 200, body: {} });

function eachOf(outcome: SendOutcome): ReadonlyMap<string, SendResult> {
  if (outcome.kind !== 'each') throw new Error(`expected each, got ${JSON.stringify(outcome)}`);
  return outcome.results;
}

const batchOf = (json: unknown) => (json as { batch: Record<string, unknown>[] }).batch;

function event(type: string, name: string | null, over: Partial<DeliveryMessage> = {}): DeliveryMessage {
  return testMessage({
    kind: 'event',
    identifiers: { userId: 'u1' },
    event: {
      id: 'e1',
      type,
      name,
      messageId: 'm1',
      timestamp: AT + 1500,
      properties: { total: 42 },
      traits: type === 'identify' ? { plan: 'silver' } : null,
      context: null,
    },
    ...over,
  });
}

describe('customerio identify', () => {
  it('sends a profile as an identify operation of the v2 batch, with Basic site:key auth', async () => {
    const { standIn, ctx } = await setUp(accepted);
    const message = testMessage({ identifiers: { userId: 'u1', email: 'ada@example.com' }, at: AT });
    expect(await customerioDestination.send([message], ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls).toHaveLength(1);
    const [call] = standIn.calls;
    expect([call.method, call.path]).toEqual(['POST', '/api/v2/batch']);
    expect(call.headers.authorization).toBe(AUTH);
    expect(call.json).toEqual({
      batch: [
        {
          type: 'person',
          identifiers: { id: 'u1' },
          action: 'identify',
          timestamp: AT / 1000,
          attributes: { firstName: 'Ada', lastName: 'Lovelace', plan: 'gold', email: 'ada@example.com' },
        },
      ],
    });
  });

  it('falls back to the e-mail without a user id, and maps attributes when configured', async () => {
    const { standIn, ctx } = await setUp(accepted, { attributes: { firstName: 'first_name', plan: 'plan' } });
    await customerioDestination.send([testMessage({ identifiers: { email: 'b@example.com' } })], ctx);
    expect(batchOf(standIn.calls[0].json)[0]).toMatchObject({
      identifiers: { email: 'b@example.com' },
      attributes: { first_name: 'Ada', plan: 'gold' },
    });
    expect(Object.keys(batchOf(standIn.calls[0].json)[0].attributes as object)).toEqual(['first_name', 'plan']);
  });

  it('identifies by e-mail when configured, and drops a profile without one', async () => {
    const { standIn, ctx } = await setUp(accepted, { identifyBy: 'email' });
    const withEmail = testMessage({ identifiers: { userId: 'u9', email: 'c@example.com' } });
    const without = testMessage({ identifiers: { userId: 'u10' } });
    const results = eachOf(await customerioDestination.send([withEmail, without], ctx));
    expect(results.get(without.id)).toMatchObject({
      kind: 'drop',
      reason: 'customerio: the profile has no e-mail address',
    });
    expect(results.size).toBe(1);
    expect(batchOf(standIn.calls[0].json).map((o) => o.identifiers)).toEqual([{ email: 'c@example.com' }]);
  });

  it('drops a person with neither a user id nor an e-mail, without a call', async () => {
    const { standIn, ctx } = await setUp(accepted);
    const outcome = await customerioDestination.send([testMessage({ identifiers: { anonymousId: 'a1' } })], ctx);
    expect(outcome).toMatchObject({ kind: 'drop', reason: expect.stringMatching(/neither a user id nor an e-mail/) });
    expect(standIn.calls).toHaveLength(0);
  });

  it('keeps audience membership as a boolean attribute', async () => {
    const { standIn, ctx } = await setUp(accepted);
    const batch = [true, false].map((entered) =>
      testMessage({
        kind: 'audience',
        at: AT,
        audience: { key: 'vip', name: 'VIP', entered },
        identifiers: { userId: 'u1' },
      }),
    );
    await customerioDestination.send(batch, ctx);
    expect(batchOf(standIn.calls[0].json)).toEqual([
      {
        type: 'person',
        identifiers: { id: 'u1' },
        action: 'identify',
        timestamp: AT / 1000,
        attributes: { tessera_audience_vip: true },
      },
      {
        type: 'person',
        identifiers: { id: 'u1' },
        action: 'identify',
        timestamp: AT / 1000,
        attributes: { tessera_audience_vip: false },
      },
    ]);
  });
});

describe('customerio events', () => {
  it('sends a track event with a ULID id, its name, time in seconds and properties', async () => {
    const { standIn, ctx } = await setUp(accepted);
    const message = event('track', 'Order Completed');
    await customerioDestination.send([message], ctx);
    expect(batchOf(standIn.calls[0].json)).toEqual([
      {
        type: 'person',
        identifiers: { id: 'u1' },
        action: 'event',
        id: ulidOf(message.id),
        name: 'Order Completed',
        timestamp: Math.floor((AT + 1500) / 1000),
        attributes: { total: 42 },
      },
    ]);
  });

  it('sends page and screen views as their own actions, an identify event as identify', async () => {
    const { standIn, ctx } = await setUp(accepted);
    const page = event('page', null, {
      event: { ...event('page', null).event!, properties: { path: '/pricing', url: 'https://shop.example/pricing' } },
    });
    await customerioDestination.send([page, event('screen', 'Dashboard'), event('identify', null)], ctx);
    const ops = batchOf(standIn.calls[0].json);
    expect(ops.map((o) => [o.action, o.name])).toEqual([
      ['page', '/pricing'],
      ['screen', 'Dashboard'],
      ['identify', undefined],
    ]);
    expect(ops[2].attributes).toEqual({ plan: 'silver' });
  });

  it('drops group and alias events, which have no person operation', async () => {
    const { standIn, ctx } = await setUp(accepted);
    const group = event('group', null);
    const track = event('track', 'Signed Up');
    const results = eachOf(await customerioDestination.send([group, track], ctx));
    expect(results.get(group.id)).toMatchObject({ kind: 'drop', reason: expect.stringContaining('group events') });
    expect(batchOf(standIn.calls[0].json)).toHaveLength(1);
  });

  it('derives a valid ULID carrying the UUIDv7 time', () => {
    const uuid = '0191a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6b';
    const ulid = ulidOf(uuid)!;
    expect(ulid).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    const decoded = [...ulid].reduce((n, c) => n * 32n + BigInt(alphabet.indexOf(c)), 0n);
    expect(decoded.toString(16).padStart(32, '0')).toBe(uuid.replace(/-/g, ''));
    expect(ulidOf(uuid)).toBe(ulid);
    expect(ulidOf('not-a-uuid')).toBeUndefined();
  });
});

describe('customerio failures', () => {
  it('maps the batch_index of a 207 to its message, counting only the operations sent', async () => {
    const { ctx } = await setUp(() => ({
      status: 207,
      body: {
        errors: [{ batch_index: 1, reason: 'invalid', field: 'identifiers.id', message: 'id must not be blank' }],
      },
    }));
    const unsendable = testMessage({ identifiers: {} });
    const first = testMessage();
    const second = testMessage();
    const results = eachOf(await customerioDestination.send([unsendable, first, second], ctx));
    expect([...results.keys()].sort()).toEqual([unsendable.id, second.id].sort());
    expect(results.get(second.id)).toEqual({
      kind: 'drop',
      reason: 'customerio POST /api/v2/batch: HTTP 207 invalid (identifiers.id: id must not be blank)',
    });
  });

  it('drops the batch on a 400 with Customer.io’s errors in the reason', async () => {
    const { ctx } = await setUp(() => ({
      status: 400,
      body: { errors: [{ reason: 'required', field: 'batch', message: 'batch is required' }] },
    }));
    expect(await customerioDestination.send([testMessage(), testMessage()], ctx)).toEqual({
      kind: 'drop',
      status: 400,
      reason: 'customerio POST /api/v2/batch: HTTP 400 required (batch: batch is required)',
    });
  });

  it('drops a 401', async () => {
    const { ctx } = await setUp(() => ({ status: 401, body: 'Unauthorized request' }));
    const outcome = await customerioDestination.send([testMessage()], ctx);
    expect(outcome).toMatchObject({
      kind: 'drop',
      status: 401,
      reason: expect.stringContaining('Unauthorized request'),
    });
    expect(JSON.stringify(outcome)).not.toContain('track-key');
  });

  it('retries a 429 after its Retry-After', async () => {
    const { ctx } = await setUp(() => ({ status: 429, headers: { 'retry-after': '5' }, body: 'slow down' }));
    expect(await customerioDestination.send([testMessage(), testMessage()], ctx)).toMatchObject({
      kind: 'retry',
      status: 429,
      retryAfterMs: 5000,
    });
  });

  it('retries a 5xx', async () => {
    const { ctx } = await setUp(() => ({ status: 500, body: { errors: [{ reason: 'internal', message: 'oops' }] } }));
    expect(await customerioDestination.send([testMessage()], ctx)).toMatchObject({ kind: 'retry', status: 500 });
  });

  it('retries when the server cannot be reached', async () => {
    const standIn = await startStandIn(accepted);
    await standIn.close();
    const { ctx, close } = testSendContext<CustomerioConfig>({ siteId: 's', apiKey: 'k', baseUrl: standIn.url });
    cleanups.push(close);
    expect(await customerioDestination.send([testMessage()], ctx)).toMatchObject({ kind: 'retry' });
  });
});

describe('customerio limits', () => {
  it('splits requests under 500 KB and drops an operation over 32 KB', async () => {
    const { standIn, ctx } = await setUp(accepted);
    const bulky = Array.from({ length: 20 }, () => testMessage({ traits: { notes: 'x'.repeat(30_000) } }));
    const huge = testMessage({ traits: { notes: 'x'.repeat(40_000) } });
    const results = eachOf(await customerioDestination.send([...bulky, huge], ctx));
    expect(results.size).toBe(1);
    expect(results.get(huge.id)).toMatchObject({ kind: 'drop', reason: expect.stringContaining('over 32 KB') });
    expect(standIn.calls.length).toBe(2);
    expect(standIn.calls.every((c) => c.body.length < 500_000)).toBe(true);
    expect(standIn.calls.reduce((n, c) => n + batchOf(c.json).length, 0)).toBe(20);
  });

  it('stops after a retry: the later requests of the send are not made', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 503 }));
    const bulky = Array.from({ length: 20 }, () => testMessage({ traits: { notes: 'x'.repeat(30_000) } }));
    expect(await customerioDestination.send(bulky, ctx)).toMatchObject({ kind: 'retry', status: 503 });
    expect(standIn.calls).toHaveLength(1);
  });

  it('uses the region’s Track URL when no base URL is set', async () => {
    const urls: string[] = [];
    for (const region of ['us', 'eu'] as const) {
      const { ctx, close } = testSendContext<CustomerioConfig>({ siteId: 's', apiKey: 'k', region });
      cleanups.push(close);
      const recording = {
        ...ctx,
        fetch: (async (url: string) => {
          urls.push(url);
          return new Response('{}', { status: 200 });
        }) as typeof fetch,
      };
      await customerioDestination.send([testMessage()], recording);
    }
    expect(urls).toEqual(['https://track.customer.io/api/v2/batch', 'https://track-eu.customer.io/api/v2/batch']);
  });

  it('marks the API key secret', () => {
    expect((customerioDestination.configSchema.properties.apiKey as { secret?: boolean }).secret).toBe(true);
  });
});
