import type { CommonOptions } from '../options.js';
import { fields, json, out } from '../output.js';
import { type ManagementCall, withManagementApi } from '../server-or-store.js';

/**
 * `tessera privacy access | erase --identifier TYPE:VALUE [--wait] [--json]`, `tessera privacy show ID` and
 * `tessera privacy list` (docs/privacy.md): data-subject requests through `/v1/privacy/requests`, on the running
 * server or on the store.
 */

type Opts = CommonOptions & { json?: boolean };
// biome-ignore lint/suspicious/noExplicitAny: JSON answers, printed
type Request = any;

/** `TYPE:VALUE` → `{type, value}`; an error naming `--identifier` otherwise. */
export function parseIdentifier(arg: string): { type: string; value: string } {
  const colon = arg.indexOf(':');
  if (colon <= 0 || colon === arg.length - 1)
    throw new Error(`--identifier: expected TYPE:VALUE (e.g. email:jane@example.com), got "${arg}"`);
  return { type: arg.slice(0, colon), value: arg.slice(colon + 1) };
}

function summary(r: Request): string {
  return fields([
    ['request', r.id],
    ['type', r.type],
    ['status', r.status],
    ['profiles', String(r.profiles)],
    ['created', `${r.createdAt} by ${r.createdBy}`],
    ['completed', r.completedAt ?? '-'],
    ...(r.error ? ([['error', r.error]] as [string, string][]) : []),
    ...(r.proof?.tables && Object.values(r.proof.tables as Record<string, number>).some((n) => n > 0)
      ? ([
          [
            'rows erased',
            Object.entries(r.proof.tables as Record<string, number>)
              .filter(([, n]) => n > 0)
              .map(([t, n]) => `${t} ${n}`)
              .join(', '),
          ],
        ] as [string, string][])
      : []),
  ]);
}

/** Polls a request until it is no longer running. */
async function settled(call: ManagementCall, id: string): Promise<Request> {
  for (;;) {
    const r = await call('GET', `/v1/privacy/requests/${encodeURIComponent(id)}`);
    if (r.status !== 'running') return r;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function privacyAccessCommand(opts: Opts & { identifier: string }) {
  const identifier = parseIdentifier(opts.identifier);
  await withManagementApi(opts, 'privacy access', async (call) => {
    const r = await call('POST', '/v1/privacy/requests', { type: 'access', identifier });
    if (opts.json) return json(r);
    out(summary(r));
    if (r.result) out(JSON.stringify(r.result, null, 2));
    if (r.status !== 'completed') process.exitCode = 1;
  });
}

export async function privacyEraseCommand(opts: Opts & { identifier: string; wait?: boolean }) {
  const identifier = parseIdentifier(opts.identifier);
  const final = await withManagementApi(opts, 'privacy erase', async (call, via) => {
    const r = await call('POST', '/v1/privacy/requests', { type: 'erase', identifier });
    // On the store, the app finishes the erasure before it closes: the final state is read after.
    if (opts.wait && via === 'server') return settled(call, r.id);
    return via === 'store' ? r.id : r;
  });
  const r: Request =
    typeof final === 'string'
      ? await withManagementApi(opts, 'privacy show', (call) => call('GET', `/v1/privacy/requests/${final}`))
      : final;
  out(opts.json ? JSON.stringify(r) : summary(r));
  if (r.status === 'failed' || r.status === 'incomplete') process.exitCode = 1;
}

export async function privacyShowCommand(id: string, opts: Opts) {
  await withManagementApi(opts, 'privacy show', async (call) => {
    const r = await call('GET', `/v1/privacy/requests/${encodeURIComponent(id)}`);
    out(opts.json ? JSON.stringify(r) : summary(r));
  });
}

export async function privacyListCommand(opts: Opts & { limit?: string }) {
  await withManagementApi(opts, 'privacy list', async (call) => {
    const { items } = await call('GET', `/v1/privacy/requests?limit=${encodeURIComponent(opts.limit ?? '50')}`);
    if (opts.json) return json(items);
    if (items.length === 0) return out('no request');
    for (const r of items) out(`${r.id}  ${r.type.padEnd(6)}  ${r.status.padEnd(10)}  ${r.createdAt}  ${r.createdBy}`);
  });
}
