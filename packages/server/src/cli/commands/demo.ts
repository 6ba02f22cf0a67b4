import { randomBytes } from 'node:crypto';
import type { AudienceDefinition } from '@tessera/protocol';
import type { App } from '../../app.js';
import { runAudienceJob } from '../../audiences/recompute.js';
import { runRfm } from '../../audiences/rfm.js';
import { ROLES, type Role } from '../../auth/principal.js';
import { startDemoSink } from '../../demo/demo-sink.js';
import { type DemoSourceName, generateDemo } from '../../demo/index.js';
import { groupBy } from '../../group-by.js';
import type { CommonOptions } from '../options.js';
import { startServer } from './serve.js';

const ORDER = 'Order Completed';
/** The demo source the storefront page (`/demo/store`) tracks into. */
const STOREFRONT_SOURCE: DemoSourceName = 'website';

/**
 * The demo's audiences (docs/audiences.md), over what the generator sends: 'Order Completed' tracks (website, app,
 * till receipts) with a `total` in euros, spread over the 90 days before now, and `context.consent` preferences
 * whose `marketing` purpose is granted by about half of the people who log in.
 */
export const DEMO_AUDIENCES: readonly {
  key: string;
  name: string;
  description: string;
  definition: AudienceDefinition;
}[] = [
  {
    key: 'repeat-buyers',
    name: 'Repeat buyers',
    description: 'Two orders or more in the last 90 days, on any channel',
    definition: {
      type: 'event',
      name: ORDER,
      aggregate: { fn: 'count', compare: { op: 'gte', value: 2 } },
      window: { last: 90, unit: 'days' },
    },
  },
  {
    key: 'high-value',
    name: 'High value',
    description: 'Spent 300 € or more in the last 180 days',
    definition: {
      type: 'event',
      name: ORDER,
      aggregate: { fn: 'sum', property: 'total', compare: { op: 'gte', value: 300 } },
      window: { last: 180, unit: 'days' },
    },
  },
  {
    key: 'lapsed-customers',
    name: 'Lapsed customers',
    description: 'Bought before, but not in the last 60 days',
    definition: {
      type: 'and',
      conditions: [
        { type: 'event', name: ORDER },
        { type: 'not', condition: { type: 'event', name: ORDER, window: { last: 60, unit: 'days' } } },
      ],
    },
  },
  {
    key: 'newsletter-consent',
    name: 'Newsletter consent',
    description: 'Currently accept marketing messages',
    definition: { type: 'consent', purpose: 'marketing', state: 'granted' },
  },
  {
    key: 'rfm-champions',
    name: 'Champions (RFM)',
    description: 'The RFM segment of recent and frequent buyers (scores of recency and frequency 4 or 5).',
    definition: { type: 'computed_trait', key: 'rfm_segment', compare: { op: 'equals', value: 'champions' } },
  },
];

/**
 * Saves the demo's audiences that do not exist yet (an existing one is left as it is: it may have been edited), then
 * recomputes them at once (the scheduler's audience job, run here rather than waited for), so that the summary shows
 * their members. Answers the demo audiences as they are now.
 */
export async function loadDemoAudiences(
  app: App,
): Promise<{ key: string; name: string; members: number; summary: string }[]> {
  // RFM over the demo's orders first (a no-op version when unchanged is still a version: only set it once).
  if ((await app.rfm.settings()).version === 0)
    await app.rfm.put({ event: 'Order Completed', amountProperty: 'total' }, 'tessera demo');
  else await runRfm(app.storage);
  const existing = new Set((await app.audiences.list()).map((a) => a.key));
  for (const a of DEMO_AUDIENCES) if (!existing.has(a.key)) await app.audiences.create(a, 'tessera demo');
  await runAudienceJob(app.storage);
  const byKey = new Map((await app.audiences.list()).map((a) => [a.key, a]));
  return DEMO_AUDIENCES.flatMap((d) => {
    const a = byKey.get(d.key);
    return a ? [{ key: a.key, name: a.name, members: a.members, summary: a.summary.en }] : [];
  });
}

/** The demo's destinations: a healthy webhook, and one whose receiver refuses everything (dead letters). */
export const DEMO_DESTINATIONS = {
  healthy: 'Demo webhook (healthy)',
  failing: 'Demo webhook (failing)',
} as const;

/**
 * Creates the demo's two webhook destinations, or points the existing ones (by name) at this run's receiver. The
 * healthy one takes the orders and every audience change; the failing one the `high-value` audience changes, which
 * its receiver refuses (HTTP 422): they end in its dead-letter queue, ready to be replayed once it is fixed.
 */
export async function ensureDemoDestinations(app: App, sink: { okUrl: string; rejectUrl: string }) {
  const existing = new Map((await app.destinations.list()).map((d) => [d.name, d]));
  const wanted = [
    {
      name: DEMO_DESTINATIONS.healthy,
      url: sink.okUrl,
      subscription: { events: { names: [ORDER] }, audiences: ['*'] },
    },
    { name: DEMO_DESTINATIONS.failing, url: sink.rejectUrl, subscription: { audiences: ['high-value'] } },
  ];
  for (const w of wanted) {
    const d = existing.get(w.name);
    if (d) await app.destinations.update(d.id, { config: { ...d.config, url: w.url } }, 'tessera demo');
    else
      await app.destinations.create(
        { name: w.name, type: 'webhook', config: { url: w.url }, subscription: w.subscription, purpose: null },
        'tessera demo',
      );
  }
}

