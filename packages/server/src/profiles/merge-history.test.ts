import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test/test-app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

describe('trait history of a survivor around a merge', () => {
  it('asOf before the merge shows only the survivor’s own values; after it, the most recent of both (regression)', async () => {
    await t.send([
      { type: 'identify', anonymousId: 'a1', messageId: 'm1', timestamp: at(10), traits: { plan: 'free' } },
    ]);
    await t.app.drain();
    await t.send([
      { type: 'identify', userId: 'u1', messageId: 'm2', timestamp: at(20), traits: { plan: 'pro', name: 'Jo' } },
    ]);
    await t.app.drain();
    // The merging event: a1 logs in as u1.
    await t.send([{ type: 'identify', anonymousId: 'a1', userId: 'u1', messageId: 'm3', timestamp: at(30) }]);
    await t.app.drain();
    const now = await t.get('/v1/profiles/by/user_id/u1');
    expect(now.body.traits).toEqual({ plan: 'pro', name: 'Jo' });
    const id = now.body.id as string;
    const before = await t.get(`/v1/profiles/${id}?asOf=${encodeURIComponent(at(25))}`);
    expect(before.body.id).toBe(id);
    expect(before.body.traits).toEqual({ plan: 'free' });
    const after = await t.get(`/v1/profiles/${id}?asOf=${encodeURIComponent(at(31))}`);
    expect(after.body.traits).toEqual({ plan: 'pro', name: 'Jo' });
  });

  it('an absorbed value older than the survivor’s own does not enter its history', async () => {
    await t.send([{ type: 'identify', userId: 'u2', messageId: 'n1', timestamp: at(10), traits: { plan: 'gold' } }]);
    await t.app.drain();
    await t.send([
      { type: 'identify', anonymousId: 'a2', messageId: 'n2', timestamp: at(5), traits: { plan: 'free' } },
    ]);
    await t.app.drain();
    await t.send([{ type: 'identify', anonymousId: 'a2', userId: 'u2', messageId: 'n3', timestamp: at(30) }]);
    await t.app.drain();
    const p = await t.get('/v1/profiles/by/user_id/u2');
    expect(p.body.traits).toEqual({ plan: 'gold' });
    const history = await t.get(`/v1/profiles/${p.body.id}/history?trait=plan`);
    expect(history.body.items.map((h: { value: unknown }) => h.value)).toEqual(['gold']);
  });
});

describe('asOf along a chain of merges', () => {
  it('A→B at 10, B→C at 20: A as of 15 answers with B and B’s family, as of 25 with C (regression)', async () => {
    const step = async (call: Record<string, unknown>) => {
      await t.send([call]);
      await t.app.drain();
    };
    // Created in the order C, B, A, so each merge keeps the older profile.
    await step({ type: 'identify', userId: 'uc', messageId: 'c', timestamp: at(1) });
    await step({
      type: 'identify',
      anonymousId: 'bb',
      messageId: 'b',
      timestamp: at(2),
      traits: { email: 'b@example.com' },
    });
    await step({ type: 'page', anonymousId: 'aa', messageId: 'a', timestamp: at(3) });
    const ids = async (type: string, value: string) =>
      (await t.get(`/v1/profiles/by/${type}/${value}`)).body.id as string;
    const [c, b, a] = [await ids('user_id', 'uc'), await ids('anonymous_id', 'bb'), await ids('anonymous_id', 'aa')];
    expect(new Set([a, b, c]).size).toBe(3);
    await step({
      type: 'identify',
      anonymousId: 'aa',
      messageId: 'ab',
      timestamp: at(10),
      traits: { email: 'b@example.com' },
    });
    await step({ type: 'identify', userId: 'uc', anonymousId: 'aa', messageId: 'bc', timestamp: at(20) });
    const view = async (id: string, asOf?: number) =>
      (await t.get(`/v1/profiles/${id}${asOf === undefined ? '' : `?asOf=${encodeURIComponent(at(asOf))}`}`)).body as {
        id: string;
        identities: { type: string; value: string }[];
        mergedIds: string[];
      };
    const values = (v: { identities: { value: string }[] }) => v.identities.map((i) => i.value).sort();
    const a15 = await view(a, 15);
    expect(a15.id).toBe(b);
    expect(values(a15)).toEqual(['aa', 'b@example.com', 'bb']);
    expect(a15.mergedIds).toEqual([a]);
    expect((await view(b, 15)).id).toBe(b);
    const a25 = await view(a, 25);
    expect(a25.id).toBe(c);
    expect(values(a25)).toEqual(['aa', 'b@example.com', 'bb', 'uc']);
    expect([...a25.mergedIds].sort()).toEqual([a, b].sort());
    expect((await view(a)).id).toBe(c);
    expect((await view(a, 5)).id).toBe(a);
  });
});
