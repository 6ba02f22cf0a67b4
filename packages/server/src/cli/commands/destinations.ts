import { type DestinationCreate, type DestinationUpdate, fromPublicId, type PressurePolicy } from '@tessera/protocol';
import type { deliveryView } from '../../destinations/destination-service.js';
import type { DeliveryStatus } from '../../destinations/ports.js';
import type { CommonOptions } from '../options.js';
import { fields, json, out, readJsonOption, table } from '../output.js';
import { withManagementApi as withApi } from '../server-or-store.js';
import { parseProfileRef } from './computed-traits.js';

/**
 * `tessera destinations types | list | show | create | update | delete | test | log | dlq | replay` and `tessera
 * pressure show | set | check` (docs/destinations.md). Through the API of the server serving the data directory when
 * there is one; otherwise on the store, with the same service and the same views. Replayed messages are sent by a
 * running server (embedded, or a cluster worker).
 */

type Json = Record<string, unknown>;
type Opts = CommonOptions & { json?: boolean };
const path = (id: string) => `/v1/destinations/${encodeURIComponent(id)}`;

function checkId(id: string): string {
  if (fromPublicId('destination', id) === undefined) throw new Error(`ID: "${id}" is not a destination id (dst_…)`);
  return id;
}

interface DestinationFlags {
  name?: string;
  type?: string;
  config?: string;
  subscription?: string;
  purpose?: string;
  channel?: string;
  rate?: string;
  maxRetryHours?: string;
  enable?: boolean;
  disable?: boolean;
}

