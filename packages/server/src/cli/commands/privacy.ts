import type { CommonOptions } from '../options.js';
import { fields, json, out } from '../output.js';
import { type ManagementCall, withManagementApi } from '../server-or-store.js';

/**
 * `tessera privacy access | erase --identifier TYPE:VALUE [--wait] [--json]`, `tessera privacy rectify --identifier
 * TYPE:VALUE [--set key=value…] [--set-json key=JSON…] [--unset key…] [--wait] [--json]`, `tessera privacy show ID` and
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

/**
 * `--set key=value`, `--set-json key=JSON` and `--unset key` → the `corrections` object. A `--set` value is the text
 * as written (`--set lastName=Smith`, `--set zip=01000`); `--set-json` takes any JSON value (`--set-json vip=true`).
 */
export function parseCorrections(
  opts: { set?: readonly string[]; setJson?: readonly string[]; unset?: readonly string[] } = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (key: string, value: unknown) =>
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  const pairs = (flag: string, args: readonly string[] = []) =>
    args.map((arg) => {
      const eq = arg.indexOf('=');
      if (eq <= 0) throw new Error(`${flag}: expected key=value (e.g. lastName=Smith), got "${arg}"`);
      return [arg.slice(0, eq), arg.slice(eq + 1)] as const;
    });
  for (const [key, value] of pairs('--set', opts.set)) put(key, value);
  for (const [key, value] of pairs('--set-json', opts.setJson)) {
    try {
      put(key, JSON.parse(value));
    } catch {
      throw new Error(`--set-json: the value of ${key} is not JSON`);
    }
  }
  for (const key of opts.unset ?? []) {
    if (key.length === 0) throw new Error('--unset: expected a trait name');
    put(key, null);
  }
  if (Object.keys(out).length === 0)
    throw new Error('privacy rectify: give at least one --set key=value or --unset key');
  return out;
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
    ...(r.type === 'rectify' && r.proof?.traits
      ? ([
          ['corrected', (r.proof.traits as string[]).join(', ')],
          [
            'rewritten',
            `history rows ${r.proof.historyRowsRewritten}, identifiers ${r.proof.identifiersChanged}, ` +
              `profiles ${r.proof.profilesTouched}`,
          ],
          [
            'redacted',
            Object.entries(r.proof.redacted as Record<string, number>)
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

/**
 * Makes a request that runs in the background (erase, rectify) and answers its final state: through a server, the
 * state when `--wait` (else the first answer); on the store, the app finishes the request before it closes, so the
 * state is read after.
 */
async function backgroundRequest(opts: Opts & { wait?: boolean }, command: string, body: object): Promise<Request> {
  const final = await withManagementApi(opts, command, async (call, via) => {
    const r = await call('POST', '/v1/privacy/requests', body);
    if (opts.wait && via === 'server') return settled(call, r.id);
    return via === 'store' ? r.id : r;
  });
  return typeof final === 'string'
    ? await withManagementApi(opts, 'privacy show', (call) => call('GET', `/v1/privacy/requests/${final}`))
    : final;
}

export async function privacyEraseCommand(opts: Opts & { identifier: string; wait?: boolean }) {
  const identifier = parseIdentifier(opts.identifier);
  const r = await backgroundRequest(opts, 'privacy erase', { type: 'erase', identifier });
  out(opts.json ? JSON.stringify(r) : summary(r));
  if (r.status === 'failed' || r.status === 'incomplete') process.exitCode = 1;
}

export async function privacyRectifyCommand(
  opts: Opts & { identifier: string; set?: string[]; setJson?: string[]; unset?: string[]; wait?: boolean },
) {
  const identifier = parseIdentifier(opts.identifier);
  const corrections = parseCorrections(opts);
  const r = await backgroundRequest(opts, 'privacy rectify', { type: 'rectify', identifier, corrections });
  out(opts.json ? JSON.stringify(r) : summary(r));
  if (r.status === 'failed') process.exitCode = 1;
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
