import { type Static, Type } from '@sinclair/typebox';
import type { DeliveryMessage } from '@tessera/protocol';
import { groupBy } from '../../group-by.js';
import { networkResult, retryAfterMs } from '../http-result.js';
import { type DestinationPlugin, SENT, type SendContext, type SendResult } from '../plugin.js';
import {
  createGate,
  emailOf,
  fields,
  type Gate,
  inTurn,
  keepNewest,
  noEmail,
  outcomeOf,
  parseJson,
  redact,
} from './vendor-kit.js';

const DEFAULT_BASE_URL = 'https://api.brevo.com';
const DEFAULT_ATTRIBUTES: Record<string, string> = { firstName: 'FIRSTNAME', lastName: 'LASTNAME', phone: 'SMS' };
/** Brevo takes at most 150 e-mails in one list call. */
const LIST_CHUNK = 150;
/** Calls in flight at once: Brevo's contacts and events endpoints allow 10 per second on the general tier. */
const CONCURRENCY = 4;

/** The config of a Brevo destination (`docs/destination-vendors.md`). */
export const BrevoConfig = Type.Object(
  {
    apiKey: fields.secret('a Brevo API v3 key (`xkeysib-…`), sent as the `api-key` header'),
    baseUrl: fields.baseUrl('the API root, without `/v3`', DEFAULT_BASE_URL),
    attributes: fields.traitMap(
      'Tessera trait → Brevo contact attribute (`FIRSTNAME`); `email` and `phone` fall back to the identifiers',
      DEFAULT_ATTRIBUTES,
    ),
    lists: fields.audienceMap(
      Type.Integer({ minimum: 1 }),
      'audience key → Brevo list id; an audience without a list is dropped',
    ),
  },
  { additionalProperties: false },
);
export type BrevoConfig = Static<typeof BrevoConfig>;

type Ctx = SendContext<BrevoConfig>;

const NO_EMAIL = noEmail('brevo', 'Brevo contacts are keyed by');

/**
 * Brevo (ex-Sendinblue): profiles become contacts (`POST /v3/contacts` with `updateEnabled`, one call per person,
 * so each gets its own outcome), events go to `POST /v3/events`, and audiences are list memberships
 * (`POST /v3/contacts/lists/{id}/contacts/add` and `/remove`, 150 e-mails a call). A person entering an audience who
 * is not a Brevo contact yet is created in the list. Everything is keyed by e-mail: a message without one is dropped.
 */
export const brevoDestination: DestinationPlugin<typeof BrevoConfig> = {
  type: 'brevo',
  title: 'Brevo',
  description: 'Keeps Brevo contacts, their attributes and list memberships in sync, and sends events.',
  configSchema: BrevoConfig,
  maxBatch: 50,
  defaultPurpose: 'marketing',
  channel: 'email',
  kinds: ['profile', 'audience', 'event'],
  async send(batch, ctx) {
    const results = new Map<string, SendResult>();
    const lists = ctx.config.lists ?? {};
    const latest = new Map<string, { message: DeliveryMessage; email: string }>();
    const events: { message: DeliveryMessage; email: string }[] = [];
    for (const message of batch) {
      const email = emailOf(message);
      if (!email) {
        results.set(message.id, NO_EMAIL);
        continue;
      }
      if (message.kind === 'event') {
        events.push({ message, email });
        continue;
      }
      let slot = `profile ${email}`;
      if (message.kind === 'audience') {
        const listId = message.audience ? lists[message.audience.key] : undefined;
        if (listId === undefined) {
          results.set(message.id, {
            kind: 'drop',
            reason: `brevo: no Brevo list is configured for audience ${message.audience?.key ?? '(none)'}`,
          });
          continue;
        }
        slot = `list ${listId} ${email}`;
      }
      // Only the newest state of a contact or a membership is sent; the older messages it replaces are done.
      keepNewest(latest, slot, { message, email }, results);
    }

    const gate = createGate();
    const profiles = [...latest.values()].filter((p) => p.message.kind === 'profile');
    const singles = await inTurn([...profiles, ...events], CONCURRENCY, gate, ({ message, email }) =>
      message.kind === 'event' ? postEvent(ctx, message, email) : upsertContact(ctx, email, attributesOf(ctx, message)),
    );
    [...profiles, ...events].forEach(({ message }, i) => {
      results.set(message.id, singles[i]);
    });

    const memberships = [...latest.values()].filter((p) => p.message.kind === 'audience');
    for (const [group, members] of groupBy(memberships, ({ message }) => listCall(lists, message)))
      for (let i = 0; i < members.length; i += LIST_CHUNK) {
        const chunk = members.slice(i, i + LIST_CHUNK);
        const outcomes = await changeList(ctx, gate, group, chunk);
        chunk.forEach(({ message }, j) => {
          results.set(message.id, outcomes[j]);
        });
      }
    return outcomeOf(batch, results);
  },
};

