import { fromPublicId } from '@tessera/protocol';
import { expect } from 'vitest';
import { type MergeProfilesResult, mergeProfiles } from '../identity/merge-profiles.js';
import { loadIdentityRules } from '../identity/rules.js';
import { goldenRecords } from '../profiles/rederive-traits.js';
import type { TestApp } from './test-app.js';

/** Test helpers of the identity management tests (merge, review, unmerge, explain). */

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked by the tests' assertions
type Json = any;

const BASE = Date.UTC(2026, 0, 1, 12, 0);
/** Event time `min` minutes after the base time. */
export const at = (min: number) => new Date(BASE + min * 60_000).toISOString();

/** Sends calls and runs the pipeline until the log is drained. */
export async function step(t: TestApp, calls: Record<string, unknown>[]): Promise<void> {
  const r = await t.send(calls);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  await t.app.drain();
}

/** The public id of the profile holding an identifier. */
export async function idOf(t: TestApp, type: string, value: string): Promise<string> {
  const r = await t.get(`/v1/profiles/by/${type}/${encodeURIComponent(value)}`);
  expect(r.status, `${type} ${value}`).toBe(200);
  return r.body.id;
}

/** Bare id of a public profile id. */
export const bare = (publicId: string) => fromPublicId('profile', publicId) as string;

/** A request with the test's admin token (or `token`). */
export async function call(
  t: TestApp,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
  token = t.token,
): Promise<{ status: number; body: Json }> {
  const res = await t.app.http.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: res.json() };
}

/** What a profile answers now: its view and every event (newest first). */
export async function snapshot(t: TestApp, id: string): Promise<{ view: Json; events: Json[] }> {
  const view = await t.get(`/v1/profiles/${id}`);
  expect(view.status).toBe(200);
  const events = await t.get(`/v1/profiles/${id}/events?limit=1000`);
  return { view: view.body, events: events.body.items };
}

/** `mergeProfiles` on the test app's store, with the rules in force. */
export async function merge(
  t: TestApp,
  publicIds: string[],
  opts: { rule?: string; evidence?: unknown; now?: number; validAt?: number } = {},
): Promise<MergeProfilesResult> {
  const { rules, version } = await loadIdentityRules(t.app.storage.settings);
  const now = opts.now ?? Date.now();
  return mergeProfiles(
    { storage: t.app.storage, golden: goldenRecords },
    {
      profileIds: publicIds.map(bare),
      rule: opts.rule ?? 'probabilistic',
      evidence: opts.evidence ?? {},
      now,
      validAt: opts.validAt ?? now,
      settingsVersion: version,
      rules,
    },
  );
}
