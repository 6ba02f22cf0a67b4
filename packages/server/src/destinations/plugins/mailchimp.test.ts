import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { SendOutcome, SendResult } from '../plugin.js';
import { testMessage, testSendContext } from '../test/send-context.js';
import { type StandInHandler, startStandIn } from '../test/stand-in.js';
import { type MailchimpConfig, mailchimpDestination, subscriberHash } from './mailchimp.js';

const KEY = '0123456789abcdef0123456789abcdef-us6';
const AUTH = `Basic ${Buffer.from(`tessera:${KEY}`).toString('base64')}`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setUp(handler: StandInHandler, config: Partial<MailchimpConfig> = {}) {
  const standIn = await startStandIn(handler);
  const { ctx, close } = testSendContext<MailchimpConfig>({
    apiKey: KEY,
    baseUrl: standIn.url,
    listId: 'L1',
    ...config,
  });
  cleanups.push(close, standIn.close);
  return { standIn, ctx };
}

function eachOf(outcome: SendOutcome): ReadonlyMap<string, SendResult> {
  if (outcome.kind !== 'each') throw new Error(`expected each, got ${JSON.stringify(outcome)}`);
  return outcome.results;
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

const problem = (status: number, title: string, detail: string) => ({
  status,
  headers: { 'content-type': 'application/problem+json' },
  body: JSON.stringify({
    type: 'https://mailchimp.com/developer/marketing/docs/errors/',
    title,
    status,
    detail,
    instance: 'abc',
  }),
});

const audience = (key: string, email: string, entered = true) =>
  testMessage({ kind: 'audience', identifiers: { email }, audience: { key, name: key, entered } });

describe('mailchimp profiles', () => {
  it('hashes the lower-cased e-mail', () => {
    expect(subscriberHash(' Ada@Example.COM ')).toBe(md5('ada@example.com'));
  });

  it('PUTs the member with status_if_new, merge fields and Basic auth', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 200, body: { id: 'x', status: 'subscribed' } }));
    const message = testMessage({ identifiers: { email: 'Ada@Example.com', phone: '+33612345678' } });
    expect(await mailchimpDestination.send([message], ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls).toHaveLength(1);
    const [call] = standIn.calls;
    expect(call.method).toBe('PUT');
    expect(call.path).toBe(`/3.0/lists/L1/members/${md5('ada@example.com')}`);
    expect(call.headers.authorization).toBe(AUTH);
    expect(call.json).toEqual({
      email_address: 'Ada@Example.com',
      status_if_new: 'subscribed',
      merge_fields: { FNAME: 'Ada', LNAME: 'Lovelace', PHONE: '+33612345678' },
    });
  });

  it('uses the configured status and merge tags', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 200, body: {} }), {
      statusIfNew: 'pending',
      mergeFields: { plan: 'PLAN' },
    });
    await mailchimpDestination.send([testMessage({ identifiers: { email: 'a@example.com' } })], ctx);
    expect(standIn.calls[0].json).toEqual({
      email_address: 'a@example.com',
      status_if_new: 'pending',
      merge_fields: { PLAN: 'gold' },
    });
  });

  it('clears a merge field whose trait was removed, and leaves out traits never set', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 200, body: {} }));
    await mailchimpDestination.send(
      [testMessage({ identifiers: { email: 'a@example.com' }, traits: { lastName: null } })],
      ctx,
    );
    expect((standIn.calls[0].json as { merge_fields: unknown }).merge_fields).toEqual({ LNAME: '' });
  });

  it('drops a message without an e-mail, with a clear reason, and sends the others', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 200, body: {} }));
    const without = testMessage({ identifiers: { userId: 'u1', phone: '+33612345678' } });
    const withEmail = testMessage({ identifiers: { email: 'b@example.com' } });
    const results = eachOf(await mailchimpDestination.send([without, withEmail], ctx));
    expect(results.get(without.id)).toMatchObject({ kind: 'drop', reason: expect.stringMatching(/no e-mail/) });
    expect(results.size).toBe(1);
    expect(standIn.calls).toHaveLength(1);
  });

  it('drops with "title: detail" from the problem document', async () => {
    const { ctx } = await setUp((call) =>
      call.path.endsWith(md5('bad@example.com'))
        ? problem(
            400,
            'Member In Compliance State',
            'The contact is in a compliance state and cannot be re-subscribed.',
          )
        : { status: 200, body: {} },
    );
    const bad = testMessage({ identifiers: { email: 'bad@example.com' } });
    const good = testMessage({ identifiers: { email: 'good@example.com' } });
    const results = eachOf(await mailchimpDestination.send([bad, good], ctx));
    expect(results.get(bad.id)).toEqual({
      kind: 'drop',
      status: 400,
      reason:
        'mailchimp PUT /3.0/lists/{list}/members/{hash}: HTTP 400 Member In Compliance State: The contact is in a compliance state and cannot be re-subscribed.',
    });
    expect(results.has(good.id)).toBe(false);
  });

  it('adds the field errors of an Invalid Resource', async () => {
    const { ctx } = await setUp(() => ({
      status: 400,
      body: {
        type: 'x',
        title: 'Invalid Resource',
        status: 400,
        detail: 'The resource submitted could not be validated.',
        instance: 'i',
        errors: [{ field: 'merge_fields.BIRTHDAY', message: 'Please enter a valid date' }],
      },
    }));
    expect(await mailchimpDestination.send([testMessage()], ctx)).toMatchObject({
      kind: 'drop',
      reason: expect.stringContaining(
        'Invalid Resource: The resource submitted could not be validated.; merge_fields.BIRTHDAY: Please enter a valid date',
      ),
    });
  });
});

