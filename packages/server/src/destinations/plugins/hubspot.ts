import { type Static, Type } from '@sinclair/typebox';
import type { DeliveryMessage } from '@tessera/protocol';
import { networkResult, retryAfterMs } from '../http-result.js';
import { type DestinationPlugin, SENT, type SendContext, type SendResult } from '../plugin.js';
import { DEFAULT_AUDIENCE_PREFIX, emailOf, fields, noEmail, outcomeOf, parseJson, redact } from './vendor-kit.js';

const DEFAULT_BASE_URL = 'https://api.hubapi.com';
const DEFAULT_PROPERTIES: Record<string, string> = { firstName: 'firstname', lastName: 'lastname', phone: 'phone' };
/** HubSpot's batch endpoints take 100 inputs at most. */
const MAX_INPUTS = 100;
const UPSERT_PATH = '/crm/v3/objects/contacts/batch/upsert';

/** The config of a HubSpot destination (`docs/destination-vendors.md`). */
export const HubspotConfig = Type.Object(
  {
    accessToken: fields.secret('the access token of a private app with the `crm.objects.contacts.write` scope'),
    baseUrl: fields.baseUrl('the API root', DEFAULT_BASE_URL),
    properties: fields.traitMap(
      'Tessera trait → contact property internal name (`firstname`); `phone` falls back to the identifier',
      DEFAULT_PROPERTIES,
    ),
    audienceProperties: fields.audienceMap(
      Type.String({ minLength: 1, pattern: '^[a-z][a-z0-9_]*$' }),
      'audience key → a single-checkbox contact property set to true / false; unnamed audiences use `audiencePropertyPrefix` + the key',
    ),
    audiencePropertyPrefix: Type.Optional(
      Type.String({
        pattern: '^[a-z][a-z0-9_]*$',
        default: DEFAULT_AUDIENCE_PREFIX,
        description:
          'the property of an audience not in `audienceProperties`: prefix + key, lower-cased, `_` for others',
      }),
    ),
  },
  { additionalProperties: false },
);
export type HubspotConfig = Static<typeof HubspotConfig>;

type Ctx = SendContext<HubspotConfig>;

const NO_EMAIL = noEmail('hubspot', 'contacts are upserted by');

/** One upsert input: the messages of one e-mail address, merged in time order. */
interface Input {
  email: string;
  traceId: string;
  properties: Record<string, string>;
  messages: DeliveryMessage[];
}

/** HubSpot's error document; every field is optional (HubSpot says so). */
interface HubspotError {
  status?: string;
  message?: string;
  category?: string;
  correlationId?: string;
  policyName?: string;
  context?: Record<string, unknown>;
}

/**
 * HubSpot CRM: profiles and audience memberships upsert contacts by e-mail (`POST
 * /crm/v3/objects/contacts/batch/upsert`, 100 inputs a call). An audience is a single-checkbox contact property
 * (`tessera_audience_<key>` unless configured) set to `true` on entry and `false` on exit: one property per audience,
 * because a multi-checkbox needs every option declared in advance and cannot lose one value without reading the
 * others. The properties must exist in HubSpot; a missing one is HubSpot's validation error, dropped.
 *
 * Each input carries an `objectWriteTraceId`; the per-input errors of a 207 answer (and of a 400 refusing the batch)
 * are matched back by it, by the e-mail in their context or message. When a 400 names some inputs, those are dropped
 * and the others, which HubSpot did not write, are retried.
 */
export const hubspotDestination: DestinationPlugin<typeof HubspotConfig> = {
  type: 'hubspot',
  title: 'HubSpot',
  description: 'Upserts HubSpot contacts with mapped properties and one checkbox property per audience.',
  configSchema: HubspotConfig,
  maxBatch: MAX_INPUTS,
  // A CRM sync is its own purpose, neither marketing e-mail nor ads: sales follow-up may rest on a contract or a
  // legitimate interest. A destination that should follow marketing consent names `marketing` in its config.
  defaultPurpose: 'crm',
  kinds: ['profile', 'audience'],
  async send(batch, ctx) {
    const results = new Map<string, SendResult>();
    const inputs = new Map<string, Input>();
    // Oldest first, so a newer value of the same property wins.
    const ordered = batch.map((m, i) => ({ m, i })).sort((a, b) => a.m.at - b.m.at || a.i - b.i);
    for (const { m: message } of ordered) {
      const email = emailOf(message);
      if (!email) {
        results.set(message.id, NO_EMAIL);
        continue;
      }
      const properties = propertiesOf(ctx.config, message);
      if (!properties) {
        results.set(message.id, { kind: 'drop', reason: `hubspot: ${message.kind} messages are not delivered` });
        continue;
      }
      const key = email.toLowerCase();
      const input = inputs.get(key) ?? { email, traceId: message.id, properties: {}, messages: [] };
      Object.assign(input.properties, properties);
      input.messages.push(message);
      inputs.set(key, input);
    }
    const all = [...inputs.values()];
    let stopped: SendResult | undefined;
    for (let i = 0; i < all.length; i += MAX_INPUTS) {
      const chunk = all.slice(i, i + MAX_INPUTS);
      const outcomes = stopped ? chunk.map(() => stopped!) : await upsert(ctx, chunk);
      chunk.forEach((input, j) => {
        for (const message of input.messages) results.set(message.id, outcomes[j]);
        if (outcomes[j].kind === 'retry') stopped ??= outcomes[j];
      });
    }
    return outcomeOf(batch, results);
  },
};

