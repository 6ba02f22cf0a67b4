import { createHash, createHmac } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { DeliveryMessage } from '@tessera/protocol';
import { hashIdentifier, sendHttp } from '../http-result.js';
import { type DestinationPlugin, SENT, type SendResult } from '../plugin.js';
import { publicMessage } from '../public-message.js';

/** The signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (the scheme Stripe uses). */
export const SIGNATURE_HEADER = 'tessera-signature';

export const WebhookConfig = Type.Object(
  {
    url: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000, description: 'Where to POST (http or https)' }),
    secret: Type.Optional(
      Type.String({
        minLength: 16,
        maxLength: 200,
        secret: true,
        description: 'Signs each call: the receiver recomputes the HMAC-SHA256 of "<t>.<body>" with it',
      }),
    ),
    batch: Type.Boolean({ default: true, description: 'Several messages per call ({"batch": [...]}) or one per call' }),
    batchSize: Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'Messages per call at most' }),
    headers: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), Type.String({ maxLength: 2000 }), {
        secret: true,
        description: 'Extra request headers (an Authorization header, for instance)',
      }),
    ),
    hashIdentifiers: Type.Boolean({
      default: false,
      description: 'Send e-mail and phone as SHA-256 of their normalised form, as ads APIs ask',
    }),
  },
  { additionalProperties: false },
);

/**
 * The `Idempotency-Key` of a batch: the SHA-256 of its message ids, so that a batch made of other messages never
 * shares it (a retried batch may be composed differently; each message also carries its own id).
 */
export function batchKey(messages: readonly DeliveryMessage[]): string {
  return createHash('sha256')
    .update(messages.map((m) => m.id).join(','))
    .digest('hex');
}

/** The signature of `body` at `t` (seconds) with `secret`. */
export function webhookSignature(secret: string, t: number, body: string): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex')}`;
}

function hashed(m: DeliveryMessage): DeliveryMessage {
  const { email, phone, ...rest } = m.identifiers;
  return {
    ...m,
    identifiers: {
      ...rest,
      ...(email ? { email: hashIdentifier('email', email) } : {}),
      ...(phone ? { phone: hashIdentifier('phone', phone) } : {}),
    },
  };
}

/**
 * A webhook (DESIGN §7): POSTs JSON, batched (`{"batch": [...], "sentAt"}`) or one message per call, signed with
 * HMAC-SHA256 when a secret is set. Each message carries its `id`, the idempotency key: a retried or replayed message
 * has the same one. Ids and times are public (`publicMessage`). A single-message call also sends its id as `Idempotency-Key`; a batch
 * sends the SHA-256 of its message ids (`batchKey`).
 */
export const webhookDestination: DestinationPlugin<typeof WebhookConfig> = {
  type: 'webhook',
  title: 'Webhook',
  description: 'POSTs events, profiles and audience changes as JSON to a URL, signed with HMAC-SHA256',
  configSchema: WebhookConfig,
  maxBatch: 500,
  kinds: ['event', 'profile', 'audience'],
  batchSizeOf: (config) => (config.batch === false ? 20 : (config.batchSize ?? 100)),
  async send(batch, ctx) {
    const { config } = ctx;
    const messages = config.hashIdentifiers ? batch.map(hashed) : batch;
    const post = async (body: string, key: string): Promise<SendResult> => {
      const headers: Record<string, string> = {
        ...config.headers,
        'content-type': 'application/json',
        'user-agent': 'Tessera',
        'idempotency-key': key,
      };
      if (config.secret)
        headers[SIGNATURE_HEADER] = webhookSignature(config.secret, Math.floor(ctx.now() / 1000), body);
      return sendHttp(ctx.fetch, config.url, { method: 'POST', headers, body }, 'webhook');
    };
    if (config.batch === false) {
      const results = await Promise.all(
        messages.map((m) => {
          const out = publicMessage(m);
          return post(JSON.stringify(out), out.id as string);
        }),
      );
      return { kind: 'each', results: new Map(messages.map((m, i) => [m.id, results[i] ?? SENT])) };
    }
    return post(
      JSON.stringify({ batch: messages.map(publicMessage), sentAt: new Date(ctx.now()).toISOString() }),
      batchKey(messages),
    );
  },
};