describe('mailchimp audiences', () => {
  it('sets the tag active on entry and inactive on exit', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 204 }), { tags: { vip: 'VIP customers' } });
    const batch = [audience('vip', 'a@example.com'), audience('lapsed', 'b@example.com', false)];
    expect(await mailchimpDestination.send(batch, ctx)).toEqual({ kind: 'ok' });
    const calls = [...standIn.calls].sort((x, y) => x.path.localeCompare(y.path));
    const expected = [
      [`/3.0/lists/L1/members/${md5('a@example.com')}/tags`, { tags: [{ name: 'VIP customers', status: 'active' }] }],
      [`/3.0/lists/L1/members/${md5('b@example.com')}/tags`, { tags: [{ name: 'lapsed', status: 'inactive' }] }],
    ].sort((x, y) => (x[0] as string).localeCompare(y[0] as string));
    expect(calls.map((c) => [c.path, c.json])).toEqual(expected);
    expect(standIn.calls.every((c) => c.method === 'POST' && c.headers.authorization === AUTH)).toBe(true);
  });

  it('adds a person who is not a member before tagging them', async () => {
    let tagged = 0;
    const { standIn, ctx } = await setUp((call) => {
      if (call.method === 'PUT') return { status: 200, body: {} };
      return tagged++ === 0
        ? problem(404, 'Resource Not Found', 'The requested resource could not be found.')
        : { status: 204 };
    });
    expect(await mailchimpDestination.send([audience('vip', 'new@example.com')], ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls.map((c) => c.method)).toEqual(['POST', 'PUT', 'POST']);
    expect(standIn.calls[1].json).toEqual({ email_address: 'new@example.com', status_if_new: 'subscribed' });
  });

  it('has nothing to do when a person who is not a member leaves', async () => {
    const { standIn, ctx } = await setUp(() =>
      problem(404, 'Resource Not Found', 'The requested resource could not be found.'),
    );
    expect(await mailchimpDestination.send([audience('vip', 'gone@example.com', false)], ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls).toHaveLength(1);
  });

  it('sends only the newest change of one tag', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 204 }));
    const exit = { ...audience('vip', 'a@example.com', false), at: 2000 };
    const enter = { ...audience('vip', 'A@example.com'), at: 1000 };
    expect(await mailchimpDestination.send([enter, exit], ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls.map((c) => c.json)).toEqual([{ tags: [{ name: 'vip', status: 'inactive' }] }]);
  });
});

describe('mailchimp failures', () => {
  it('retries a 429 with its Retry-After and stops calling', async () => {
    const { standIn, ctx } = await setUp(() => ({
      ...problem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.'),
      headers: { 'content-type': 'application/problem+json', 'retry-after': '12' },
    }));
    const outcome = await mailchimpDestination.send([testMessage()], ctx);
    expect(outcome).toMatchObject({
      kind: 'retry',
      status: 429,
      retryAfterMs: 12_000,
      reason: expect.stringContaining('Too Many Requests: You have exceeded'),
    });
    expect(standIn.calls).toHaveLength(1);
  });

  it('retries a 5xx', async () => {
    const { ctx } = await setUp(() => problem(503, 'Service Unavailable', 'Try again later'));
    expect(await mailchimpDestination.send([testMessage()], ctx)).toMatchObject({ kind: 'retry', status: 503 });
  });

  it('retries a bare 403 (edge throttling) but drops a 403 problem document', async () => {
    const bare = await setUp(() => ({ status: 403, body: '<html>Request Blocked</html>' }));
    expect(await mailchimpDestination.send([testMessage()], bare.ctx)).toMatchObject({ kind: 'retry', status: 403 });
    const real = await setUp(() => problem(403, 'User Disabled', 'This account has been disabled.'));
    expect(await mailchimpDestination.send([testMessage()], real.ctx)).toMatchObject({
      kind: 'drop',
      status: 403,
      reason: expect.stringContaining('User Disabled: This account has been disabled.'),
    });
  });

  it('retries when the server cannot be reached', async () => {
    const standIn = await startStandIn(() => ({ status: 200 }));
    await standIn.close();
    const { ctx, close } = testSendContext<MailchimpConfig>({ apiKey: KEY, baseUrl: standIn.url, listId: 'L1' });
    cleanups.push(close);
    expect(await mailchimpDestination.send([testMessage()], ctx)).toMatchObject({ kind: 'retry' });
  });

  it('derives the data-center URL from the key, and drops when the key has none', async () => {
    const calls: string[] = [];
    const { ctx, close } = testSendContext<MailchimpConfig>({ apiKey: 'abc-us21', listId: 'L1' });
    cleanups.push(close);
    const recording = {
      ...ctx,
      fetch: (async (url: string) => {
        calls.push(url);
        return new Response(null, { status: 200 });
      }) as typeof fetch,
    };
    await mailchimpDestination.send([testMessage({ identifiers: { email: 'a@example.com' } })], recording);
    expect(calls).toEqual([`https://us21.api.mailchimp.com/3.0/lists/L1/members/${md5('a@example.com')}`]);
    const noDc = { ...recording, config: { apiKey: 'abc', listId: 'L1' } };
    expect(await mailchimpDestination.send([testMessage()], noDc)).toMatchObject({ kind: 'drop' });
    expect(calls).toHaveLength(1);
  });
});

describe('mailchimp schema', () => {
  it('marks the API key secret and validates its data-center suffix', () => {
    const apiKey = mailchimpDestination.configSchema.properties.apiKey as { secret?: boolean; pattern?: string };
    expect(apiKey.secret).toBe(true);
    expect(new RegExp(apiKey.pattern!).test(KEY)).toBe(true);
    expect(new RegExp(apiKey.pattern!).test('0123456789abcdef')).toBe(false);
  });
});