function number(option: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${option}: expected a number > 0, got "${raw}"`);
  return n;
}

/** The body of a create or update from the flags: only what was given. */
function bodyOf(f: DestinationFlags): Json {
  if (f.enable && f.disable) throw new Error('--enable and --disable: choose one');
  const body: Json = {};
  if (f.name !== undefined) body.name = f.name;
  if (f.type !== undefined) body.type = f.type;
  if (f.config !== undefined) body.config = readJsonOption('--config', f.config);
  if (f.subscription !== undefined) body.subscription = readJsonOption('--subscription', f.subscription);
  if (f.purpose !== undefined) body.purpose = f.purpose === 'none' ? null : f.purpose;
  if (f.channel !== undefined) body.channel = f.channel === 'none' ? null : f.channel;
  if (f.rate !== undefined) body.ratePerSecond = f.rate === 'none' ? null : number('--rate', f.rate);
  if (f.maxRetryHours !== undefined) body.maxRetryHours = number('--max-retry-hours', f.maxRetryHours);
  if (f.enable) body.enabled = true;
  if (f.disable) body.enabled = false;
  return body;
}

function showDestination(d: Json): string {
  const counts = d.counts as Record<string, number>;
  return fields([
    ['id', String(d.id)],
    ['name', String(d.name)],
    ['type', String(d.type)],
    ['enabled', String(d.enabled)],
    ['purpose', String(d.purpose ?? 'none (no consent check)')],
    ['channel', String(d.channel ?? 'none')],
    ['rate', d.ratePerSecond === null ? 'unlimited' : `${d.ratePerSecond}/s`],
    ['retries for', `${d.maxRetryHours} h`],
    ['subscription', JSON.stringify(d.subscription)],
    ['config', JSON.stringify(d.config)],
    [
      'deliveries',
      `${counts.pending} pending, ${counts.delivered} delivered, ${counts.dead} dead, ${counts.skipped} skipped`,
    ],
    ['version', `${d.version} (${d.updatedAt} by ${d.updatedBy})`],
  ]);
}

export async function destinationsTypesCommand(opts: Opts) {
  await withApi(opts, 'destinations types', async (call) => {
    const { items } = await call<{ items: Json[] }>('GET', '/v1/destination-types');
    if (opts.json) return json(items);
    out(
      table(
        ['TYPE', 'KINDS', 'CHANNEL', 'PURPOSE', 'DESCRIPTION'],
        items.map((t) => [
          String(t.type),
          (t.kinds as string[]).join(','),
          String(t.channel ?? '-'),
          String(t.defaultPurpose ?? '-'),
          String(t.description),
        ]),
      ),
    );
  });
}

export async function destinationsListCommand(opts: Opts) {
  await withApi(opts, 'destinations list', async (call) => {
    const { items } = await call<{ items: Json[] }>('GET', '/v1/destinations');
    if (opts.json) return json(items);
    if (items.length === 0) return out('no destination');
    out(
      table(
        ['ID', 'NAME', 'TYPE', 'ENABLED', 'PENDING', 'DELIVERED', 'DEAD', 'SKIPPED'],
        items.map((d) => {
          const c = d.counts as Record<string, number>;
          return [
            String(d.id),
            String(d.name),
            String(d.type),
            String(d.enabled),
            ...[c.pending, c.delivered, c.dead, c.skipped].map(String),
          ];
        }),
      ),
    );
  });
}

export async function destinationsShowCommand(id: string, opts: Opts) {
  await withApi(opts, 'destinations show', async (call) => {
    const d = await call('GET', path(checkId(id)));
    out(opts.json ? JSON.stringify(d) : showDestination(d));
  });
}

export async function destinationsCreateCommand(opts: Opts & DestinationFlags) {
  const body = bodyOf(opts) as unknown as DestinationCreate;
  await withApi(opts, 'destinations create', async (call) => {
    const d = await call('POST', '/v1/destinations', body);
    out(opts.json ? JSON.stringify(d) : `created ${d.id}\n${showDestination(d)}`);
  });
}

export async function destinationsUpdateCommand(id: string, opts: Opts & DestinationFlags) {
  const body = bodyOf(opts) as unknown as DestinationUpdate;
  if (Object.keys(body).length === 0) throw new Error('nothing to change: give --name, --config, --subscription…');
  await withApi(opts, 'destinations update', async (call) => {
    const d = await call('PATCH', path(checkId(id)), body);
    out(opts.json ? JSON.stringify(d) : `saved version ${d.version}\n${showDestination(d)}`);
  });
}

export async function destinationsDeleteCommand(id: string, opts: Opts) {
  await withApi(opts, 'destinations delete', async (call) => {
    const d = await call('DELETE', path(checkId(id)));
    out(opts.json ? JSON.stringify(d) : `deleted ${d.id}`);
  });
}

export async function destinationsTestCommand(id: string, opts: Opts) {
  await withApi(opts, 'destinations test', async (call) => {
    const r = await call('POST', `${path(checkId(id))}/test`);
    if (opts.json) return json(r);
    out(
      `${r.status}${r.httpStatus ? ` (HTTP ${r.httpStatus})` : ''} in ${r.latencyMs} ms${r.reason ? `: ${r.reason}` : ''}`,
    );
    if (r.status !== 'ok') process.exitCode = 1;
  });
}

const STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'dead', 'skipped'];

function deliveriesTable(items: ReturnType<typeof deliveryView>[]): string {
  if (items.length === 0) return 'no delivery';
  return table(
    ['ID', 'STATUS', 'KIND', 'ATTEMPTS', 'CREATED', 'LATENCY', 'REASON'],
    items.map((d) => [
      d.id,
      d.status,
      d.kind,
      String(d.attempts),
      d.createdAt,
      d.latencyMs === null ? '-' : `${d.latencyMs} ms`,
      d.reason ?? '',
    ]),
  );
}

export async function destinationsLogCommand(id: string, opts: Opts & { status?: string; limit?: string }) {
  if (opts.status !== undefined && !STATUSES.includes(opts.status as DeliveryStatus))
    throw new Error(`--status: expected one of ${STATUSES.join(', ')}, got "${opts.status}"`);
  const query = new URLSearchParams({ limit: opts.limit ?? '50', ...(opts.status ? { status: opts.status } : {}) });
  await withApi(opts, 'destinations log', async (call) => {
    const page = await call<{ items: ReturnType<typeof deliveryView>[] }>(
      'GET',
      `${path(checkId(id))}/deliveries?${query}`,
    );
    out(opts.json ? JSON.stringify(page.items) : deliveriesTable(page.items));
  });
}

export async function destinationsDlqCommand(id: string, opts: Opts & { limit?: string }) {
  await withApi(opts, 'destinations dlq', async (call) => {
    const page = await call<{ items: ReturnType<typeof deliveryView>[] }>(
      'GET',
      `${path(checkId(id))}/dlq?limit=${encodeURIComponent(opts.limit ?? '50')}`,
    );
    out(opts.json ? JSON.stringify(page.items) : deliveriesTable(page.items));
  });
}

export async function destinationsReplayCommand(id: string, opts: Opts & { ids?: string }) {
  const ids = opts.ids
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const d of ids ?? [])
    if (fromPublicId('delivery', d) === undefined) throw new Error(`--ids: "${d}" is not a delivery id (dlv_…)`);
  await withApi(opts, 'destinations replay', async (call, via) => {
    const r = await call<{ replayed: number }>('POST', `${path(checkId(id))}/dlq/replay`, ids ? { ids } : {});
    if (opts.json) return json(r);
    out(
      `${r.replayed} dead-lettered message${r.replayed === 1 ? '' : 's'} queued again` +
        (via === 'store' ? ' (sent when a server runs on this data directory)' : ''),
    );
  });
}

export async function pressureShowCommand(opts: Opts) {
  await withApi(opts, 'pressure show', async (call) => {
    const p = await call('GET', '/v1/settings/pressure');
    out(opts.json ? JSON.stringify(p) : policyText(p));
  });
}

function policyText(p: Json): string {
  const policy = p.policy as PressurePolicy;
  return fields([
    ['version', p.version === 0 ? '0 (never set: no caps)' : `${p.version} (${p.updatedAt} by ${p.updatedBy})`],
    ['caps', policy.caps.map((c) => `${c.max} ${c.channel} per ${c.days} d`).join(', ') || 'none'],
    ['quiet hours', policy.quietHours ? `${policy.quietHours.start}–${policy.quietHours.end}` : 'none'],
    ['time zone', `${policy.defaultTimezone} (default)`],
    ['over cap', policy.overCap],
  ]);
}

export async function pressureSetCommand(opts: Opts & { policy: string }) {
  const policy = readJsonOption('--policy', opts.policy);
  await withApi(opts, 'pressure set', async (call) => {
    const p = await call('PUT', '/v1/settings/pressure', policy);
    out(opts.json ? JSON.stringify(p) : policyText(p));
  });
}

export async function pressureCheckCommand(profile: string, opts: Opts & { channel?: string }) {
  const ref = parseProfileRef(profile);
  await withApi(opts, 'pressure check', async (call) => {
    const id =
      'id' in ref
        ? ref.id
        : (
            await call<{ id: string }>(
              'GET',
              `/v1/profiles/by/${encodeURIComponent(ref.type)}/${encodeURIComponent(ref.value)}`,
            )
          ).id;
    const r = await call(
      'GET',
      `/v1/profiles/${encodeURIComponent(id)}/pressure?channel=${encodeURIComponent(opts.channel ?? 'email')}`,
    );
    if (opts.json) return json(r);
    const caps = (r.caps as { channel: string; max: number; days: number; used: number }[])
      .map((c) => `${c.used}/${c.max} ${c.channel} per ${c.days} d`)
      .join(', ');
    out(
      fields([
        ['profile', String(r.profileId)],
        ['channel', String(r.channel)],
        ['allowed', r.allowed ? 'yes' : `no: ${r.reason} (until ${r.nextAllowedAt ?? 'never'})`],
        ['time zone', String(r.timezone)],
        ['caps', caps || 'none'],
      ]),
    );
  });
}
