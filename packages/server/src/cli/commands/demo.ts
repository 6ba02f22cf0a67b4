import { generateDemo } from '../../demo/index.js';
import type { CommonOptions } from '../options.js';
import { startServer } from './serve.js';

/**
 * `tessera demo`: starts a server, creates the demo sources, sends a realistic multi-channel data set through the
 * real tracking API (HTTP, 100 calls a batch), waits until the pipeline has processed it, prints how to reach it and
 * keeps serving. Message ids are deterministic, so running it again on the same data directory adds nothing twice.
 */
export async function demoCommand(
  opts: CommonOptions & { json?: boolean; people?: string; exit?: boolean },
): Promise<void> {
  const { app, url, stop } = await startServer(opts, Boolean(opts.json));
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
  const bySource = new Map<string, unknown[]>();
  for (const { source, call } of data.calls) bySource.set(source, [...(bySource.get(source) ?? []), call]);
  let accepted = 0;
  for (const [source, calls] of bySource) {
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
  const writeKey = keys.get(data.sources[0].name) as string;
  if (opts.json) process.stdout.write(`${JSON.stringify({ url, writeKey, adminToken: token })}\n`);
  else {
    const profiles = await app.storage.profiles.count();
    process.stdout.write(
      [
        `Tessera demo running at ${url}`,
        `  ${data.calls.length} calls sent (${accepted} new) from ${data.sources.length} sources; ${profiles} profiles`,
        `  write key (${data.sources[0].name}): ${writeKey}`,
        `  admin token: ${token}`,
        `  try: curl -H "Authorization: Bearer ${token}" "${url}/v1/profiles?q=@&limit=5"`,
        'Press Ctrl+C to stop.',
        '',
      ].join('\n'),
    );
  }
  if (opts.exit) await stop();
}
