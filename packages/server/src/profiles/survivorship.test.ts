import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';

/**
 * Golden record survivorship (DESIGN §5) through the real pipeline and the HTTP API: the setting and its versions,
 * each rule on profiles built from events of several sources, late events, merges, `asOf` / `knownAt`.
 */

const BASE = Date.UTC(2026, 0, 1, 12, 0);
const ms = (min: number) => BASE + min * 60_000;
const at = (min: number) => new Date(ms(min)).toISOString();
const sleep = (n: number) => new Promise((resolve) => setTimeout(resolve, n));

let t: TestApp;
/** Write keys and public ids of the sources: `web` (the test app's own), `crm`, `app`. */
let keys: Record<string, string>;
let sources: Record<string, string>;

beforeEach(async () => {
  t = await createTestApp();
  keys = { web: t.writeKey };
  sources = { web: t.sourceId };
  for (const name of ['crm', 'app']) {
    const created = await t.app.sources.create({ name });
    keys[name] = created.writeKey;
    sources[name] = created.source.id;
  }
});
afterEach(async () => {
  await t.app.close();
});

async function putRules(rules: unknown) {
  const r = await call(t, 'PUT', '/v1/settings/survivorship', rules);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}
/** Sends calls from one source and processes them. */
async function send(source: string, calls: Record<string, unknown>[]) {
  const r = await t.send(calls, keys[source]);
  expect(r.body).toMatchObject({ accepted: calls.length, quarantined: [] });
  await t.app.drain();
}
const identify = (messageId: string, min: number, traits: Record<string, unknown>, ids: object = { userId: 'u1' }) => ({
  type: 'identify',
  ...ids,
  messageId,
  timestamp: at(min),
  traits,
});
async function profile(query = '', type = 'user_id', value = 'u1') {
  const found = await t.get(`/v1/profiles/by/${type}/${value}`);
  expect(found.status).toBe(200);
  if (query === '') return found.body;
  const r = await t.get(`/v1/profiles/${found.body.id}?${query}`);
  expect(r.status).toBe(200);
  return r.body;
}
/** messageId → public event id, across the profile's family. */
async function eventIds(type = 'user_id', value = 'u1'): Promise<Record<string, string>> {
  const p = await profile('', type, value);
  const r = await t.get(`/v1/profiles/${p.id}/events?limit=1000`);
  return Object.fromEntries(r.body.items.map((e: { messageId: string; id: string }) => [e.messageId, e.id]));
}

