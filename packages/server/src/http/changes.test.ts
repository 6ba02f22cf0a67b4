import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callAs, type Json } from '../test/inject.js';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { KIND_WINDOW } from './routes/changes.js';

/** `GET /v1/changes`: the embedded change bus over HTTP. */
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

/** Page views of one person: one `event.stored` change each (and a `profile.created`… for the first). */
async function pageViews(n: number) {
  for (let i = 0; i < n; i += 500) {
    const calls = Array.from({ length: Math.min(500, n - i) }, (_, k) => ({
      type: 'page',
      userId: 'u1',
      name: `Page ${i + k}`,
    }));
    expect((await t.send(calls)).status).toBe(200);
  }
  await t.app.drain();
}

describe('GET /v1/changes', () => {
  it('without kind: pages of the changes after the cursor, oldest first; null once read to the end', async () => {
    await pageViews(30);
    const call = callAs(t.app, t.token);
    const seen: number[] = [];
    let after = '0';
    for (;;) {
      const page = await call('GET', `/v1/changes?after=${after}&limit=7`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((c: Json) => c.seq));
      if (page.body.nextCursor === null) break;
      expect(page.body.items.length).toBeGreaterThan(0);
      after = page.body.nextCursor;
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.length).toBeGreaterThanOrEqual(30);
  });

  it('with a rare kind: each request reads one window of seqs, empty pages carry the cursor on, none is missed', async () => {
    await pageViews(KIND_WINDOW + 1500);
    expect((await t.send([{ type: 'identify', userId: 'u1', traits: { plan: 'gold' } }])).status).toBe(200);
    await t.app.drain();
    const call = callAs(t.app, t.token);
    const pages: { items: Json[]; nextCursor: string | null }[] = [];
    let after = '0';
    for (let n = 0; n < 10; n++) {
      const page = await call('GET', `/v1/changes?after=${after}&kind=profile.traits_changed&limit=100`);
      expect(page.status).toBe(200);
      pages.push(page.body);
      if (page.body.nextCursor === null) break;
      expect(Number(page.body.nextCursor)).toBeGreaterThan(Number(after));
      expect(Number(page.body.nextCursor) - Number(after)).toBeLessThanOrEqual(KIND_WINDOW);
      after = page.body.nextCursor;
    }
    // The first window holds only event.stored rows (and the person's creation): an empty page that goes on.
    expect(pages[0].items).toEqual([]);
    expect(pages[0].nextCursor).toBe(String(KIND_WINDOW));
    const found = pages.flatMap((p) => p.items);
    expect(found.map((c) => c.kind)).toEqual(['profile.traits_changed']);
    expect(found[0].payload.traits).toEqual(['plan']);
    // Caught up: nothing new, no cursor; a later change is found from the last cursor.
    expect(pages.at(-1)?.nextCursor).toBeNull();
    expect((await t.send([{ type: 'identify', userId: 'u1', traits: { plan: 'silver' } }])).status).toBe(200);
    await t.app.drain();
    const later = await call('GET', `/v1/changes?after=${after}&kind=profile.traits_changed`);
    expect(later.body.items.map((c: Json) => c.kind)).toEqual(['profile.traits_changed']);
  });

  it('a full page of the kind ends at its last item', async () => {
    for (const plan of ['a', 'b', 'c']) await t.send([{ type: 'identify', userId: 'u1', traits: { plan } }]);
    await t.app.drain();
    const call = callAs(t.app, t.token);
    const first = await call('GET', '/v1/changes?kind=profile.traits_changed&limit=2');
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toBe(String(first.body.items[1].seq));
    const rest = await call('GET', `/v1/changes?kind=profile.traits_changed&limit=2&after=${first.body.nextCursor}`);
    expect(rest.body.items).toHaveLength(1);
  });
});