/** The mapped attributes of a profile; a trait it lacks (or null) is not sent, so Brevo keeps its value. */
function attributesOf(ctx: Ctx, message: DeliveryMessage): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const [trait, attribute] of Object.entries(ctx.config.attributes ?? DEFAULT_ATTRIBUTES)) {
    const value =
      message.traits[trait] ?? (trait === 'email' || trait === 'phone' ? message.identifiers[trait] : undefined);
    if (value !== undefined) attributes[attribute] = value;
  }
  return attributes;
}

function listCall(lists: Record<string, number>, message: DeliveryMessage): string {
  return `${lists[message.audience!.key]} ${message.audience!.entered ? 'add' : 'remove'}`;
}

function upsertContact(ctx: Ctx, email: string, attributes: Record<string, unknown>, listIds?: number[]) {
  const body = {
    email,
    ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
    ...(listIds ? { listIds } : {}),
    updateEnabled: true,
  };
  return call(ctx, 'POST', '/v3/contacts', body).then((a) => a.result);
}

function postEvent(ctx: Ctx, message: DeliveryMessage, email: string) {
  const event = message.event;
  if (!event) return Promise.resolve<SendResult>({ kind: 'drop', reason: 'brevo: an event message without its event' });
  const body = {
    // Brevo allows letters, digits, `-` and `_` in event names, 255 at most.
    event_name: (event.name ?? event.type).replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 255),
    event_date: new Date(event.timestamp).toISOString(),
    identifiers: { email_id: email },
    ...(event.properties ? { event_properties: event.properties } : {}),
  };
  return call(ctx, 'POST', '/v3/events', body).then((a) => a.result);
}

/**
 * One list call for up to 150 members. Brevo answers which e-mails it could not add or remove; a contact that does
 * not exist yet is created in the list, and one that could not be removed was not in it. When none could be changed,
 * Brevo answers 400 "Contact already in list and/or does not exist" (or "already removed"), read the same way.
 */
async function changeList(
  ctx: Ctx,
  gate: Gate,
  group: string,
  members: { message: DeliveryMessage; email: string }[],
): Promise<SendResult[]> {
  if (gate.stopped) return members.map(() => gate.stopped!);
  const [listId, change] = group.split(' ');
  const path = `/v3/contacts/lists/${listId}/contacts/${change}`;
  const answer = await call(ctx, 'POST', path, { emails: members.map((m) => m.email) });
  gate.note(answer.result);
  let failed: Set<string>;
  if (answer.result.kind === 'ok') {
    const failure = (answer.body as { contacts?: { failure?: unknown[] } } | undefined)?.contacts?.failure ?? [];
    failed = new Set(failure.map((e) => String(e).toLowerCase()));
  } else if (answer.result.status === 400 && /already|does not exist/i.test(answer.vendorMessage ?? '')) {
    failed = new Set(members.map((m) => m.email.toLowerCase()));
  } else {
    return members.map(() => answer.result);
  }
  if (change === 'remove') return members.map(() => SENT);
  const missing = members.filter((m) => failed.has(m.email.toLowerCase()));
  const created = await inTurn(missing, CONCURRENCY, gate, (m) => upsertContact(ctx, m.email, {}, [Number(listId)]));
  return members.map((m) => {
    const i = missing.indexOf(m);
    return i < 0 ? SENT : created[i];
  });
}

interface Answer {
  result: SendResult;
  body?: unknown;
  /** Brevo's own error message, when it sent one. */
  vendorMessage?: string;
}

/** One call to Brevo: 2xx ok; 408, 429 (after `x-sib-ratelimit-reset`) and 5xx retry; other 4xx drop. */
async function call(ctx: Ctx, method: string, path: string, body: unknown): Promise<Answer> {
  const url = `${(ctx.config.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}${path}`;
  const what = `brevo ${method} ${path.replace(/\/\d+\//, '/{id}/')}`;
  let response: Response;
  try {
    response = await ctx.fetch(url, {
      method,
      headers: { 'api-key': ctx.config.apiKey, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (e) {
    return { result: networkResult(e, what) };
  }
  const text = await response.text().catch(() => '');
  const json = parseJson(text);
  if (response.ok) return { result: SENT, body: json };
  // Brevo's errors are `{ code, message }`.
  const error = json as { code?: unknown; message?: unknown } | undefined;
  const vendorMessage = typeof error?.message === 'string' ? error.message : undefined;
  const detail = vendorMessage
    ? `${typeof error?.code === 'string' ? `${error.code}: ` : ''}${vendorMessage}`
    : text.slice(0, 300);
  const status = response.status;
  const reason = `${what}: HTTP ${status}${detail ? ` ${redact(detail)}` : ''}`;
  if (status === 408 || status === 429 || status >= 500) {
    // Brevo sends no Retry-After; `x-sib-ratelimit-reset` is the seconds until the window resets.
    const wait = response.headers.get('retry-after') ?? response.headers.get('x-sib-ratelimit-reset');
    return { result: { kind: 'retry', reason, status, retryAfterMs: retryAfterMs(wait, ctx.now()) }, vendorMessage };
  }
  return { result: { kind: 'drop', reason, status }, vendorMessage };
}