/** The demo's users, one per role (DESIGN §8). */
export const DEMO_USERS = ROLES.map((role) => ({ role, email: `${role}@demo.tessera.test`, name: `Demo ${role}` }));

/**
 * Creates a user per role, or gives the existing ones a new password: answers their e-mails and passwords, which
 * `tessera demo` prints (the only place they appear; only their scrypt hashes are stored).
 */
export async function ensureDemoUsers(app: App): Promise<{ role: Role; email: string; password: string }[]> {
  const out: { role: Role; email: string; password: string }[] = [];
  for (const u of DEMO_USERS) {
    const password = randomBytes(12).toString('base64url');
    const existing = await app.storage.users.byEmail(u.email);
    if (existing) await app.users.update(existing.id, { password, roles: [u.role], disabled: false });
    else await app.users.create({ email: u.email, name: u.name, password, roles: [u.role] });
    out.push({ role: u.role, email: u.email, password });
  }
  return out;
}

/**
 * `tessera demo`: starts a server, creates the demo sources, sends a realistic multi-channel data set through the
 * real tracking API (HTTP, 100 calls a batch), waits until the pipeline has processed it, saves the demo audiences
 * and computes their members, prints how to reach it and keeps serving, with the demo storefront at `/demo/store` (an
 * analytics.js page tracking into the `website` source). Message ids are deterministic, so running it
 * again on the same data directory adds nothing twice.
 */
export async function demoCommand(
  opts: CommonOptions & { json?: boolean; people?: string; exit?: boolean },
): Promise<void> {
  // The storefront sends with the `website` source's write key, rotated below: the page is served once it is known.
  let storefrontKey: string | undefined;
  const { app, url, stop } = await startServer(opts, Boolean(opts.json), {
    storefront: { writeKey: () => storefrontKey },
  });
  const sink = await startDemoSink();
  // Before the data, with the audiences they name: a destination receives what happens after it exists.
  for (const a of DEMO_AUDIENCES.filter((x) => x.key === 'high-value'))
    if (!(await app.audiences.list()).some((x) => x.key === a.key)) await app.audiences.create(a, 'tessera demo');
  await ensureDemoDestinations(app, sink);
  const data = generateDemo({ seed: 42, people: opts.people ? Number(opts.people) : 200 });
  const keys = new Map<string, string>();
  for (const s of data.sources) {
    const existing = await app.storage.sources.byName(s.name);
    const { writeKey } = existing
      ? await app.sources.rotateKey(s.name)
      : await app.sources.create({ name: s.name, kind: s.kind });
    keys.set(s.name, writeKey);
  }
  const { token } = await app.tokens.create('admin (tessera demo)', ['admin']);
  const users = await ensureDemoUsers(app);
  let accepted = 0;
  for (const [source, group] of groupBy(data.calls, (c) => c.source)) {
    const calls = group.map((c) => c.call);
    const auth = `Basic ${Buffer.from(`${keys.get(source)}:`).toString('base64')}`;
    for (let i = 0; i < calls.length; i += 100) {
      const res = await fetch(`${url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ batch: calls.slice(i, i + 100), sentAt: new Date().toISOString() }),
      });
      if (res.status !== 200) throw new Error(`demo load failed: HTTP ${res.status} ${await res.text()}`);
      accepted += ((await res.json()) as { accepted: number }).accepted;
    }
  }
  await app.drain();
  const audiences = await loadDemoAudiences(app);
  // The audience changes of the recomputation, routed and sent (or dead-lettered) now.
  await app.drain();
  const destinations = await app.destinations.list();
  const writeKey = keys.get(data.sources[0].name) as string;
  storefrontKey = keys.get(STOREFRONT_SOURCE);
  const storefrontUrl = `${url}/demo/store`;
  if (opts.json)
    process.stdout.write(`${JSON.stringify({ url, writeKey, adminToken: token, users, storefrontUrl })}\n`);
  else {
    const profiles = await app.storage.profiles.count();
    const width = Math.max(0, ...audiences.map((a) => a.key.length));
    process.stdout.write(
      [
        `Tessera demo running at ${url}`,
        `  ${data.calls.length} calls sent (${accepted} new) from ${data.sources.length} sources; ${profiles} profiles`,
        `  ${audiences.length} audiences:`,
        ...audiences.map(
          (a) => `    ${a.key.padEnd(width)}  ${String(a.members).padStart(4)} members  ${a.name}: ${a.summary}`,
        ),
        `  ${destinations.length} destinations:`,
        ...destinations.map(
          (d) =>
            `    ${d.name}: ${d.counts.delivered} delivered, ${d.counts.dead} dead-lettered, ${d.counts.pending} pending`,
        ),
        `  write key (${data.sources[0].name}): ${writeKey}`,
        `  demo storefront (analytics.js, source ${STOREFRONT_SOURCE}): ${storefrontUrl}`,
        `  admin token: ${token}`,
        '  users (sign in to the web app; new passwords on each run):',
        ...users.map((u) => `    ${u.role.padEnd(8)}  ${u.email}  ${u.password}`),
        `  try: curl -H "Authorization: Bearer ${token}" "${url}/v1/profiles?q=@&limit=5"`,
        `       curl -H "Authorization: Bearer ${token}" "${url}/v1/audiences/repeat-buyers/members?format=csv"`,
        `       curl -H "Authorization: Bearer ${token}" "${url}/v1/rfm"`,
        `       curl -H "Authorization: Bearer ${token}" "${url}/v1/destinations"`,
        'Press Ctrl+C to stop.',
        '',
      ].join('\n'),
    );
  }
  if (opts.exit) {
    await stop();
    await sink.close();
  }
}
