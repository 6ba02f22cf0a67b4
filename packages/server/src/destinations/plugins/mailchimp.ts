import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import type { DeliveryMessage } from '@tessera/protocol';
import { networkResult, retryAfterMs } from '../http-result.js';
import { type DestinationPlugin, SENT, type SendContext, type SendResult } from '../plugin.js';
import {
  createGate,
  emailOf,
  fields,
  inTurn,
  keepNewest,
  noEmail,
  outcomeOf,
  parseJson,
  redact,
} from './vendor-kit.js';

const DEFAULT_MERGE_FIELDS: Record<string, string> = { firstName: 'FNAME', lastName: 'LNAME', phone: 'PHONE' };
/** Calls in flight at once: Mailchimp refuses an API key's 11th simultaneous connection with 429. */
const CONCURRENCY = 5;

/** The config of a Mailchimp destination (`docs/destination-vendors.md`). */
export const MailchimpConfig = Type.Object(
  {
    apiKey: fields.secret('a Marketing API key; its suffix after `-` is the data center (`…-us6`)', '-[a-z]+[0-9]+$'),
    baseUrl: fields.baseUrl('the API root, without `/3.0`; `https://<dc>.api.mailchimp.com` from the key when absent'),
    listId: Type.String({ minLength: 1, description: 'the audience (list) id, from Audience settings' }),
    statusIfNew: Type.Optional(
      Type.Union([Type.Literal('subscribed'), Type.Literal('pending'), Type.Literal('transactional')], {
        default: 'subscribed',
        description: 'the status of a member Tessera creates (`pending` sends a double opt-in e-mail)',
      }),
    ),
    mergeFields: fields.traitMap(
      'Tessera trait → merge tag (`FNAME`); `phone` falls back to the identifier',
      DEFAULT_MERGE_FIELDS,
    ),
    tags: fields.audienceMap(
      Type.String({ minLength: 1, maxLength: 100 }),
      'audience key → tag name; an audience not named here is tagged with its key',
    ),
  },
  { additionalProperties: false },
);
export type MailchimpConfig = Static<typeof MailchimpConfig>;

type Ctx = SendContext<MailchimpConfig>;

const NO_EMAIL = noEmail('mailchimp', 'Mailchimp members are keyed by');

/**
 * Mailchimp: a profile is a list member, added or updated with `PUT /3.0/lists/{list}/members/{hash}`
 * (`status_if_new`, so an unsubscribed member stays unsubscribed); an audience is a member tag set active or inactive
 * (`POST …/members/{hash}/tags`). A person entering an audience who is not a member yet is added first. The hash is
 * the MD5 of the lower-cased e-mail: a message without an e-mail is dropped.
 */
export const mailchimpDestination: DestinationPlugin<typeof MailchimpConfig> = {
  type: 'mailchimp',
  title: 'Mailchimp',
  description: 'Keeps the members of a Mailchimp audience, their merge fields and tags in sync.',
  configSchema: MailchimpConfig,
  maxBatch: 50,
  defaultPurpose: 'marketing',
  channel: 'email',
  kinds: ['profile', 'audience'],
  async send(batch, ctx) {
    const results = new Map<string, SendResult>();
    const base = baseUrlOf(ctx.config);
    if (!base) {
      const refused: SendResult = { kind: 'drop', reason: 'mailchimp: the API key has no data-center suffix (`-us6`)' };
      return refused;
    }
    // Only the newest state of a member or of one of its tags is sent; the older messages it replaces are done.
    const latest = new Map<string, { message: DeliveryMessage; email: string }>();
    for (const message of batch) {
      const email = emailOf(message);
      if (!email) {
        results.set(message.id, NO_EMAIL);
        continue;
      }
      if (message.kind === 'event' || (message.kind === 'audience' && !message.audience)) {
        results.set(message.id, { kind: 'drop', reason: `mailchimp: ${message.kind} messages are not delivered` });
        continue;
      }
      const slot = `${message.kind === 'audience' ? `tag ${message.audience!.key}` : 'member'} ${email.toLowerCase()}`;
      keepNewest(latest, slot, { message, email }, results);
    }
    const work = [...latest.values()];
    const gate = createGate();
    const outcomes = await inTurn(work, CONCURRENCY, gate, ({ message, email }) =>
      message.kind === 'profile' ? putMember(ctx, base, message, email) : tag(ctx, base, message, email),
    );
    work.forEach(({ message }, i) => {
      results.set(message.id, outcomes[i]);
    });
    return outcomeOf(batch, results);
  },
};