describe('the survivorship setting (versioned, audited)', () => {
  it('starts at version 0 with the defaults; every PUT is a new version with its author; versions are listed', async () => {
    expect(await call(t, 'GET', '/v1/settings/survivorship')).toEqual({
      status: 200,
      body: {
        version: 0,
        settings: { default: { rule: 'most_recent' }, traits: {} },
        createdAt: null,
        createdBy: null,
      },
    });
    const v1 = await putRules({ default: { rule: 'longest' } });
    expect(v1).toEqual({
      version: 1,
      settings: { default: { rule: 'longest' }, traits: {} },
      createdAt: expect.stringMatching(/^\d{4}-/),
      createdBy: expect.stringMatching(/^tok_/),
    });
    const rules2 = {
      default: { rule: 'most_recent' },
      traits: { email: { rule: 'source_priority', sources: ['crm', sources.web] }, plan: { rule: 'most_frequent' } },
    };
    const v2 = await putRules(rules2);
    expect(v2).toMatchObject({ version: 2, settings: rules2, createdBy: v1.createdBy });
    expect((await call(t, 'GET', '/v1/settings/survivorship')).body).toEqual(v2);

    const all = await call(t, 'GET', '/v1/settings/survivorship/versions');
    expect(all.body.items.map((v: { version: number }) => v.version)).toEqual([2, 1, 0]);
    expect(all.body.items[1]).toEqual(v1);
    expect(all.body.nextCursor).toBeNull();
    const page1 = await call(t, 'GET', '/v1/settings/survivorship/versions?limit=2');
    expect(page1.body.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    const page2 = await call(t, 'GET', `/v1/settings/survivorship/versions?limit=2&cursor=${page1.body.nextCursor}`);
    expect(page2.body).toMatchObject({ items: [{ version: 0 }], nextCursor: null });
    expect((await call(t, 'GET', '/v1/settings/survivorship/versions?cursor=bad')).status).toBe(400);
  });

  it.each<[string, unknown, string]>([
    ['an unknown rule', { default: { rule: 'oldest' } }, 'default.rule'],
    ['source_priority without sources', { default: { rule: 'source_priority' } }, 'default.sources'],
    [
      'a source that does not exist',
      { default: { rule: 'most_recent' }, traits: { email: { rule: 'source_priority', sources: ['crm', 'crmm'] } } },
      'traits.email.sources.1',
    ],
    [
      'one source named twice (by name and by id)',
      { default: { rule: 'source_priority', sources: ['crm', 'web', 'SRC'] } },
      'default.sources.2',
    ],
    ['no body', undefined, '(root)'],
  ])('refuses %s with 400 invalid_request naming the field, and writes no version', async (_, body, field) => {
    const withIds = JSON.parse(JSON.stringify(body ?? null).replace('"SRC"', JSON.stringify(sources.crm)));
    const r = await call(t, 'PUT', '/v1/settings/survivorship', body === undefined ? undefined : withIds);
    expect(r.status).toBe(400);
    if (body !== undefined) {
      expect(r.body.error).toMatchObject({ code: 'invalid_request', details: { field } });
      expect(r.body.error.message).toMatch(
        new RegExp(`^invalid survivorship settings: ${field.replace(/\./g, '\\.')}`),
      );
    }
    expect((await call(t, 'GET', '/v1/settings/survivorship')).body.version).toBe(0);
  });

  it('reading needs a reader role, writing the admin role', async () => {
    const { token: marketer } = await t.app.tokens.create('marketer', ['marketer']);
    expect((await call(t, 'GET', '/v1/settings/survivorship', undefined, marketer)).status).toBe(200);
    expect((await call(t, 'GET', '/v1/settings/survivorship/versions', undefined, marketer)).status).toBe(200);
    const refused = await call(t, 'PUT', '/v1/settings/survivorship', { default: { rule: 'longest' } }, marketer);
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const anonymous = await t.app.http.inject({ method: 'GET', url: '/v1/settings/survivorship' });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('golden record through the pipeline', () => {
  it('by default (most_recent) shows where each current value came from, at version 0', async () => {
    await send('crm', [identify('c1', 10, { plan: 'pro', name: 'Jo' })]);
    await send('web', [identify('w1', 20, { plan: 'free' }), identify('w2', 30, { plan: 'free' })]);
    const events = await eventIds();
    const p = await profile();
    expect(p.traits).toEqual({ plan: 'free', name: 'Jo' });
    expect(p.traitSources).toEqual({
      // The observation that set the value; a later observation of the same value does not move it.
      plan: { rule: 'most_recent', settingsVersion: 0, sourceId: sources.web, eventId: events.w1, observedAt: at(20) },
      name: { rule: 'most_recent', settingsVersion: 0, sourceId: sources.crm, eventId: events.c1, observedAt: at(10) },
    });
  });

  it('source_priority: the most trusted source wins; unlisted sources rank last; a new version applies at once', async () => {
    await send('crm', [identify('c1', 10, { email: 'jo@crm.example' })]);
    await send('web', [identify('w1', 20, { email: 'jo@web.example' })]);
    await send('app', [identify('a1', 30, { email: 'jo@app.example' })]);
    const events = await eventIds();
    expect((await profile()).traits.email).toBe('jo@app.example');

    await putRules({
      default: { rule: 'most_recent' },
      traits: { email: { rule: 'source_priority', sources: ['crm', 'web'] } },
    });
    let p = await profile();
    expect(p.traits.email).toBe('jo@crm.example');
    expect(p.traitSources.email).toEqual({
      rule: 'source_priority',
      settingsVersion: 1,
      sourceId: sources.crm,
      eventId: events.c1,
      observedAt: at(10),
    });
    // `app` is not listed: it ranks after `web`.
    await putRules({ default: { rule: 'source_priority', sources: ['web'] } });
    p = await profile();
    expect(p.traits.email).toBe('jo@web.example');
    expect(p.traitSources.email).toMatchObject({ sourceId: sources.web, settingsVersion: 2 });
    // Only unlisted sources observed it: the most recent of them.
    await putRules({ default: { rule: 'source_priority', sources: [sources.crm] } });
    await send('web', [identify('w2', 40, { city: 'Lyon' })]);
    await send('app', [identify('a2', 35, { city: 'Nice' })]);
    p = await profile();
    expect(p.traits).toMatchObject({ email: 'jo@crm.example', city: 'Lyon' });
    // Back to the default: the most recent value again, without touching any profile.
    await putRules({ default: { rule: 'most_recent' } });
    expect((await profile()).traits.email).toBe('jo@app.example');
  });

  it('source_priority: a late event from the trusted source wins; a newer one from another source does not', async () => {
    await putRules({ default: { rule: 'source_priority', sources: ['crm'] } });
    await send('web', [identify('w1', 50, { tier: 'gold' })]);
    await send('crm', [identify('c1', 5, { tier: 'silver' })]);
    const p = await profile();
    expect(p.traits.tier).toBe('silver');
    expect(p.traitSources.tier).toMatchObject({ sourceId: sources.crm, observedAt: at(5) });
  });

  it('most_frequent: the value seen most often; late events count; ties go to the most recent', async () => {
    await putRules({ default: { rule: 'most_recent' }, traits: { plan: { rule: 'most_frequent' } } });
    await send('web', [
      identify('w1', 10, { plan: 'pro' }),
      identify('w2', 20, { plan: 'pro' }),
      identify('w3', 30, { plan: 'free' }),
    ]);
    let p = await profile();
    expect(p.traits.plan).toBe('pro');
    expect(p.traitSources.plan).toMatchObject({ rule: 'most_frequent', observedAt: at(20) });
    // Two late observations of `free` (older than every other): 2 pro, 3 free.
    await send('crm', [identify('c1', 1, { plan: 'free' }), identify('c2', 2, { plan: 'free' })]);
    p = await profile();
    expect(p.traits.plan).toBe('free');
    expect(p.traitSources.plan).toMatchObject({ sourceId: sources.web, observedAt: at(30) });
    // 3 against 3: the value observed last (pro at 40).
    await send('app', [identify('a1', 40, { plan: 'pro' })]);
    expect((await profile()).traits.plan).toBe('pro');
  });

  it('longest: the longest non-empty value; empty values never win', async () => {
    await putRules({ default: { rule: 'longest' } });
    await send('web', [
      identify('w1', 10, { name: 'Johanna Smith' }),
      identify('w2', 20, { name: 'Jo' }),
      identify('w3', 30, { name: '   ' }),
      identify('w4', 40, { nickname: '' }),
    ]);
    const events = await eventIds();
    const p = await profile();
    expect(p.traits).toEqual({ name: 'Johanna Smith', nickname: '' });
    expect(p.traitSources.name).toEqual({
      rule: 'longest',
      settingsVersion: 1,
      sourceId: sources.web,
      eventId: events.w1,
      observedAt: at(10),
    });
    // Only empty values: the latest of them.
    expect(p.traitSources.nickname).toMatchObject({ rule: 'longest', eventId: events.w4 });
  });

  it('reads context.traits of any call as observations, never a group call’s account traits', async () => {
    await putRules({ default: { rule: 'most_frequent' } });
    await send('web', [
      identify('w1', 10, { name: 'Jo' }),
      {
        type: 'track',
        userId: 'u1',
        messageId: 'w2',
        timestamp: at(20),
        event: 'Viewed',
        context: { traits: { name: 'Jo' } },
      },
      { type: 'group', userId: 'u1', messageId: 'w3', timestamp: at(30), groupId: 'acme', traits: { name: 'Acme' } },
      { type: 'group', userId: 'u1', messageId: 'w4', timestamp: at(31), groupId: 'acme', traits: { name: 'Acme' } },
      identify('w5', 40, { name: 'Joe' }),
    ]);
    // Jo twice (an identify, a track's context.traits); Acme is the account's name, not the person's.
    expect((await profile()).traits.name).toBe('Jo');
  });

  describe('merges', () => {
    /** a1 (crm) and u1 (web) hold conflicting values; an `app` event joins them at 30. a1's profile survives. */
    async function mergeTwo() {
      await send('crm', [identify('c1', 10, { email: 'jo@crm.example', name: 'Johanna' }, { anonymousId: 'a1' })]);
      await send('web', [identify('w1', 20, { email: 'jo@web.example', name: 'Jo' }, { userId: 'u1' })]);
      const before = { a1: (await profile('', 'anonymous_id', 'a1')).id, u1: (await profile()).id };
      expect(before.a1).not.toBe(before.u1);
      await send('app', [identify('j1', 30, {}, { userId: 'u1', anonymousId: 'a1' })]);
      const p = await profile();
      expect(p.id).toBe(before.a1);
      expect(p.mergedIds).toEqual([before.u1]);
      return { survivor: before.a1, merged: before.u1, events: await eventIds() };
    }

    it('most_recent: the newer value of the merged profile survives, attributed to the source that observed it', async () => {
      const { events } = await mergeTwo();
      const p = await profile();
      expect(p.traits).toEqual({ email: 'jo@web.example', name: 'Jo' });
      // Not the merging event (from `app`): the web event that observed the value on the merged profile.
      expect(p.traitSources.email).toEqual({
        rule: 'most_recent',
        settingsVersion: 0,
        sourceId: sources.web,
        eventId: events.w1,
        observedAt: at(20),
      });
    });

    it('rules apply over the observations of every profile of the family', async () => {
      const { survivor, merged, events } = await mergeTwo();
      await putRules({
        default: { rule: 'most_recent' },
        traits: { email: { rule: 'source_priority', sources: ['crm'] }, name: { rule: 'longest' } },
      });
      const p = await profile();
      expect(p.traits).toEqual({ email: 'jo@crm.example', name: 'Johanna' });
      expect(p.traitSources.email).toMatchObject({ sourceId: sources.crm, eventId: events.c1 });
      // The merged id answers with the survivor's golden record.
      expect((await t.get(`/v1/profiles/${merged}`)).body).toMatchObject({ id: survivor, traits: p.traits });
      // Before the merge (valid time), each profile only has its own observations.
      const mergedBefore = (await t.get(`/v1/profiles/${merged}?asOf=${encodeURIComponent(at(25))}`)).body;
      expect(mergedBefore).toMatchObject({ id: merged, traits: { email: 'jo@web.example', name: 'Jo' } });
      const survivorBefore = (await t.get(`/v1/profiles/${survivor}?asOf=${encodeURIComponent(at(25))}`)).body;
      expect(survivorBefore.traits).toEqual({ email: 'jo@crm.example', name: 'Johanna' });
      // The trusted source's latest value, whichever profile of the family it was observed on.
      await send('crm', [identify('c2', 40, { email: 'jo@crm2.example' }, { userId: 'u1' })]);
      expect((await profile()).traits.email).toBe('jo@crm2.example');
    });

    it('a merged profile whose older value loses under most_recent wins under most_frequent', async () => {
      await send('crm', [
        identify('c1', 10, { plan: 'pro' }, { anonymousId: 'a1' }),
        identify('c2', 11, { plan: 'pro' }, { anonymousId: 'a1' }),
      ]);
      await send('web', [identify('w1', 20, { plan: 'free' })]);
      await send('web', [identify('w2', 30, {}, { userId: 'u1', anonymousId: 'a1' })]);
      expect((await profile()).traits.plan).toBe('free');
      await putRules({ default: { rule: 'most_frequent' } });
      const p = await profile();
      expect(p.traits.plan).toBe('pro');
      expect(p.traitSources.plan).toMatchObject({ sourceId: sources.crm, observedAt: at(11) });
    });
  });

  describe('asOf and knownAt', () => {
    it('apply the rules to the observations valid at asOf, as recorded by knownAt, with the version in force then', async () => {
      await send('web', [
        identify('w1', 10, { plan: 'pro' }),
        identify('w2', 20, { plan: 'pro' }),
        identify('w3', 30, { plan: 'free' }),
        identify('w4', 40, { plan: 'free' }),
        identify('w5', 50, { plan: 'free' }),
      ]);
      await sleep(20);
      const v1 = await putRules({ default: { rule: 'most_frequent' } });
      const at35 = `asOf=${encodeURIComponent(at(35))}`;
      expect((await profile(at35)).traits.plan).toBe('pro');
      expect((await profile(at35)).traitSources.plan).toMatchObject({ rule: 'most_frequent', settingsVersion: 1 });
      expect((await profile(`asOf=${encodeURIComponent(at(45))}`)).traits.plan).toBe('free');
      expect((await profile(`asOf=${encodeURIComponent(at(5))}`)).traits).toEqual({});
      await sleep(20);
      const k = Date.now();
      await sleep(20);
      // Late: a third `pro` at 12. As known now, pro leads at 35; as known at k, it was 2 against 1 already.
      await send('crm', [identify('c1', 12, { plan: 'pro' }), identify('c2', 13, { plan: 'pro' })]);
      expect((await profile(`asOf=${encodeURIComponent(at(55))}`)).traits.plan).toBe('pro');
      expect((await profile(`asOf=${encodeURIComponent(at(55))}&knownAt=${k}`)).traits.plan).toBe('free');
      // knownAt before version 2: version 1 applies.
      await sleep(20);
      const k2 = Date.now();
      await sleep(20);
      await putRules({ default: { rule: 'longest' } });
      expect((await profile(`knownAt=${k2}`)).traitSources.plan).toMatchObject({
        rule: 'most_frequent',
        settingsVersion: 1,
      });
      // knownAt before the first version: the defaults (most_recent), over what was recorded by then.
      const beforeAny = await profile(`knownAt=${Date.parse(v1.createdAt) - 1}`);
      expect(beforeAny.traits.plan).toBe('free');
      expect(beforeAny.traitSources.plan).toMatchObject({ rule: 'most_recent', settingsVersion: 0 });
    });
  });

  it('the profile list shows golden traits', async () => {
    await send('crm', [identify('c1', 10, { email: 'jo@crm.example' })]);
    await send('web', [identify('w1', 20, { email: 'jo@web.example' })]);
    await putRules({ default: { rule: 'source_priority', sources: ['crm'] } });
    const list = await t.get('/v1/profiles?q=jo');
    expect(list.body.items.map((p: { traits: unknown }) => p.traits)).toEqual([{ email: 'jo@crm.example' }]);
  });

  it('announces traits a rule other than most_recent may change, even when the latest value did not change', async () => {
    const changed = async () => {
      const rows = await t.app.storage.changes.read('survivorship-test', 1000);
      if (rows.length > 0) await t.app.storage.changes.commit('survivorship-test', rows[rows.length - 1].seq);
      return rows
        .filter((c) => c.kind === 'profile.traits_changed')
        .map((c) => (c.payload as { traits: string[] }).traits);
    };
    await send('web', [identify('w1', 10, { plan: 'pro', name: 'Jo' })]);
    expect(await changed()).toEqual([['plan', 'name']]);
    // The same values again: nothing changed under most_recent.
    await send('web', [identify('w2', 20, { plan: 'pro', name: 'Jo' })]);
    expect(await changed()).toEqual([]);
    await putRules({ default: { rule: 'most_recent' }, traits: { plan: { rule: 'most_frequent' } } });
    await send('web', [identify('w3', 30, { plan: 'pro', name: 'Jo' })]);
    expect(await changed()).toEqual([['plan']]);
  });
});
