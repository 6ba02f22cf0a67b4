import { type Static, Type } from '@sinclair/typebox';
import type { DeliveryMessage } from '@tessera/protocol';
import { networkResult, retryAfterMs } from '../http-result.js';
import { type DestinationPlugin, SENT, type SendContext, type SendResult } from '../plugin.js';
import { DEFAULT_AUDIENCE_PREFIX, fields, outcomeOf, parseJson, redact } from './vendor-kit.js';

const REGION_URLS = { us: 'https://track.customer.io', eu: 'https://track-eu.customer.io' } as const;
const BATCH_PATH = '/api/v2/batch';
/** Customer.io refuses a batch of 500 KB or more, and an operation in it over 32 KB; a margin is kept. */
const MAX_REQUEST_BYTES = 480_000;
const MAX_OPERATION_BYTES = 32_000;

/** The config of a Customer.io destination (`docs/destination-vendors.md`). */
export const CustomerioConfig = Type.Object(
  {
    siteId: Type.String({ minLength: 1, description: 'the Track API site id (Workspace settings → API credentials)' }),
    apiKey: fields.secret('the Track API key paired with the site id'),
    region: Type.Optional(
      Type.Union([Type.Literal('us'), Type.Literal('eu')], {
        default: 'us',
        description: 'the data center of the account: `track.customer.io` or `track-eu.customer.io`',
      }),
    ),
    baseUrl: fields.baseUrl('the API root; overrides `region`'),
    identifyBy: Type.Optional(
      Type.Union([Type.Literal('userId'), Type.Literal('email')], {
        default: 'userId',
        description:
          '`userId`: the person is `id` = userId, else `email` = e-mail; `email`: always the e-mail (it must be enabled as an identifier in the workspace)',
      }),
    ),
    attributes: fields.traitMap('Tessera trait → person attribute; when absent every trait is sent under its own name'),
    audienceAttributePrefix: Type.Optional(
      Type.String({
        minLength: 1,
        default: DEFAULT_AUDIENCE_PREFIX,
        description: 'audience membership is the boolean person attribute prefix + audience key',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CustomerioConfig = Static<typeof CustomerioConfig>;

type Ctx = SendContext<CustomerioConfig>;

type Operation = Record<string, unknown>;

/**
 * Customer.io Journeys through the Track API v2 (`POST /api/v2/batch`): one call carries the identifies, events and
 * audience changes of many people, and its 207 answer names each refused operation by `batch_index`, so one bad
 * message does not hold back the others; v1 would be one call per person and per event. Profiles are `identify`
 * operations; events are `event`, `page` or `screen` operations with an `id` derived from the message id (a ULID,
 * which Customer.io deduplicates on), so a retried event is not counted twice. Audiences are the boolean person
 * attribute `tessera_audience_<key>`: a data-driven segment on it follows membership, where the v1 manual-segment
 * endpoints would need the segment created by hand and a call per segment and direction.
 */
export const customerioDestination: DestinationPlugin<typeof CustomerioConfig> = {
  type: 'customerio',
  title: 'Customer.io',
  description: 'Identifies people, tracks their events and keeps audience attributes in Customer.io.',
  configSchema: CustomerioConfig,
  maxBatch: 100,
  defaultPurpose: 'marketing',
  channel: 'email',
  kinds: ['event', 'profile', 'audience'],
  async send(batch, ctx) {
    const results = new Map<string, SendResult>();
    const pending: { message: DeliveryMessage; operation: Operation; bytes: number }[] = [];
    for (const message of batch) {
      const built = operationOf(ctx.config, message);
      if ('drop' in built) {
        results.set(message.id, { kind: 'drop', reason: `customerio: ${built.drop}` });
        continue;
      }
      const bytes = Buffer.byteLength(JSON.stringify(built.operation));
      if (bytes > MAX_OPERATION_BYTES)
        results.set(message.id, { kind: 'drop', reason: `customerio: the operation is ${bytes} bytes, over 32 KB` });
      else pending.push({ message, operation: built.operation, bytes });
    }
    let stopped: SendResult | undefined;
    for (const chunk of chunksOf(pending)) {
      const outcomes = stopped
        ? chunk.map(() => stopped!)
        : await post(
            ctx,
            chunk.map((p) => p.operation),
          );
      chunk.forEach(({ message }, i) => {
        results.set(message.id, outcomes[i]);
      });
      stopped ??= outcomes.find((o) => o.kind === 'retry');
    }
    return outcomeOf(batch, results);
  },
};

/** The v2 operation of a message, or why it cannot be sent. */
function operationOf(config: CustomerioConfig, message: DeliveryMessage): { operation: Operation } | { drop: string } {
  const { userId, email } = message.identifiers;
  const byEmail = config.identifyBy === 'email';
  const identifiers = !byEmail && userId ? { id: userId } : email ? { email } : undefined;
  if (!identifiers)
    return {
      drop: byEmail ? 'the profile has no e-mail address' : 'the profile has neither a user id nor an e-mail address',
    };
  const person = { type: 'person', identifiers };
  const seconds = (ms: number) => Math.floor(ms / 1000);

  if (message.kind === 'profile') {
    const attributes = attributesOf(config, message.traits);
    // With `id` as identifier the e-mail is an attribute: it is where Customer.io sends e-mail.
    if ('id' in identifiers && email) attributes.email = email;
    return { operation: { ...person, action: 'identify', timestamp: seconds(message.at), attributes } };
  }
  if (message.kind === 'audience') {
    if (!message.audience) return { drop: 'an audience message without its audience' };
    const name = `${config.audienceAttributePrefix ?? DEFAULT_AUDIENCE_PREFIX}${message.audience.key}`;
    return {
      operation: {
        ...person,
        action: 'identify',
        timestamp: seconds(message.at),
        attributes: { [name]: message.audience.entered },
      },
    };
  }
  const event = message.event;
  if (!event) return { drop: 'an event message without its event' };
  const timestamp = seconds(event.timestamp);
  const properties = event.properties ?? {};
  const id = ulidOf(message.id);
  switch (event.type) {
    case 'identify':
      return {
        operation: { ...person, action: 'identify', timestamp, attributes: attributesOf(config, event.traits ?? {}) },
      };
    case 'track':
    case 'page':
    case 'screen': {
      const fallback = event.type === 'page' ? (properties.path ?? properties.url) : undefined;
      const name = event.name ?? (typeof fallback === 'string' ? fallback : event.type);
      const action = event.type === 'track' ? 'event' : event.type;
      return { operation: { ...person, action, ...(id ? { id } : {}), name, timestamp, attributes: properties } };
    }
    default:
      return { drop: `${event.type} events have no Customer.io person operation` };
  }
}

/** The mapped traits, or every trait when no mapping is configured. */
function attributesOf(config: CustomerioConfig, traits: Record<string, unknown>): Record<string, unknown> {
  if (!config.attributes) return { ...traits };
  const attributes: Record<string, unknown> = {};
  for (const [trait, attribute] of Object.entries(config.attributes))
    if (traits[trait] !== undefined) attributes[attribute] = traits[trait];
  return attributes;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A message id (a UUIDv7) as a ULID: the same 128 bits in Crockford base32. Both start with the millisecond time, so
 * the ULID is valid and stable: every retry of a message carries the same event id. `undefined` for another shape.
 */
export function ulidOf(uuid: string): string | undefined {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined;
  let n = BigInt(`0x${hex}`);
  let out = '';
  for (let i = 0; i < 26; i++) {
    out = CROCKFORD[Number(n & 31n)] + out;
    n >>= 5n;
  }
  return out;
}

/** Splits the operations so each request stays under Customer.io's 500 KB. */
function chunksOf<T extends { bytes: number }>(items: T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    if (current.length > 0 && size + item.bytes + 1 > MAX_REQUEST_BYTES) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.bytes + 1;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Customer.io's errors: `{ errors: [{ batch_index?, reason, field, message }] }`. */
interface TrackError {
  batch_index?: number;
  reason?: string;
  field?: string;
  message?: string;
}

async function post(ctx: Ctx, operations: Operation[]): Promise<SendResult[]> {
  const what = `customerio POST ${BATCH_PATH}`;
  const base = (ctx.config.baseUrl ?? REGION_URLS[ctx.config.region ?? 'us']).replace(/\/+$/, '');
  let response: Response;
  try {
    response = await ctx.fetch(`${base}${BATCH_PATH}`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${ctx.config.siteId}:${ctx.config.apiKey}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ batch: operations }),
    });
  } catch (e) {
    const failed = networkResult(e, what);
    return operations.map(() => failed);
  }
  const text = await response.text().catch(() => '');
  const errors = ((parseJson(text) as { errors?: TrackError[] } | undefined)?.errors ?? []).filter(
    (e) => e && typeof e === 'object',
  );
  const status = response.status;
  if (status === 207) {
    // Accepted except the operations named by `batch_index`.
    const outcomes: SendResult[] = operations.map(() => SENT);
    for (const error of errors)
      if (Number.isInteger(error.batch_index) && outcomes[error.batch_index!])
        outcomes[error.batch_index!] = { kind: 'drop', reason: `${what}: HTTP 207 ${describe(error)}` };
    return outcomes;
  }
  if (response.ok) return operations.map(() => SENT);
  const detail = errors.length > 0 ? errors.slice(0, 3).map(describe).join('; ') : redact(text.slice(0, 300));
  const reason = `${what}: HTTP ${status}${detail ? ` ${detail}` : ''}`;
  const result: SendResult =
    status === 408 || status === 429 || status >= 500
      ? { kind: 'retry', reason, status, retryAfterMs: retryAfterMs(response.headers.get('retry-after'), ctx.now()) }
      : { kind: 'drop', reason, status };
  return operations.map(() => result);
}

function describe(error: TrackError): string {
  const where = error.field ? `${error.field}: ` : '';
  return redact(`${error.reason ?? 'error'} (${where}${error.message ?? ''})`);
}