/** The properties a message sets, as HubSpot's strings; `undefined` for a kind this plugin does not deliver. */
function propertiesOf(config: HubspotConfig, message: DeliveryMessage): Record<string, string> | undefined {
  if (message.kind === 'audience' && message.audience) {
    const key = message.audience.key;
    const name =
      config.audienceProperties?.[key] ??
      `${config.audiencePropertyPrefix ?? DEFAULT_AUDIENCE_PREFIX}${key.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
    return { [name]: String(message.audience.entered) };
  }
  if (message.kind !== 'profile') return undefined;
  const properties: Record<string, string> = {};
  for (const [trait, property] of Object.entries(config.properties ?? DEFAULT_PROPERTIES)) {
    const own = message.traits[trait];
    const value = own === undefined && trait === 'phone' ? message.identifiers.phone : own;
    if (value !== undefined) properties[property] = propertyValue(value);
  }
  return properties;
}

/** HubSpot property values are strings: `""` clears, a list is a multi-checkbox value (`a;b`). */
function propertyValue(value: unknown): string {
  if (value === null) return '';
  if (Array.isArray(value)) return value.map(String).join(';');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

async function upsert(ctx: Ctx, chunk: Input[]): Promise<SendResult[]> {
  const what = `hubspot POST ${UPSERT_PATH}`;
  const body = {
    inputs: chunk.map((input) => ({
      idProperty: 'email',
      id: input.email,
      objectWriteTraceId: input.traceId,
      properties: input.properties,
    })),
  };
  let response: Response;
  try {
    response = await ctx.fetch(`${(ctx.config.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}${UPSERT_PATH}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ctx.config.accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify(body),
    });
  } catch (e) {
    const failed = networkResult(e, what);
    return chunk.map(() => failed);
  }
  const text = await response.text().catch(() => '');
  const json = parseJson(text);
  const status = response.status;

  if (status === 207) {
    // Partly written: each error names its inputs; an input with no error, or listed in `results`, was written.
    const answer = json as { results?: { objectWriteTraceId?: string }[]; errors?: HubspotError[] } | undefined;
    const written = new Set((answer?.results ?? []).map((r) => r.objectWriteTraceId).filter(Boolean));
    const outcomes: SendResult[] = chunk.map(() => SENT);
    const unmatched: HubspotError[] = [];
    for (const error of answer?.errors ?? []) {
      const named = inputsNamedBy(error, chunk);
      if (named.length === 0) unmatched.push(error);
      for (const i of named) outcomes[i] = { kind: 'drop', reason: `${what}: HTTP 207 ${describe(error)}` };
    }
    // An error HubSpot did not tie to an input goes to the inputs it did not confirm.
    if (unmatched.length > 0)
      chunk.forEach((input, i) => {
        if (outcomes[i].kind === 'ok' && !written.has(input.traceId))
          outcomes[i] = { kind: 'drop', reason: `${what}: HTTP 207 ${unmatched.map(describe).join('; ')}` };
      });
    return outcomes;
  }
  if (response.ok) return chunk.map(() => SENT);

  const error = (json ?? {}) as HubspotError;
  const reason = `${what}: HTTP ${status} ${error.message ? describe(error) : redact(text.slice(0, 300))}`.trimEnd();
  if (status === 408 || status === 429 || status >= 500) {
    // HubSpot's rolling window is ten seconds; its 429 does not always say how long to wait.
    const tenSecondly = /SECONDLY/i.test(error.policyName ?? '') || /secondly/i.test(error.message ?? '');
    const wait = retryAfterMs(response.headers.get('retry-after'), ctx.now()) ?? (tenSecondly ? 10_000 : undefined);
    const retry: SendResult = { kind: 'retry', reason, status, retryAfterMs: wait };
    return chunk.map(() => retry);
  }
  // A refused batch wrote nothing: the inputs the error names are dropped, the others go again without them.
  const named = new Set(status === 400 && chunk.length > 1 ? inputsNamedBy(error, chunk) : []);
  const drop: SendResult = { kind: 'drop', reason, status };
  if (named.size === 0) return chunk.map(() => drop);
  const retry: SendResult = {
    kind: 'retry',
    reason: `${what}: not written, HubSpot refused another contact of the batch`,
  };
  return chunk.map((_, i) => (named.has(i) ? drop : retry));
}

/** The inputs an error names: by `objectWriteTraceId` or e-mail in its context, else by e-mail in its message. */
function inputsNamedBy(error: HubspotError, chunk: Input[]): number[] {
  const values = Object.values(error.context ?? {})
    .flatMap((v) => (Array.isArray(v) ? v : [v]))
    .map((v) => String(v).toLowerCase());
  const message = (error.message ?? '').toLowerCase();
  const named: number[] = [];
  chunk.forEach((input, i) => {
    const email = input.email.toLowerCase();
    if (values.includes(input.traceId.toLowerCase()) || values.includes(email) || message.includes(email))
      named.push(i);
  });
  return named;
}

function describe(error: HubspotError): string {
  const category = error.category ? `${error.category}: ` : '';
  const correlation = error.correlationId ? ` (correlationId ${error.correlationId})` : '';
  return redact(`${category}${error.message ?? 'error'}${correlation}`);
}