function baseUrlOf(config: MailchimpConfig): string | undefined {
  if (config.baseUrl) return config.baseUrl.replace(/\/+$/, '');
  const dc = /-([a-z]+[0-9]+)$/.exec(config.apiKey)?.[1];
  return dc ? `https://${dc}.api.mailchimp.com` : undefined;
}

/** Mailchimp's subscriber hash: MD5 hex of the lower-cased e-mail. */
export function subscriberHash(email: string): string {
  return createHash('md5').update(email.trim().toLowerCase(), 'utf8').digest('hex');
}

function memberPath(ctx: Ctx, email: string): string {
  return `/3.0/lists/${encodeURIComponent(ctx.config.listId)}/members/${subscriberHash(email)}`;
}

/** Adds or updates the member; `merge_fields` only when a mapped trait is known, so Mailchimp keeps the others. */
async function putMember(ctx: Ctx, base: string, message: DeliveryMessage | undefined, email: string) {
  const mergeFields: Record<string, unknown> = {};
  if (message)
    for (const [trait, tag] of Object.entries(ctx.config.mergeFields ?? DEFAULT_MERGE_FIELDS)) {
      const own = message.traits[trait];
      const value = own === undefined && trait === 'phone' ? message.identifiers.phone : own;
      // A removed trait (`null`) clears the merge field.
      if (value !== undefined) mergeFields[tag] = value ?? '';
    }
  const body = {
    email_address: email,
    status_if_new: ctx.config.statusIfNew ?? 'subscribed',
    ...(Object.keys(mergeFields).length > 0 ? { merge_fields: mergeFields } : {}),
  };
  return (await call(ctx, base, 'PUT', memberPath(ctx, email), body)).result;
}

/**
 * Sets one tag active (entered) or inactive (exited). Mailchimp answers 404 for a person who is not a member: on
 * entry the member is added (with `status_if_new`) and tagged; on exit there is nothing to remove.
 */
async function tag(ctx: Ctx, base: string, message: DeliveryMessage, email: string): Promise<SendResult> {
  const audience = message.audience!;
  const name = ctx.config.tags?.[audience.key] ?? audience.key;
  const body = { tags: [{ name, status: audience.entered ? 'active' : 'inactive' }] };
  const path = `${memberPath(ctx, email)}/tags`;
  const first = await call(ctx, base, 'POST', path, body);
  if (first.result.kind !== 'drop' || first.result.status !== 404) return first.result;
  if (!audience.entered) return SENT;
  const added = await putMember(ctx, base, undefined, email);
  if (added.kind !== 'ok') return added;
  return (await call(ctx, base, 'POST', path, body)).result;
}

/** Mailchimp's errors are `application/problem+json`: `{ type, title, status, detail, instance, errors? }`. */
interface Problem {
  title?: string;
  detail?: string;
  errors?: { field?: string; message?: string }[];
}

/** One call to Mailchimp: 2xx ok; 408, 429 and 5xx retry; other 4xx drop, with `title: detail` as the reason. */
async function call(ctx: Ctx, base: string, method: string, path: string, body: unknown) {
  const what = `mailchimp ${method} ${path.replace(/\/lists\/[^/]+\/members\/[0-9a-f]{32}/, '/lists/{list}/members/{hash}')}`;
  let response: Response;
  try {
    response = await ctx.fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`tessera:${ctx.config.apiKey}`).toString('base64')}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify(body),
    });
  } catch (e) {
    return { result: networkResult(e, what) };
  }
  const text = await response.text().catch(() => '');
  if (response.ok) return { result: SENT };
  const problem = parseJson(text) as Problem | undefined;
  const status = response.status;
  let detail = text.slice(0, 300);
  if (problem?.title) {
    const fields = (problem.errors ?? []).slice(0, 3).map((e) => `${e.field ?? '?'}: ${e.message ?? ''}`);
    detail = [`${problem.title}: ${problem.detail ?? ''}`, ...fields].join('; ');
  }
  const reason = `${what}: HTTP ${status}${detail ? ` ${redact(detail)}` : ''}`;
  // Under heavy load Mailchimp's edge throttles with a bare 403, without the problem document a real refusal has.
  const throttled = status === 403 && !problem?.title;
  if (status === 408 || status === 429 || status >= 500 || throttled) {
    const result: SendResult = {
      kind: 'retry',
      reason,
      status,
      retryAfterMs: retryAfterMs(response.headers.get('retry-after'), ctx.now()),
    };
    return { result };
  }
  const result: SendResult = { kind: 'drop', reason, status };
  return { result };
}
